"""A tiny seeded Dense model: the well-behaved case the faults are measured against."""

import numpy as np

from harness.inenv import observe


def run(k, workdir):
    x = np.random.normal(0, 1, (32, 4)).astype("float32")
    model = k.sequential([k.layers.Dense(3, input_shape=(4,)), k.layers.Dense(1)])
    model.compile(optimizer=k.sgd(0.01), loss="mse")
    initial = k.weight_sums(model)
    history = k.fit(model, x, x[:, :1], epochs=2, batch_size=16, shuffle=False)
    return {
        "initial_weight_sums": observe.series(initial, axis="layer"),
        "loss": observe.series(history["loss"], dtype="float32"),
        "final_weight_sums": observe.series(k.weight_sums(model), axis="layer"),
    }
