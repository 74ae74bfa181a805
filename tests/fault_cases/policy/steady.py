"""A small deterministic net; TFREPRO_TEST_SHIFT (a test's knob, exported to the
worker) moves its data, so the same case can differ from its golden values."""

import os

import numpy as np

from harness.inenv import observe

VARIANTS = {"a": {}, "b": {}}


def run(k, workdir):
    shift = float(os.environ.get("TFREPRO_TEST_SHIFT", "0"))
    x = np.random.normal(shift, 1, (32, 3)).astype("float32")
    model = k.sequential([k.layers.Dense(4, activation="tanh", input_shape=(3,)), k.layers.Dense(1)])
    model.compile(optimizer=k.sgd(0.05), loss="mean_squared_error")
    history = k.fit(model, x, x[:, :1], epochs=2, batch_size=16, shuffle=False)
    return {"loss": observe.series(history["loss"], dtype="float32"),
            "final_weight_sums": observe.series(k.weight_sums(model), axis="layer")}
