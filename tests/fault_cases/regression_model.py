"""The small model behind the injected-regression cases (regressions/clean and
regressions/injected), and what each of those cases declares.

Dense(6) -> [BatchNormalization] -> [Activation('linear')] -> Dense(5) ->
[Activation('linear')], trained with plain SGD for 3 epochs on seeded N(0, 1)
data, as seed 001's autoencoder at a tenth of the size. Layers are built through
``k.layers`` and trained through ``k.fit``, so an injected twin can change how
they are built or trained from outside, without a switch in here.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import same

PARAMS = {
    "plain": {"bn": False, "identity": False},
    "identity": {"bn": False, "identity": True},
    "bn": {"bn": True, "identity": False},
}

IDENTITY = same(
    "identity activation changes nothing",
    "plain", "identity",
    observables=["initial_weight_sums", "loss", "final_weight_sums", "predictions"],
    why="Activation('linear') is the identity; inserting it must not move a single number",
)

# What each scenario's clean case and its injected twin declare (the same in both).
SCENARIOS = {
    "op_seed": (["plain", "identity"], [IDENTITY]),
    "draw": (["plain", "identity"], [IDENTITY]),
    "bn_epsilon": (["bn"], []),
    "one_ulp": (["plain"], []),
    "ulp_initial": (["plain"], []),
}


def declared(scenario):
    """(VARIANTS, INVARIANTS) of ``scenario``."""
    names, invariants = SCENARIOS[scenario]
    return {name: PARAMS[name] for name in names}, list(invariants)


def build(k, bn, identity):
    layers = [k.layers.Dense(6, input_shape=(5,))]
    if bn:
        layers.append(k.layers.BatchNormalization())
    if identity:
        layers.append(k.layers.Activation("linear"))
    layers.append(k.layers.Dense(5))
    if identity:
        layers.append(k.layers.Activation("linear"))
    model = k.sequential(layers)
    model.compile(optimizer=k.sgd(0.05), loss="mean_squared_error")
    return model


def run(k, workdir, bn, identity):
    x = np.random.normal(0, 1, (40, 5)).astype("float32")
    probe = np.random.RandomState(2024).normal(0, 1, (4, 5)).astype("float32")
    model = build(k, bn, identity)
    initial = k.weight_sums(model)
    history = k.fit(model, x, x, epochs=3, batch_size=10, shuffle=False)
    last_kernel = k.weighted_layers(model)[-1][1].get_weights()[0]
    return {
        "initial_weight_sums": observe.series(initial, axis="layer"),
        "loss": observe.series(history["loss"], dtype="float32"),
        "final_kernel": observe.array(last_kernel, axes=["input", "unit"]),
        "final_weight_sums": observe.series(k.weight_sums(model), axis="layer"),
        "final_weights_digest": observe.digest(k.weights(model)),
        "predictions": observe.array(k.predict(model, probe), axes=["sample", "output"]),
    }
