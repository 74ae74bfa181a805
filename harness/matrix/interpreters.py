"""Find an absolute interpreter path for a Python "X.Y".

pyenv's ``pythonX.Y`` shims exist on PATH even when that version is not active,
and uv (and nox's uv backend) trip over them. So every candidate is asked for its
own version before it is trusted. Order: an explicit override, pyenv's versions
folder, a working ``pythonX.Y`` on PATH, then uv-managed interpreters.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess


def _env_override(version: str) -> str | None:
    # HARNESS_PYTHON_3_7=/opt/python3.7/bin/python3.7
    return os.environ.get("HARNESS_PYTHON_" + version.replace(".", "_"))


def _reports_version(path: str, version: str) -> bool:
    try:
        out = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def _pyenv_candidates(version: str) -> list[str]:
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version))

    def patch(path: str) -> int:
        name = path.split(os.sep)[-3]
        tail = name[len(version) + 1 :]
        return int(tail) if tail.isdigit() else -1

    return sorted(found, key=patch, reverse=True)


def _uv_candidate(version: str) -> list[str]:
    uv = shutil.which("uv")
    if not uv:
        return []
    try:
        out = subprocess.run(
            [uv, "python", "find", "--no-python-downloads", version],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [out.stdout.strip()] if out.returncode == 0 and out.stdout.strip() else []


@functools.cache
def resolve(version: str) -> str | None:
    """The absolute path of a working Python ``version``, or None."""
    override = _env_override(version)
    if override:
        return override if _reports_version(override, version) else None
    candidates = _pyenv_candidates(version)
    on_path = shutil.which("python" + version)
    if on_path:
        candidates.append(on_path)
    for path in candidates:
        if _reports_version(path, version):
            return os.path.abspath(path)
    for path in _uv_candidate(version):
        if _reports_version(path, version):
            return path
    return None


def explain_missing(version: str) -> str:
    """Why no Python ``version`` was found, and how to get one (or to fix HARNESS_PYTHON_X_Y
    when it names one that does not work)."""
    override = _env_override(version)
    if override:  # the user named one: say that it is that one which does not work
        return (
            f"HARNESS_PYTHON_{version.replace('.', '_')}={override} is not a working Python {version} "
            "(missing, not executable or another version); point it at a Python "
            f"{version} interpreter or unset it"
        )
    return (
        f"no Python {version} interpreter found (looked at HARNESS_PYTHON_{version.replace('.', '_')}, "
        f"pyenv versions, python{version} on PATH and uv-managed Pythons); "
        f"install one with `pyenv install {version}` or `uv python install {version}`"
    )
