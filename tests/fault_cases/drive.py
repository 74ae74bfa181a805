"""Host-side helpers for the fault tests: drive the real harness (its Python API for
runs, its command line for everything a user types) in temporary folders only."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

from harness.core.documents.results import Results
from harness.matrix import envs
from harness.run import environment
from harness.run import options as run_options
from tests.realenv import env_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.dirname(os.path.abspath(__file__))

# Two fast, modern environments: Keras 2 bundled in TF 2.15 and Keras 3 on TF 2.21.
KERAS2 = "tf2.15-keras2"
KERAS3 = "tf2.21-keras3.13"


@functools.cache
def python_of(env_id: str) -> str:
    """The real environment's interpreter, synced from its lock once per test session."""
    return env_python(env_id)


def case_dir(name: str) -> str:
    return os.path.join(CASES, name)


def run_env(env_id: str, case_dirs: list, results, golden=None, environ: dict | None = None, **options) -> Results:
    """Run ``case_dirs`` (only those) in the real environment ``env_id``, against the golden
    values in ``golden`` (none by default), with ``environ`` exported for the workers."""
    opts = run_options.RunOptions(case_dirs=tuple(str(d) for d in case_dirs), results_dir=str(results),
                                  golden_dir=str(golden or os.path.join(str(results), "no-golden")), force=True,
                                  environ=tuple(sorted((environ or {}).items())), **options)
    doc = environment.run_environment(envs.by_id(env_id), python_of(env_id), opts, progress=lambda _: None)
    assert doc is not None
    return doc


def harness(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m harness ARGS`` from the checkout, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], check=False, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **(env or {})))


def run_command(env_id: str, case_dirs: list[str], results: str, *extra: str) -> list[str]:
    """The argv of ``python -m harness run`` for ``env_id`` on ``case_dirs``."""
    cmd = [sys.executable, "-m", "harness", "run", env_id, "--python", python_of(env_id),
           "--results", str(results), "--force"]
    for folder in case_dirs:
        cmd += ["--cases-dir", str(folder)]
    return cmd + list(extra)


def compare(results, golden, report, *extra: str) -> subprocess.CompletedProcess:
    """``python -m harness compare`` on the default matrix, with no known failures."""
    return harness("compare", "--results", results, "--golden", golden, "--report", report,
                   "--known-failures", os.devnull, *extra)


def bless(results, golden, *args: str) -> subprocess.CompletedProcess:
    return harness("bless", *args, "--results", results, "--golden", golden)


def load(path) -> dict:
    with open(path) as fh:
        return json.load(fh)


def results_of(folder, env_id: str) -> dict:
    return load(os.path.join(str(folder), env_id + ".json"))


def verdicts(summary: dict, env: str, case: str, check: str) -> list[dict]:
    return [v for v in summary["verdicts"] if (v["env"], v["case"], v["check"]) == (env, case, check)]


def verdict(summary: dict, env: str, case: str, check: str) -> dict:
    found = verdicts(summary, env, case, check)
    assert len(found) == 1, (env, case, check, [v["message"] for v in found])
    return found[0]


def snapshot(folder) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: what "nothing else changed" compares."""
    out = {}
    for base, _, files in os.walk(str(folder)):
        for name in files:
            path = os.path.join(base, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, str(folder))] = fh.read()
    return out
