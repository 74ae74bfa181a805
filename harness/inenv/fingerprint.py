"""What exactly ran: packages, interpreter, platform, CPU features, variables.

Installed packages are read from the *.dist-info / *.egg-info folders directly:
importlib.metadata is missing on Python 3.7 and pkg_resources is not always there.
"""

import os
import platform
import re
import sys
import sysconfig

from harness.inenv import determinism

# CPU flags that change which kernels numpy, Eigen and oneDNN pick.
CPU_FLAGS = (
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
    "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8",
)


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_packages():
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


def cpu():
    info = {"machine": platform.machine(), "processor": platform.processor()}
    try:
        with open("/proc/cpuinfo") as fh:
            text = fh.read()
    except OSError:
        return info
    model = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
    if model:
        info["model"] = model.group(1).strip()
    if flags:
        present = set(flags.group(1).split())
        info["flags"] = [f for f in CPU_FLAGS if f in present]
    info["count"] = os.cpu_count()
    return info


def collect():
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu": cpu(),
        "packages": installed_packages(),
        "env": {k: os.environ[k] for k in determinism.NUMERIC_ENV if k in os.environ},
    }
