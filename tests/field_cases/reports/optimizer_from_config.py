"""Test input: a copy of the field case in shared/field-cases/, written from the public report it names.

TF 2.11: Adam() and Adam deserialized from a config are different optimizers. Same numbers?

Source: tensorflow/tensorflow#59751. After upgrading from 2.6, the reporter found that `optimizers.Adam()` gives
the new optimizer class while an optimizer built from a config gives the legacy
optimizer_v2 class, so code that reads the learning rate broke. This case checks
the numeric side: do the three ways of asking for Adam (the class, the string
"adam" in compile, and optimizers.deserialize of a config) train the same?

Own minimal reproduction: a 6 -> 8 tanh -> 1 regression, weights set from a fixed
numpy stream, 30 train_on_batch steps of Adam(learning_rate=0.01). Observables:
the loss per step, the weight-sum trajectory, and whether the optimizer object is
the legacy class (1.0) or not (0.0).
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import same

VARIANTS = {"class": {"how": "class"}, "string": {"how": "string"}, "config": {"how": "config"}}

INVARIANTS = [
    same("Adam from a config trains as Adam()", "class", "config",
         observables=["loss", "trajectory", "final_weight_sums"],
         why="both are Adam with the same hyper-parameters"),
    same("compile('adam') trains as Adam() (lr 0.01 set afterwards)", "class", "string",
         observables=["loss", "trajectory", "final_weight_sums"],
         why="both are Adam with the same hyper-parameters"),
]

STEPS = 30


def make_optimizer(k, how):
    opts = k.keras.optimizers
    if how == "class":
        return opts.Adam(learning_rate=0.01)
    if how == "config":
        return opts.deserialize({"class_name": "adam", "config": {"learning_rate": 0.01}})
    return "adam"


def is_legacy(optimizer):
    names = [c.__module__ + "." + c.__name__ for c in type(optimizer).__mro__]
    return 1.0 if any("optimizer_v2" in n or ".legacy" in n for n in names) else 0.0


def run(k, workdir, how):
    x = np.random.normal(0, 1, (32, 6)).astype("float32")
    y = np.sin(x[:, :2].sum(axis=1, keepdims=True)).astype("float32")
    model = k.sequential([k.layers.Dense(8, activation="tanh", input_shape=(6,)), k.layers.Dense(1)])
    rng = np.random.RandomState(3)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    model.compile(optimizer=make_optimizer(k, how), loss="mse")
    optimizer = model.optimizer
    if how == "string":
        # the string gives the default learning rate (0.001); set 0.01 as the others
        if hasattr(optimizer, "learning_rate"):
            optimizer.learning_rate = 0.01
        else:
            optimizer.lr = 0.01
    losses, trajectory = [], []
    for step in range(STEPS):
        start = (step * 8) % 32
        loss = k.train_on_batch(model, x[start:start + 8], y[start:start + 8])
        losses.append(float(np.asarray(loss).ravel()[0]))
        trajectory.append(k.weight_sums(model))
    return {
        "legacy_optimizer": observe.scalar(is_legacy(model.optimizer)),
        "loss": observe.series(losses, axis="step", dtype="float32"),
        "trajectory": observe.table(trajectory, axes=("step", "layer")),
        "final_weight_sums": observe.series(k.weight_sums(model), axis="layer"),
    }
