"""What the harness costs on this machine, next to the bare framework work.

    nox -s bench                                   # the full default matrix (hours)
    nox -s bench -- --envs tf2.15-keras2,tf2.21-keras3.13 --cases samplewise_normalization
    nox -s bench -- --phases floor,cold --jobs 2
    nox -s bench -- --repeat 1                     # the harness without its determinism repeat

Phases, in order (--phases picks some):

  floor      each environment built with plain `uv venv` + `uv pip sync` of its lock, then a
             bare script that imports the framework and trains the cases once (bench/bare_run.py)
  cold       `nox -s matrix` (with its compare) in a fresh --envdir and results folder
  warm       the same again with --force: environments built, every result re-made
  jobs       warm once more with the other --jobs (sequential against parallel)
  unchanged  `nox -s matrix` with nothing changed: every environment skipped
  full       the same for the full default matrix, from a copy of results/ (when it is current)
  report     the report step alone (`python -m harness compare`) over a full matrix's results
  scaling    time against the number of environments and of cases (three points each)

It prints, as it goes and at the end: ratios harness/floor, the per-environment overhead
and where each environment's time goes, peak memory, and the figures against the targets.
Everything it writes is under --workdir; the user's .nox/, results/ and report/ are not touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time

from bench import breakdown, scaling
from bench.floor import Floor, run_floor
from bench.harness_runs import MatrixRun, read_results, run_matrix, run_report
from bench.measure import Measured, children_peak_mb
from harness import config
from harness.matrix import envs
from harness.run import environment
from harness.run import options as run_options

PHASES = ("floor", "cold", "warm", "jobs", "unchanged", "full", "report", "scaling")
TARGETS = {"cold_ratio": 1.2, "unchanged_seconds": 15.0, "report_seconds": 3.0, "env_overhead": 1.0}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="", help="environment ids, comma-separated (default: the default matrix)")
    parser.add_argument("--cases", default="", help="case names, comma-separated (default: every case)")
    parser.add_argument("--jobs", type=int, default=1, help="environments at once, for the floor and the harness")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"some of {','.join(PHASES)}")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "tfrepro-bench"))
    parser.add_argument("--report-results", default=os.path.join(config.ROOT, "results"),
                        help="a full matrix's results, for the report and full phases")
    parser.add_argument("--points", default="1,2,3", help="environment and case counts for scaling")
    parser.add_argument("--scale-case", default="", help="the case copied for case scaling (default: the first)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="the harness's runs per variant (2 checks determinism; 1 leaves only its overhead)")
    args = parser.parse_args(argv)
    unknown = set(args.phases.split(",")) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(sorted(unknown))}; choose from {', '.join(PHASES)}")
    return args


@dataclasses.dataclass(frozen=True)
class Selection:
    specs: tuple[envs.EnvSpec, ...]
    cases: dict[str, str]  # name -> module path
    full: bool  # every default environment and every case

    @property
    def env_ids(self) -> list[str]:
        return [s.id for s in self.specs]

    def case_args(self) -> list[str]:
        return [] if self.full_cases else [a for c in self.cases for a in ("--case", c)]

    @property
    def full_cases(self) -> bool:
        return set(self.cases) == set(run_options.selected_cases(run_options.RunOptions()))


def select(args: argparse.Namespace) -> Selection:
    default = envs.select(tags=["default"])
    ids = [e for e in args.envs.split(",") if e]
    specs = tuple(envs.by_id(e) for e in ids) if ids else tuple(default)
    only = tuple(c for c in args.cases.split(",") if c)
    cases = run_options.selected_cases(run_options.RunOptions(only=only))
    return Selection(specs, cases, full=not ids and not only)


class Bench:
    """The phases, run in order; each prints its figures as soon as it has them."""

    def __init__(self, args: argparse.Namespace, chosen: Selection):
        self.args = args
        self.chosen = chosen
        self.workdir = os.path.abspath(args.workdir)
        self.envdir = os.path.join(self.workdir, "nox")
        self.results = os.path.join(self.workdir, "results")
        self.floor: Floor | None = None
        self.runs: dict[str, MatrixRun] = {}
        self.report: tuple[Measured, int] | None = None
        self.figures: dict = {"envs": chosen.env_ids, "cases": list(chosen.cases), "jobs": args.jobs,
                              "repeat": args.repeat}

    # -- phases -------------------------------------------------------------
    def phase_floor(self) -> None:
        self.floor = run_floor(list(self.chosen.specs), list(self.chosen.cases.values()),
                               os.path.join(self.workdir, "floor"), self.args.jobs)
        missing = [e.env for e in self.floor.envs if e.run is None or e.run.returncode != 0]
        say(f"floor: {self.floor.wall_seconds:.1f} s for {len(self.floor.envs)} environment(s) "
            f"(build {sum(e.build_seconds for e in self.floor.envs):.1f} s, bare runs "
            f"{sum(e.run.seconds for e in self.floor.envs if e.run):.1f} s), peak {self.floor.max_rss_mb:.0f} MB"
            + (f"; failed: {', '.join(missing)}" if missing else ""))
        self.figures["floor"] = {"seconds": self.floor.wall_seconds, "max_rss_mb": self.floor.max_rss_mb,
                                 "envs": [dataclasses.asdict(e) for e in self.floor.envs]}

    def phase_cold(self) -> None:
        shutil.rmtree(self.envdir, ignore_errors=True)
        shutil.rmtree(self.results, ignore_errors=True)
        self._matrix("cold", self.args.jobs, [])

    def phase_warm(self) -> None:
        self._matrix("warm", self.args.jobs, ["--force"])

    def phase_jobs(self) -> None:
        """Warm again with the other -j, into its own results: the numbers must not move."""
        other = 1 if self.args.jobs > 1 else 2
        folder = fresh(os.path.join(self.workdir, f"results-j{other}"))
        run = self._matrix(f"warm-j{other}", other, [], results=folder)
        moved = differing_observables(read_results(self.results, self.chosen.env_ids), run.results)
        say(f"  results of -j {self.args.jobs} and -j {other}: "
            + (f"DIFFER in {', '.join(moved)}" if moved else "every observable bitwise identical"))
        self.figures["jobs_results_identical"] = not moved

    def phase_unchanged(self) -> None:
        self._matrix("unchanged", self.args.jobs, [])

    def phase_full(self) -> None:
        """Nothing changed, full default matrix: results/ copied, so nothing needs to run.
        The virtualenvs are left empty: an up-to-date environment is skipped before nox
        syncs it, so what is in them is never looked at."""
        default = envs.select(tags=["default"])
        folder = os.path.join(self.workdir, "results-full")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        for spec in default:
            src = os.path.join(self.args.report_results, spec.id + ".json")
            if os.path.exists(src):
                shutil.copy(src, folder)
        stale = [s.id for s in default
                 if not environment.plan_environment(s, run_options.RunOptions(results_dir=folder)).up_to_date]
        if stale:
            say(f"full: skipped, {self.args.report_results} is not current for {len(stale)} environment(s) "
                f"({', '.join(stale[:3])}{', ...' if len(stale) > 3 else ''})")
            return
        ids = [s.id for s in default]
        envdir = os.path.join(self.workdir, "nox-full")
        run_matrix("full-first", ids, self.workdir, envdir, self.args.jobs, folder, [])  # makes the venvs
        self._matrix("full", self.args.jobs, [], env_ids=ids, envdir=envdir, results=folder)

    def phase_report(self) -> None:
        folder = self.args.report_results
        present = len(read_results(folder, [s.id for s in envs.select(tags=["default"])]))
        measured = run_report(folder, self.workdir)
        self.report = (measured, present)
        say(f"report alone: {measured.seconds:.2f} s for the results of {present} environment(s) in {folder} "
            f"(exit {measured.returncode}), peak {measured.max_rss_mb:.0f} MB")
        self.figures["report"] = {"seconds": measured.seconds, "envs": present, "max_rss_mb": measured.max_rss_mb}

    def phase_scaling(self) -> None:
        points = sorted({int(p) for p in self.args.points.split(",") if p})
        ids = self.chosen.env_ids
        by_envs: list[tuple[int, float]] = []
        env_runs: list[tuple[int, float, dict[str, float]]] = []
        for n in [p for p in points if p <= len(ids)]:
            run = self._matrix(f"scale-envs-{n}", 1, [], env_ids=ids[:n],
                               results=fresh(os.path.join(self.workdir, f"scale-envs-{n}")), quiet=True)
            by_envs.append((n, run.measured.seconds))
            env_runs.append((n, run.measured.seconds, run.sessions))
        case = self.args.scale_case or next(iter(self.chosen.cases))
        path = run_options.selected_cases(run_options.RunOptions(only=(case,)))[case]
        by_cases = []
        for n in points:
            folder = scaling.copies_of_case(path, n, os.path.join(self.workdir, f"scale-cases-{n}", "cases"))
            run = self._matrix(f"scale-cases-{n}", 1, ["--cases-dir", folder], env_ids=ids[:1], case_args=False,
                               results=fresh(os.path.join(self.workdir, f"scale-cases-{n}", "results")),
                               quiet=True)
            by_cases.append((n, run.measured.seconds))
        say("scaling (one environment at a time, whole `nox` runs with compare):")
        say(*scaling.render(f"the first environments of the selection ({', '.join(ids[:len(by_envs)])})",
                            "environment", by_envs))
        say(*scaling.render_additive(env_runs))
        say(*scaling.render(f"copies of {case} in {ids[0]}", "case", by_cases))
        self.figures["scaling"] = {"envs": by_envs, "cases": by_cases, "case": case}

    # -- helpers --------------------------------------------------------------
    def _matrix(self, label: str, jobs: int, extra: list[str], env_ids: list[str] | None = None,
                envdir: str | None = None, results: str | None = None, case_args: bool = True,
                quiet: bool = False) -> MatrixRun:
        ids = env_ids or self.chosen.env_ids
        args = extra + (self.chosen.case_args() if case_args else [])
        args += ["--repeat", str(self.args.repeat)]  # the harness's own default is auto, not 2
        run = run_matrix(label, ids, self.workdir, envdir or self.envdir, jobs, results or self.results, args)
        self.runs[label] = run
        ran = sum(1 for e in ids if run.outcomes.get(e) == "success")
        skipped = sum(1 for e in ids if run.outcomes.get(e) == "skipped")
        if not quiet:
            say(f"{label}: {run.measured.seconds:.1f} s with -j {jobs} for {len(ids)} environment(s) "
                f"({ran} ran, {skipped} skipped; compare {run.sessions.get('compare', 0):.1f} s; nox exit "
                f"{run.measured.returncode}), peak {run.measured.max_rss_mb:.0f} MB")
        self.figures[label] = {"seconds": run.measured.seconds, "jobs": jobs, "envs": len(ids),
                               "sessions": run.sessions, "outcomes": run.outcomes,
                               "max_rss_mb": run.measured.max_rss_mb}
        return run

    # -- the summary ----------------------------------------------------------
    def summary(self) -> list[str]:
        lines = ["", "== summary =="]
        floor, cold, warm = self.floor, self.runs.get("cold"), self.runs.get("warm")
        costs = breakdown.env_costs(cold, floor) if cold else []
        if cold:
            lines += ["where each environment's time goes (cold run):", *breakdown.render(costs)]
        if floor and cold:
            repeat = sum(c.repeat for c in costs)
            ratio = cold.measured.seconds / floor.wall_seconds
            beside = all(c.repeat_beside for c in costs)
            serial = 0.0 if beside else repeat / cold.jobs
            lines.append(f"cold / floor: {cold.measured.seconds:.1f} / {floor.wall_seconds:.1f} s = {ratio:.2f} "
                         f"(target <= {TARGETS['cold_ratio']}); the determinism repeat "
                         + (f"ran beside the first runs ({repeat:.1f} s on the other core)" if beside else
                            f"is {repeat:.1f} s of it, without it "
                            f"{(cold.measured.seconds - serial) / floor.wall_seconds:.2f}"))
            self.figures["cold_ratio"] = ratio
        if floor and warm:
            bare = sum(e.run.seconds for e in floor.envs if e.run) / max(1, warm.jobs)
            lines.append(f"warm / floor's bare runs: {warm.measured.seconds:.1f} / {bare:.1f} s = "
                         f"{warm.measured.seconds / bare:.2f}")
        overheads = [c.overhead for c in costs if c.overhead is not None]
        if overheads:
            mean = sum(overheads) / len(overheads)
            own = [c.own for c in costs]
            lines.append(f"per-environment overhead (target <= {TARGETS['env_overhead']} s): by difference "
                         f"(session - repeat - floor) mean {mean:.2f} s, max {max(overheads):.2f} s; "
                         f"counted directly (own) mean {sum(own) / len(own):.2f} s, max {max(own):.2f} s")
            self.figures["env_overhead"] = mean
            self.figures["env_own"] = sum(own) / len(own)
        if cold:
            fixed = cold.measured.seconds - (sum(cold.sessions.values()) if cold.jobs == 1 else 0.0)
            if cold.jobs == 1:
                lines.append(f"fixed cost of a nox run (start-up, noxfile, scheduling): {fixed:.1f} s; "
                             f"compare session {cold.sessions.get('compare', 0):.1f} s")
        lines += self._parallel_lines()
        for label in ("unchanged", "full"):
            run = self.runs.get(label)
            if run:
                count = sum(1 for e in run.outcomes if e != "compare")
                lines.append(f"nothing changed ({label}, {count} environments): {run.measured.seconds:.1f} s, "
                             f"{run.measured.seconds / max(1, count):.2f} s per environment "
                             f"(target <= {TARGETS['unchanged_seconds']:g} s for the full matrix)")
        if self.report:
            measured, present = self.report
            lines.append(f"report for {present} environments: {measured.seconds:.2f} s "
                         f"(target <= {TARGETS['report_seconds']:g} s)")
        peaks = {label: run.measured.max_rss_mb for label, run in self.runs.items()}
        if floor:
            peaks["floor"] = floor.max_rss_mb
        lines.append("peak memory, largest single process (MB): "
                     + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
                     + f"; whole benchmark (RUSAGE_CHILDREN) {children_peak_mb():.0f}")
        return lines

    def _parallel_lines(self) -> list[str]:
        warm = self.runs.get("warm")
        other = next((r for label, r in self.runs.items() if label.startswith("warm-j")), None)
        if not warm or not other:
            return []
        seq, par = (warm, other) if warm.jobs == 1 else (other, warm)
        share = par.measured.seconds / seq.measured.seconds
        line = (f"sequential (-j 1) {seq.measured.seconds:.1f} s, parallel (-j {par.jobs}) "
                f"{par.measured.seconds:.1f} s: parallel takes {share:.2f} of the sequential time")
        return [line]


def differing_observables(first: dict[str, dict], second: dict[str, dict]) -> list[str]:
    """Environment/case pairs whose observables are not the same in both runs."""
    def observables(doc: dict, case: str) -> dict:
        variants = doc.get("cases", {}).get(case, {}).get("variants", {})
        return {v: e.get("observables") for v, e in variants.items()}

    return [f"{env}/{case}" for env in sorted(set(first) | set(second))
            for case in sorted(set(first.get(env, {}).get("cases", {})) | set(second.get(env, {}).get("cases", {})))
            if observables(first.get(env, {}), case) != observables(second.get(env, {}), case)]


def fresh(folder: str) -> str:
    """``folder``, emptied: a run into it finds no previous result and runs everything."""
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def say(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        chosen = select(args)
    except (KeyError, run_options.UsageError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    bench = Bench(args, chosen)
    os.makedirs(bench.workdir, exist_ok=True)
    load = os.getloadavg()
    say(f"bench: {len(chosen.specs)} environment(s), {len(chosen.cases)} case(s) ({', '.join(chosen.cases)}), "
        f"-j {args.jobs}, {os.cpu_count()} CPUs, load average {load[0]:.2f} at the start; workdir {bench.workdir}")
    started = time.perf_counter()
    for phase in [p for p in PHASES if p in args.phases.split(",")]:
        getattr(bench, f"phase_{phase}")()
    say(*bench.summary())
    say(f"benchmark took {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f} at the end")
    with open(os.path.join(bench.workdir, "figures.json"), "w") as fh:
        json.dump(bench.figures, fh, indent=1, default=str)
    return 0
