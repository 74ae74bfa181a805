"""Two initializer instances with the same seed: same values? (Keras 2.7 says no.)

The field case ../shared/field-cases/seeded_init_instances.py, rewritten on the adapter
alone: `k.initializer("RandomUniform", ..., seed=0)` and `k.draw(...)` instead of
`k.keras.initializers`. Same observables, same values.

Sources: keras-team/keras#15586 and keras-team/keras#15899: before 2.7, two
RandomUniform(seed=0) instances give equal tensors, from 2.7 they do not; the values of
a seeded RandomNormal changed from TF 2.6 to 2.7.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import claim

VARIANTS = {"uniform": {"kind": "uniform"}, "normal": {"kind": "normal"}}

CLAIMS = [
    claim("same seed, same values (uniform)",
          "two RandomUniform(seed=0) instances return the same tensor (true before Keras 2.7)",
          ("uniform", "instances_max_abs_diff", "last"), "==", 0.0),
    claim("same seed, same values (normal)",
          "two RandomNormal(seed=42) instances return the same tensor",
          ("normal", "instances_max_abs_diff", "last"), "==", 0.0),
    claim("one instance twice, same values (normal)",
          "one RandomNormal(seed=42) instance called twice returns the same tensor (Keras >= 2.10 docs)",
          ("normal", "same_instance_max_abs_diff", "last"), "==", 0.0),
]

SHAPE = (3, 4)


def make(k, kind):
    if kind == "uniform":
        return k.initializer("RandomUniform", minval=-0.05, maxval=0.05, seed=0)
    return k.initializer("RandomNormal", mean=0.0, stddev=0.05, seed=42)


def run(k, workdir, kind):
    a = k.draw(make(k, kind), SHAPE)
    b = k.draw(make(k, kind), SHAPE)
    one = make(k, kind)
    c1 = k.draw(one, SHAPE)
    c2 = k.draw(one, SHAPE)
    return {
        "initial_first_instance": observe.array(a),
        "initial_second_instance": observe.array(b),
        "instances_max_abs_diff": observe.scalar(float(np.max(np.abs(a - b)))),
        "same_instance_max_abs_diff": observe.scalar(float(np.max(np.abs(c1 - c2)))),
    }
