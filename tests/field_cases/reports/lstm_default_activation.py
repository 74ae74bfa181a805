"""Test input: a copy of the field case in shared/field-cases/, written from the public report it names.

LSTM's default recurrent_activation: hard_sigmoid in TF 1.x tf.keras, sigmoid in TF 2.

Source: tensorflow/tensorflow#47495. The reporter ran the same
code on TF 1.15 and TF 2.4 and saw slightly different results; the cause they
found: LSTM's default recurrent_activation is "hard_sigmoid" in TF 1.x and
"sigmoid" in TF 2.x.

Own minimal reproduction: LSTM(4) -> Dense(1) on seeded (64, 5, 3) sequences.
Every weight is set from a fixed numpy stream (RandomState(7)), so initializers and
random streams play no part: only the layer's computation can differ. Variants:
the default LSTM, and the LSTM with recurrent_activation given explicitly as
"sigmoid" and as "hard_sigmoid". The default variant also measures, in the same
process, how far its predictions are from the two explicit ones (claims).
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import claim

VARIANTS = {
    "default": {"act": None},
    "sigmoid": {"act": "sigmoid"},
    "hard_sigmoid": {"act": "hard_sigmoid"},
}

CLAIMS = [
    claim("default is sigmoid",
          "TF 2 (and the docs): LSTM's default recurrent_activation is sigmoid",
          ("default", "default_vs_sigmoid", "max"), "<=", 1e-6),
    claim("default is hard_sigmoid",
          "TF 1.x tf.keras: LSTM's default recurrent_activation is hard_sigmoid",
          ("default", "default_vs_hard_sigmoid", "max"), "<=", 1e-6),
]

STEPS, FEATURES, UNITS = 5, 3, 4


def build(k, act):
    kwargs = {} if act is None else {"recurrent_activation": act}
    model = k.sequential([k.layers.LSTM(UNITS, input_shape=(STEPS, FEATURES), **kwargs),
                          k.layers.Dense(1)])
    rng = np.random.RandomState(7)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    model.compile(optimizer=k.sgd(0.1), loss="mse")
    return model


def run(k, workdir, act):
    x = np.random.normal(0, 1, (64, STEPS, FEATURES)).astype("float32")
    y = (x[:, :, 0].mean(axis=1, keepdims=True) - 0.3 * x[:, -1:, 1]).astype("float32")
    model = build(k, act)
    initial = k.predict(model, x[:8])
    out = {"initial_weight_sums": observe.series(k.weight_sums(model), axis="layer"),
           "initial_predictions": observe.array(initial, axes=["sample", "output"])}
    if act is None:
        for name in ("sigmoid", "hard_sigmoid"):
            other = k.predict(build(k, name), x[:8])
            out["default_vs_" + name] = observe.scalar(float(np.max(np.abs(other - initial))))
    history = k.fit(model, x, y, epochs=5, batch_size=16, shuffle=False)
    out["loss"] = observe.series(history["loss"], dtype="float32")
    out["final_weight_sums"] = observe.series(k.weight_sums(model), axis="layer")
    out["predictions"] = observe.array(k.predict(model, x[:8]), axes=["sample", "output"])
    return out
