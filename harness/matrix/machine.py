"""This machine, read on the host before a run: is it the one the golden values were blessed on?

The environments' workers record the full fingerprint (harness/inenv/fingerprint.py);
the machine part of it (CPU, caches, kernel, libc, OS) does not depend on the
environment, so the host reads it with the same standard-library code and compares
it with a golden file's fingerprint without starting any environment. The numerics
settings (oneDNN, numpy's SIMD dispatch, …) depend on the environment's packages and
are left to the comparison after the run.
"""

from __future__ import annotations

import functools
import platform
import sys

from harness.check import fingerprints
from harness.inenv import hardware


@functools.lru_cache(maxsize=1)
def host_fingerprint() -> dict:
    """The machine facts of the host, in the fingerprint's own layout (no packages, no numerics)."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu": hardware.cpu(),
        "machine": hardware.machine(),
    }


def blessed_here(golden_fingerprint: dict | None) -> tuple[bool | None, list[str]]:
    """same_machine(golden, this host) over the machine facts only.

    True: this is the blessing machine as far as both fingerprints record; False,
    with the differences in words; None: nothing differs, but the golden fingerprint
    does not record enough (or a reading failed) to tell.
    """
    return fingerprints.same_machine(golden_fingerprint, host_fingerprint(), numerics=False,
                                     names=("the blessing fingerprint", "this machine"))
