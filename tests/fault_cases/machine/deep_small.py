"""A small deep tanh net (seed 002's shape, fewer layers and steps): its weight gradients
sum 2500 products, the order a CPU's kernels and cache sizes decide, so another machine
(or a numerics knob) moves its last bits, and the deep net grows them."""

import numpy as np

from harness.inenv import observe

SEEDS = {"numpy": 2018, "framework": 2018}
VARIANTS = {"tanh": {}}
STEPS = 40


def run(k, workdir):
    x = np.linspace(-7, 10, 2500)[:, np.newaxis]
    np.random.shuffle(x)
    y = (np.square(x) - 5 + np.random.normal(0, 8, x.shape)).astype("float32")
    x = x.astype("float32")
    layers = [k.layers.Dense(30, activation="tanh", input_shape=(1,), kernel_initializer=k.normal(0.0, 1.0),
                             bias_initializer=k.constant(0.1))]
    for _ in range(3):
        layers.append(k.layers.Dense(30, activation="tanh", kernel_initializer=k.normal(0.0, 1.0),
                                     bias_initializer=k.constant(0.1)))
    layers.append(k.layers.Dense(1, kernel_initializer=k.normal(0.0, 1.0), bias_initializer=k.constant(0.1)))
    model = k.sequential(layers)
    model.compile(optimizer=k.sgd(0.001), loss="mean_squared_error")
    cost, trajectory = [], []
    for _ in range(STEPS):
        cost.append(float(np.ravel(np.asarray(k.train_on_batch(model, x, y), dtype=np.float64))[0]))
        trajectory.append(k.weight_sums(model))
    return {
        "cost": observe.series(cost, axis="step", dtype="float32"),
        "trajectory": observe.table(trajectory, axes=("step", "layer")),
        "predictions": observe.array(k.predict(model, np.linspace(-8, 11, 20)[:, np.newaxis]),
                                     axes=["sample", "output"]),
    }
