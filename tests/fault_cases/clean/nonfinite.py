"""Observables holding NaN and infinities, and one value that is NaN only in Keras 3
(a stand-in for "this number became NaN after the upgrade")."""

import numpy as np

from harness.inenv import observe


def run(k, workdir):
    with np.errstate(all="ignore"):
        logs = np.log(np.array([0.0, -1.0, 1.0]))  # -inf, nan, 0
        overflow = np.float32(3e38) * np.array([1, 10, -10], dtype=np.float32)  # 3e38, inf, -inf
    return {
        "log_values": observe.series(logs, axis="index"),
        "overflow": observe.series(overflow, axis="index"),
        "nan_since_keras3": observe.series([float("nan") if k.keras3 else 0.5, 1.0], axis="index"),
    }
