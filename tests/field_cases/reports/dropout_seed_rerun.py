"""Test input: a copy of the field case in shared/field-cases/, written from the public report it names.

A seeded Dropout's seed advances with every trace: a rerun from the same weights differs.

Sources: keras-team/keras#17548 and keras-team/tf-keras#60. The reporter gave Dropout an explicit seed and found
that each new tf.function of the model (make_train_function and friends) uses the
next seed, a state that tf.random.set_seed cannot reset, so training the same
model again from the same weights does not repeat itself.

Own minimal reproduction: Dense(16, relu) -> [Dropout(0.5, seed=7)] -> Dense(1) on
seeded data. Train 2 epochs with plain SGD (no optimizer state), put the initial
weights back, compile again (a new train function) and train 2 epochs again.
Variants: no Dropout (control), seeded Dropout, unseeded Dropout. The invariant:
the rerun repeats the first run's losses.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import same

VARIANTS = {
    "no_dropout": {"dropout": False, "seed": None},
    "seeded_dropout": {"dropout": True, "seed": 7},
    "unseeded_dropout": {"dropout": True, "seed": None},
}

INVARIANTS = [
    same("rerun from the same weights repeats the losses (%s)" % v, v + ":loss_first", v + ":loss_rerun",  # noqa: UP031 (kept as written)
         bitwise=True, why="same weights, same data order, same seed")
    for v in VARIANTS
]


def run(k, workdir, dropout, seed):
    x = np.random.normal(0, 1, (128, 8)).astype("float32")
    y = (x[:, :3].sum(axis=1, keepdims=True) - x[:, 3:4]).astype("float32")
    layers = [k.layers.Dense(16, activation="relu", input_shape=(8,))]
    if dropout:
        layers.append(k.layers.Dropout(0.5, seed=seed))
    layers.append(k.layers.Dense(1))
    model = k.sequential(layers)
    start = model.get_weights()
    model.compile(optimizer=k.sgd(0.05), loss="mse")
    first = k.fit(model, x, y, epochs=2, batch_size=32, shuffle=False)["loss"]
    model.set_weights(start)
    model.compile(optimizer=k.sgd(0.05), loss="mse")
    rerun = k.fit(model, x, y, epochs=2, batch_size=32, shuffle=False)["loss"]
    return {
        "loss_first": observe.series(first, dtype="float32"),
        "loss_rerun": observe.series(rerun, dtype="float32"),
    }
