"""What exactly ran: packages, interpreter, and everything on the machine that can move bits.

The fingerprint a worker sends in its ``ready`` event (results store it under
"fingerprint"). The keys python, implementation, executable, platform, cpu,
packages and env are the original ones and keep their meaning; two sections hold
the rest:

- "machine" (harness.inenv.hardware): the CPU (vendor, family, model, stepping,
  microcode, the full flag set, logical CPUs), its cache sizes three ways, the
  kernel, the running libc and the OS.
- "numerics" (harness.inenv.numerics): the variables that change numerics, the
  thread counts in effect, the XLA flags, whether oneDNN is on for this TensorFlow,
  numpy's SIMD dispatch and numpy's BLAS kernel.

Every reading that fails is recorded as ``{"unknown": why}`` (harness.inenv.readings);
nothing here raises. Python 3.7+, standard library only at import time: numpy and
the framework are read only through the ``fw`` given to ``collect``.
Installed packages are read from the *.dist-info / *.egg-info folders directly:
importlib.metadata is missing on Python 3.7 and pkg_resources is not always there.
"""

import os
import platform
import re
import sys
import sysconfig

from harness.inenv import determinism, hardware, numerics


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_packages():
    """{canonical name: version} of the distributions in this interpreter's site-packages,
    read from their *.dist-info / *.egg-info folder names, sorted by name."""
    found = {}
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for folder in paths:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info") or entry.endswith(".egg-info"):
                stem = entry.rsplit(".", 1)[0]
                name, _, version = stem.partition("-")
                if name and version:
                    found[_canonical(name)] = version
    return dict(sorted(found.items()))


def collect(fw=None):
    """The whole fingerprint; ``fw`` (the worker's Framework) adds what only the
    loaded framework and numpy can tell."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu": hardware.cpu(),
        "packages": installed_packages(),
        "env": {k: os.environ[k] for k in determinism.NUMERIC_ENV if k in os.environ},
        "machine": hardware.machine(),
        "numerics": numerics.numerics(fw),
    }
