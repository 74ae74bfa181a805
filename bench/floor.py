"""The floor: the same environments built with plain uv, and the cases trained once
by a bare script (bare_run.py). Framework work only; what the harness adds is
measured against it."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

from bench.measure import Measured, run_measured
from harness.inenv import determinism
from harness.matrix import envs, interpreters, locks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BARE_SCRIPT = os.path.join(ROOT, "bench", "bare_run.py")


@dataclasses.dataclass(frozen=True)
class FloorEnv:
    env: str
    build_seconds: float  # uv venv + uv pip sync of the lock
    run: Measured | None  # the bare script; None when the environment could not be built
    import_seconds: float | None  # framework import, as the bare script saw it
    case_seconds: dict[str, float]
    observables: str | None = None  # the file of what each variant returned ({case: {variant: observables}})
    variant_seconds: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.build_seconds + (self.run.seconds if self.run else 0.0)


@dataclasses.dataclass(frozen=True)
class Floor:
    wall_seconds: float
    envs: tuple[FloorEnv, ...]

    @property
    def max_rss_mb(self) -> float:
        return max((e.run.max_rss_mb for e in self.envs if e.run), default=0.0)


def build_env(spec: envs.EnvSpec, folder: str, logs: str) -> tuple[float, str | None]:
    """A fresh virtualenv at ``folder`` with exactly the lock installed: (seconds, python or None)."""
    base = interpreters.resolve(spec.python)
    if base is None:
        return 0.0, None
    shutil.rmtree(folder, ignore_errors=True)
    made = run_measured([*locks.uv_command(), "venv", "--quiet", "--python", base, folder],
                        os.path.join(logs, f"{spec.id}.venv.log"))
    python = os.path.join(folder, "bin", "python")
    synced = run_measured([*locks.uv_command(), "pip", "sync", "--quiet", "--python", python, locks.lock_path(spec, ROOT)],
                          os.path.join(logs, f"{spec.id}.sync.log"))
    ok = made.returncode == 0 and synced.returncode == 0
    return made.seconds + synced.seconds, python if ok else None


def bare_env(spec: envs.EnvSpec) -> dict[str, str]:
    # The worker's thread counts and determinism variables: they change how much
    # work the framework does, so the floor must run under the same ones.
    env = determinism.process_env(dict(spec.env_vars), os.environ)
    env.pop("VIRTUAL_ENV", None)
    return env


def run_bare(spec: envs.EnvSpec, python: str, case_files: list[str], log: str,
             out: str | None = None) -> tuple[Measured, dict]:
    cmd = [python, BARE_SCRIPT, "--flavour", spec.flavour, "--backend", spec.backend]
    if out:
        cmd += ["--out", out]
    for path in case_files:
        cmd += ["--case", path]
    measured = run_measured(cmd, log, env=bare_env(spec), cwd=ROOT)
    timing: dict = {}
    with open(log, errors="replace") as fh:
        for line in fh:
            if line.startswith("BARE_TIMING "):
                timing = json.loads(line[len("BARE_TIMING "):])
    return measured, timing


def floor_env(spec: envs.EnvSpec, case_files: list[str], workdir: str) -> FloorEnv:
    logs = os.path.join(workdir, "logs")
    build_seconds, python = build_env(spec, os.path.join(workdir, "venvs", spec.id), logs)
    if python is None:
        return FloorEnv(spec.id, build_seconds, None, None, {})
    out = os.path.join(logs, f"{spec.id}.observables.json")
    measured, timing = run_bare(spec, python, case_files, os.path.join(logs, f"{spec.id}.bare.log"), out)
    return FloorEnv(spec.id, build_seconds, measured, timing.get("import"), timing.get("cases", {}),
                    out if os.path.exists(out) else None, timing.get("variants", {}))


def run_floor(specs: list[envs.EnvSpec], case_files: list[str], workdir: str, jobs: int = 1) -> Floor:
    """Build and run every environment, ``jobs`` at a time (1: the floor of issue 17, a
    bare sequential single run of each environment through the same adapter)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(lambda spec: floor_env(spec, case_files, workdir), specs))
    return Floor(time.perf_counter() - started, tuple(done))
