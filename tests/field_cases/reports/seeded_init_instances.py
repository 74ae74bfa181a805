"""Test input: a copy of the field case in shared/field-cases/, written from the public report it names.

Two initializer instances with the same seed: same values? (Keras 2.7 says no.)

Sources: keras-team/keras#15586 and keras-team/keras#15899. Claims: before 2.7,
two RandomUniform(seed=0) instances give equal tensors, from 2.7 they do not; and
the values of a seeded RandomNormal changed from TF 2.6 to 2.7 (the maintainers
answered that RNG results across versions are not promised).

Own minimal reproduction: two separate RandomUniform(seed=0) instances and two
separate RandomNormal(seed=42) instances, each called once on shape (3, 4), and
one RandomNormal(seed=42) instance called twice. The framework seed is set by the
harness (3). Values are recorded as observables named initial_* (they are initial
weights), plus the max |difference| between the two instances.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import claim

VARIANTS = {"uniform": {"kind": "uniform"}, "normal": {"kind": "normal"}}

CLAIMS = [
    claim("same seed, same values (uniform)",
          "two RandomUniform(seed=0) instances return the same tensor (true before Keras 2.7)",
          ("uniform", "instances_max_abs_diff", "last"), "<=", 0.0),
    claim("same seed, same values (normal)",
          "two RandomNormal(seed=42) instances return the same tensor",
          ("normal", "instances_max_abs_diff", "last"), "<=", 0.0),
    claim("one instance twice, same values (normal)",
          "one RandomNormal(seed=42) instance called twice returns the same tensor (Keras >= 2.10 docs)",
          ("normal", "same_instance_max_abs_diff", "last"), "<=", 0.0),
]

SHAPE = (3, 4)


def make(k, kind):
    inits = k.keras.initializers
    if kind == "uniform":
        return inits.RandomUniform(minval=-0.05, maxval=0.05, seed=0)
    return inits.RandomNormal(mean=0.0, stddev=0.05, seed=42)


def run(k, workdir, kind):
    a = k.to_numpy(make(k, kind)(SHAPE))
    b = k.to_numpy(make(k, kind)(SHAPE))
    one = make(k, kind)
    c1 = k.to_numpy(one(SHAPE))
    c2 = k.to_numpy(one(SHAPE))
    return {
        "initial_first_instance": observe.array(a),
        "initial_second_instance": observe.array(b),
        "instances_max_abs_diff": observe.scalar(float(np.max(np.abs(a - b)))),
        "same_instance_max_abs_diff": observe.scalar(float(np.max(np.abs(c1 - c2)))),
    }
