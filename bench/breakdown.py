"""Where each environment's time goes, from the harness's own timing records
(results/<env>.json "timing", nox's session durations) next to the floor's."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

from bench.floor import Floor
from bench.harness_runs import MatrixRun
from harness.core import store


@dataclasses.dataclass(frozen=True)
class EnvCost:
    env: str
    session: float  # the nox session, all of it
    setup: float  # the session minus the supervisor: venv, uv sync, plan, merge, write
    worker_start: float  # interpreter start and the runner's own imports, per worker started
    framework_import: float
    cases: dict[str, float]  # each case in the first worker (with its repeat, unless beside)
    repeat: float  # the determinism repeat, all cases
    repeat_beside: bool  # the repeat ran in a second worker at the same time (harness.replicas)
    supervisor_rest: float  # the supervisor's time not in a worker start, import or case
    write: float  # writing results/<env>.json (measured again on the same document)
    floor_build: float | None
    floor_run: float | None

    @property
    def own(self) -> float:
        """The harness's own time, counted directly: the session's set-up beyond the
        floor's uv build, the worker's start and the supervisor's bookkeeping. Unlike
        ``overhead`` it subtracts no training time, so it carries none of its noise."""
        return self.setup - (self.floor_build or 0.0) + self.worker_start + self.supervisor_rest

    @property
    def overhead(self) -> float | None:
        """What the harness adds to the floor, the determinism repeat aside (a repeat
        beside the first run takes the other core, not more time)."""
        if self.floor_build is None or self.floor_run is None:
            return None
        serial_repeat = 0.0 if self.repeat_beside else self.repeat
        return self.session - serial_repeat - self.floor_build - self.floor_run

    @property
    def first_runs(self) -> float:
        return sum(self.cases.values()) - (0.0 if self.repeat_beside else self.repeat)


def write_seconds(doc: dict) -> float:
    """The atomic write of ``doc``, as run_environment does it, into a scratch folder."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        store.write_json(os.path.join(folder, "env.json"), doc)
        return time.perf_counter() - started


def env_costs(run: MatrixRun, floor: Floor | None) -> list[EnvCost]:
    floors = {e.env: e for e in floor.envs} if floor else {}
    costs = []
    for env, doc in run.results.items():
        timing = doc.get("timing") or {}
        if env not in run.sessions or run.outcomes.get(env) == "skipped" or "total" not in timing:
            continue  # skipped (its results are an earlier run's) or unavailable: nothing ran
        cases = dict(timing.get("cases") or {})
        starts, imports = sum(timing.get("starts") or []), sum(timing.get("imports") or [])
        f = floors.get(env)
        costs.append(EnvCost(
            env=env, session=run.sessions[env], setup=run.sessions[env] - timing["total"],
            worker_start=starts, framework_import=imports, cases=cases,
            repeat=sum((timing.get("repeats") or {}).values()), repeat_beside=bool(timing.get("repeats_beside")),
            supervisor_rest=timing.get("first_process_total", timing["total"]) - starts - imports - sum(cases.values()),
            write=write_seconds(doc),
            floor_build=f.build_seconds if f else None,
            floor_run=f.run.seconds if f and f.run else None,
        ))
    return costs


def render(costs: list[EnvCost]) -> list[str]:
    if not costs:
        return ["  (no environment ran)"]
    head = (f"  {'environment':<22}{'session':>8}{'setup':>7}{'start':>7}{'import':>8}{'cases':>8}"
            f"{'repeat':>8}{'rest':>6}{'write':>7} | {'floor build':>11}{'floor run':>10}{'overhead':>9}{'own':>6}")
    lines = [head]
    for c in costs:
        first = c.first_runs
        floor = (f"{c.floor_build:>11.1f}{c.floor_run:>10.1f}{c.overhead:>9.2f}" if c.overhead is not None
                 else f"{'-':>11}{'-':>10}{'-':>9}")
        lines.append(f"  {c.env:<22}{c.session:>8.1f}{c.setup:>7.1f}{c.worker_start:>7.2f}"
                     f"{c.framework_import:>8.1f}{first:>8.1f}{c.repeat:>7.1f}{'*' if c.repeat_beside else ' '}"
                     f"{c.supervisor_rest:>6.2f}"
                     f"{c.write:>7.3f} | {floor}{c.own:>6.2f}")
    lines += ["  seconds. setup: the nox session outside the worker (venv, uv sync, plan, merge, write);",
              "  start: interpreter and runner; cases: first runs, module load included; repeat: the",
              "  determinism repeat (in a second worker at the same time where marked *: not added to the",
              "  session); overhead: session - serial repeat - floor (two training times apart: noisy);",
              "  own: setup beyond the floor's build + start + rest (the harness's own, counted directly)"]
    return lines
