"""Is he_normal's range 3x wider in TF 1.x than in TF 2.4?

The field case ../shared/field-cases/he_normal_range.py, rewritten on the adapter alone:
`k.draw("he_normal", shape, seed=1)` instead of `k.keras.initializers.he_normal(seed=1)`
(a function in TF 1.x, a class in TF 2 and Keras 3). Same observables, same values.

Source: tensorflow/tensorflow#50244 (ResNet50, TF 1.13.1 vs 2.4.1: kernel values in
[-0.15, 0.15] vs [-0.05, 0.05] for a 512x2048 layer). he_normal is a normal truncated
at two standard deviations with stddev = sqrt(2 / fan_in) / 0.8796, so max |w| <= 0.142
and the std is sqrt(2/512) = 0.0625; glorot_uniform is bounded by sqrt(6 / 2560) = 0.0484.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import at_most, claim

VARIANTS = {"conv1x1_512_2048": {"shape": (1, 1, 512, 2048)}}

HE_BOUND = 2 * np.sqrt(2.0 / 512) / 0.87962566103423978
GLOROT_BOUND = np.sqrt(6.0 / (512 + 2048))
HE_STD = np.sqrt(2.0 / 512)

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
    claim("he_normal's std", "he_normal's sample std is sqrt(2 / fan_in) (the law, in every version)",
          ("conv1x1_512_2048", "he_std", "last"), "==", float(HE_STD), tolerance=1e-3),
]


def run(k, workdir, shape):
    he = k.draw("he_normal", shape, seed=1)
    glorot = k.draw("glorot_uniform", shape, seed=1)
    return {
        "he_std": observe.scalar(float(np.std(he))),
        "he_max_abs": observe.scalar(float(np.max(np.abs(he)))),
        "glorot_std": observe.scalar(float(np.std(glorot))),
        "glorot_max_abs": observe.scalar(float(np.max(np.abs(glorot)))),
    }
