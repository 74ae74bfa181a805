"""Real pinned environments for the tests: built from the committed locks with uv,
exactly as the matrix session builds them, in the same place (.nox/matrix-<env>),
so a test run and `nox -s matrix` share them and a warm uv cache makes this fast."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from harness.matrix import envs, interpreters, locks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def venv_dir(env_id: str) -> str:
    # nox's own naming for the session "matrix(<env>)".
    return os.path.join(ROOT, ".nox", "matrix-" + re.sub(r"[^\w]+", "-", env_id).strip("-"))


def env_python(env_id: str) -> str:
    """The interpreter of a real, synced environment ``env_id``; skips the test with
    the reason when the environment's Python is not installed on this machine."""
    spec = envs.by_id(env_id)
    base = interpreters.resolve(spec.python)
    if base is None:
        pytest.skip(interpreters.explain_missing(spec.python))
    folder = venv_dir(env_id)
    python = os.path.join(folder, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([*locks.uv_command(), "venv", "--quiet", "--python", base, folder], check=True)
    subprocess.run([*locks.uv_command(), "pip", "sync", "--quiet", "--python", python, locks.lock_path(spec, ROOT)],
                   check=True)
    return python
