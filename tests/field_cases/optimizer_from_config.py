"""TF 2.11: Adam() and Adam deserialized from a config are different optimizers. Same numbers?

The field case ../shared/field-cases/optimizer_from_config.py, rewritten on the adapter
alone: `k.optimizer("adam", learning_rate=0.01)`, `k.optimizer_from_config(...)` and
`k.set_learning_rate(...)` instead of reaching into `k.keras.optimizers`; the class is
recorded as text (`k.class_name`), the learning rate read back is claimed with `==` and
a tolerance (a float32 0.01 reads back as 0.009999999776482582), and the weights come
from the helper module beside it (`_shared.py`). Same training, same values.

Source: tensorflow/tensorflow#59751. After upgrading from 2.6, `optimizers.Adam()` gives
the new optimizer class while an optimizer built from a config gives the legacy
optimizer_v2 class. Own minimal reproduction: a 6 -> 8 tanh -> 1 regression, weights
set from a fixed numpy stream, 30 train_on_batch steps of Adam(learning_rate=0.01).
"""

import _shared
import numpy as np

from harness.inenv import observe
from harness.inenv.declare import claim, same

VARIANTS = {"class": {"how": "class"}, "string": {"how": "string"}, "config": {"how": "config"}}

INVARIANTS = [
    same("Adam from a config trains as Adam()", "class", "config",
         observables=["loss", "trajectory", "final_weight_sums"],
         why="both are Adam with the same hyper-parameters"),
    same("compile('adam') trains as Adam() (lr 0.01 set afterwards)", "class", "string",
         observables=["loss", "trajectory", "final_weight_sums"],
         why="both are Adam with the same hyper-parameters"),
]

CLAIMS = [
    claim("learning rate from a config", "Adam from a config keeps its learning rate of 0.01",
          ("config", "learning_rate", "last"), "==", 0.01, tolerance=1e-7),
    claim("Adam() is the new class", "from TF 2.11, Adam() is not the legacy optimizer_v2 class",
          ("class", "legacy_optimizer", "last"), "!=", 1.0),
]

STEPS = 30


def make_optimizer(k, how):
    if how == "class":
        return k.optimizer("adam", learning_rate=0.01)
    if how == "config":
        return k.optimizer_from_config({"class_name": "adam", "config": {"learning_rate": 0.01}})
    return "adam"


def run(k, workdir, how):
    x = np.random.normal(0, 1, (32, 6)).astype("float32")
    y = np.sin(x[:, :2].sum(axis=1, keepdims=True)).astype("float32")
    model = k.sequential([k.layers.Dense(8, activation="tanh", input_shape=(6,)), k.layers.Dense(1)])
    _shared.uniform_weights(k, model, seed=3)
    model.compile(optimizer=make_optimizer(k, how), loss="mse")
    if how == "string":  # the string gives the default learning rate (0.001); set 0.01 as the others
        k.set_learning_rate(model.optimizer, 0.01)
    losses, trajectory = [], []
    for step in range(STEPS):
        start = (step * 8) % 32
        loss = k.train_on_batch(model, x[start:start + 8], y[start:start + 8])
        losses.append(float(np.asarray(loss).ravel()[0]))
        trajectory.append(k.weight_sums(model))
    return {
        "legacy_optimizer": observe.scalar(_shared.is_legacy(model.optimizer)),
        "optimizer_class": observe.text(k.class_name(model.optimizer)),
        "learning_rate": observe.scalar(k.learning_rate(model.optimizer)),
        "loss": observe.series(losses, axis="step", dtype="float32"),
        "trajectory": observe.table(trajectory, axes=("step", "layer")),
        "final_weight_sums": observe.series(k.weight_sums(model), axis="layer"),
    }
