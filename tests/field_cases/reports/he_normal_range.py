"""Test input: a copy of the field case in shared/field-cases/, written from the public report it names.

Is he_normal's range 3x wider in TF 1.x than in TF 2.4?

Source: tensorflow/tensorflow#50244. The reporter (ResNet50, TF 1.13.1 vs 2.4.1) saw
kernel values in [-0.15, 0.15] for a 512x2048 layer in TF 1.13 and only in
[-0.05, 0.05] in TF 2.4, and blamed he_normal itself
for a range three times wider.

Own minimal reproduction: he_normal (seeded, seed=1) and glorot_uniform on a 1x1
conv kernel with 512 inputs and 2048 outputs, the layer size the reporter names.
Observables: the sample standard deviation and max |w| of each. For he_normal the
documented law is a normal truncated at two standard deviations with
stddev = sqrt(2 / fan_in) / 0.8796 (TF 2 docs), so max |w| <= 0.142 and the std is
sqrt(2/512) = 0.0625; glorot_uniform is bounded by sqrt(6 / (512 + 2048)) = 0.0484.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import at_most, claim

VARIANTS = {"conv1x1_512_2048": {"shape": (1, 1, 512, 2048)}}

HE_BOUND = 2 * np.sqrt(2.0 / 512) / 0.87962566103423978
GLOROT_BOUND = np.sqrt(6.0 / (512 + 2048))

INVARIANTS = [
    at_most("he_normal stays within its truncation bound", "conv1x1_512_2048", "he_max_abs",
            float(HE_BOUND) + 1e-6, why="truncated at 2 stddev, stddev = sqrt(2/fan_in)/0.8796"),
    at_most("glorot_uniform stays within its limit", "conv1x1_512_2048", "glorot_max_abs",
            float(GLOROT_BOUND) + 1e-6, why="uniform on [-sqrt(6/(fan_in+fan_out)), +...]"),
]

CLAIMS = [
    claim("old he_normal range", "TF 1.x he_normal on a 512x2048 kernel reaches about 0.15",
          ("conv1x1_512_2048", "he_max_abs", "last"), ">=", 0.12),
    claim("new he_normal range", "TF 2.4 he_normal on a 512x2048 kernel stays within about 0.05",
          ("conv1x1_512_2048", "he_max_abs", "last"), "<=", 0.06),
]


def run(k, workdir, shape):
    inits = k.keras.initializers
    he = k.to_numpy(inits.he_normal(seed=1)(shape))
    glorot = k.to_numpy(inits.glorot_uniform(seed=1)(shape))
    return {
        "he_std": observe.scalar(float(np.std(he))),
        "he_max_abs": observe.scalar(float(np.max(np.abs(he)))),
        "glorot_std": observe.scalar(float(np.std(glorot))),
        "glorot_max_abs": observe.scalar(float(np.max(np.abs(glorot)))),
    }
