"""What the harness costs on this machine, next to the bare framework work.

    nox -s bench -- --golden-from results          # the full default matrix, every default phase
    nox -s bench -- --golden-from results --phases floor,pairs,first,cold,unchanged,report,naive  # README's (38 min)
    nox -s bench -- --envs tf2.15-keras2,tf2.21-keras3.13 --cases samplewise_normalization
    nox -s bench -- --phases floor,cold

Phases, in order (--phases picks some; the first eight run by default):

  floor      each environment built with plain `uv venv` + `uv pip sync` of its lock, then a
             bare script that imports the framework and trains every case once through the
             same adapter (bench/bare_run.py), one environment after another: the floor of
             issue 17, which a faster adapter lowers too
  pairs      the floor again, --jobs environments at a time (two on two cores): the same bare
             work side by side, with no harness at all. Two processes on two cores each run
             slower than one alone (shared caches and memory bandwidth), so this is the best
             any harness can do here; cold is shown against it too
  first      `nox -s matrix` in a fresh --envdir and results folder with no golden values (a
             new project's first run: every variant twice); its results are blessed into the
             benchmark's own golden folder. --golden-from DIR blesses DIR's results instead
             (they must come from this machine) and skips the run
  cold       `nox -s matrix` in a fresh --envdir and results folder against those golden
             values: the same machine, what a user's CI run costs (target <= 0.55 x floor)
  other      the same with numerics knobs exported (OTHER_MACHINE): another machine made on
             this one, every variant repeated and round-off members where bits move
  unchanged  `nox -s matrix` again with nothing changed: every environment skipped
  report     the report step alone (`python -m harness compare`) over the cold results
  naive      a naive user script (bench/naive_keras3.py: plain model.train_on_batch calls) in
             each Keras 3 on TensorFlow environment, next to the adapter's time for the same net
  warm       cold again with --force: environments built, every result re-made
  full       nothing changed, full default matrix, from a copy of --report-results
  scaling    time against the number of environments and of cases (three points each)

It prints, as it goes and at the end: the ratios against the floor with their targets,
where each environment's time goes, the Keras 3.0-3.6 environments against the Keras 3.9+
median, the evidence phase's share, peak memory (largest process, and the whole tree at
once), and whether every observable of the parallel cold run is bit-identical to the
floor's sequential one. Everything it writes is under --workdir (figures.json too); the
user's .nox/, results/, golden/ and report/ are not touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from bench import breakdown, scaling
from bench.bits import identical_to_floor
from bench.floor import Floor, run_floor
from bench.harness_runs import MatrixRun, clean_env, read_results, run_matrix, run_report
from bench.measure import Measured, children_peak_mb, run_measured
from bench.selection import PHASES, Selection, keras3_minor, parse_args, select
from harness import config
from harness.matrix import envs
from harness.run import environment
from harness.run import options as run_options

# Another machine, made on this one: knobs that change only the order of floating-point
# work (oneDNN kept off AVX-512; Eigen's own contraction kernel instead of TensorFlow's),
# as tests/test_machine_change.py proves with real environments.
OTHER_MACHINE = {"ONEDNN_MAX_CPU_ISA": "AVX2", "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": "0"}
# The harness before issues 13-17: a cold matrix took 1.09 x its floor
# (bench/figures/2026-11-25-full-matrix.txt); issue 13 allows another machine 1.5 x that.
PREVIOUS_COLD_RATIO = 1.09
TARGETS = {"cold_ratio": 0.55, "other_ratio": 1.5 * PREVIOUS_COLD_RATIO, "keras3_old_ratio": 1.5,
           "tree_peak_mb": 4096.0, "evidence_share": 0.20, "unchanged_seconds": 15.0, "report_seconds": 3.0}
NAIVE_SCRIPT = os.path.join(config.ROOT, "bench", "naive_keras3.py")


class Bench:
    """The phases, run in order; each prints its figures as soon as it has them."""

    def __init__(self, args: argparse.Namespace, chosen: Selection):
        self.args = args
        self.chosen = chosen
        self.workdir = os.path.abspath(args.workdir)
        self.golden = os.path.join(self.workdir, "golden")
        self.floor: Floor | None = None
        self.pairs: Floor | None = None
        self.runs: dict[str, MatrixRun] = {}
        self.report: tuple[Measured, int] | None = None
        self.naive: dict[str, dict] = {}
        self.figures: dict = {"envs": chosen.env_ids, "cases": list(chosen.cases), "jobs": args.jobs,
                              "targets": TARGETS, "other_machine": OTHER_MACHINE}

    def folder(self, label: str, what: str) -> str:
        return os.path.join(self.workdir, f"{label}.{what}")

    # -- phases -------------------------------------------------------------
    def phase_floor(self) -> None:
        self.floor = run_floor(list(self.chosen.specs), list(self.chosen.cases.values()),
                               os.path.join(self.workdir, "floor"), 1)
        missing = [e.env for e in self.floor.envs if e.run is None or e.run.returncode != 0]
        say(f"floor: {self.floor.wall_seconds:.1f} s for {len(self.floor.envs)} environment(s), one at a time "
            f"(build {sum(e.build_seconds for e in self.floor.envs):.1f} s, bare runs "
            f"{sum(e.run.seconds for e in self.floor.envs if e.run):.1f} s), peak {self.floor.max_rss_mb:.0f} MB"
            + (f"; failed: {', '.join(missing)}" if missing else ""))
        self.figures["floor"] = {"seconds": self.floor.wall_seconds, "max_rss_mb": self.floor.max_rss_mb,
                                 "envs": [dataclasses.asdict(e) for e in self.floor.envs]}

    def phase_pairs(self) -> None:
        jobs = self.args.jobs
        self.pairs = run_floor(list(self.chosen.specs), list(self.chosen.cases.values()),
                               os.path.join(self.workdir, "pairs"), jobs)
        say(f"pairs: {self.pairs.wall_seconds:.1f} s for the floor's bare runs {jobs} at a time "
            f"(bare runs {sum(e.run.seconds for e in self.pairs.envs if e.run):.1f} s added up), "
            f"peak {self.pairs.max_rss_mb:.0f} MB")
        self.figures["pairs"] = {"seconds": self.pairs.wall_seconds, "jobs": jobs,
                                 "max_rss_mb": self.pairs.max_rss_mb,
                                 "envs": [dataclasses.asdict(e) for e in self.pairs.envs]}

    def phase_first(self) -> None:
        shutil.rmtree(self.golden, ignore_errors=True)
        source = self.args.golden_from
        if source is None:
            run = self._matrix("first", fresh_envdir=True)
            source = run.results_dir
        blessed = subprocess.run([sys.executable, "-m", "harness", "bless", *self.chosen.env_ids, "--results",
                                  os.path.abspath(source), "--golden", self.golden], cwd=config.ROOT,
                                 env=clean_env(), capture_output=True, text=True, check=False)
        say(f"golden values for the benchmark: blessed from {source} into {self.golden} (exit {blessed.returncode})")
        if blessed.returncode != 0:
            say(*(blessed.stdout + blessed.stderr).strip().splitlines()[-10:])
        self.figures["golden_from"] = source

    def phase_cold(self) -> None:
        self._matrix("cold", fresh_envdir=True, golden=self._golden())

    def phase_other(self) -> None:
        self._matrix("other", fresh_envdir=True, golden=self._golden(), environ=OTHER_MACHINE)

    def phase_unchanged(self) -> None:
        cold = self.runs.get("cold")
        if cold is None:
            say("unchanged: skipped (it re-runs the cold phase's folders)")
            return
        self._matrix("unchanged", golden=self._golden(), envdir=self.folder("cold", "nox"),
                     results=cold.results_dir)

    def phase_warm(self) -> None:
        cold = self.runs.get("cold")
        self._matrix("warm", golden=self._golden(), extra=["--force"],
                     envdir=self.folder("cold", "nox") if cold else None)

    def phase_report(self) -> None:
        folder = self.args.report_results or (self.runs["cold"].results_dir if "cold" in self.runs
                                              else os.path.join(config.ROOT, "results"))
        present = len(read_results(folder, [s.id for s in envs.select(tags=["default"])]))
        measured = run_report(folder, self.workdir)
        self.report = (measured, present)
        say(f"report alone: {measured.seconds:.2f} s for the results of {present} environment(s) in {folder} "
            f"(exit {measured.returncode}), peak {measured.max_rss_mb:.0f} MB")
        self.figures["report"] = {"seconds": measured.seconds, "envs": present, "max_rss_mb": measured.max_rss_mb}

    def phase_naive(self) -> None:
        """bench/naive_keras3.py in each Keras 3 on TensorFlow environment, in the cold phase's
        virtualenvs (or the floor's), next to the adapter's time for the same variant."""
        for spec in self.chosen.specs:
            if keras3_minor(spec) is None:
                continue
            python = self._python_of(spec)
            if python is None:
                say(f"naive {spec.id}: skipped (no built environment)")
                continue
            log = os.path.join(self.workdir, "naive", f"{spec.id}.log")
            measured = run_measured([python, NAIVE_SCRIPT], log, env=dict(clean_env(), KERAS_BACKEND="tensorflow"),
                                    cwd=config.ROOT)
            found = read_tagged(log, "NAIVE_TIMING ")
            adapter = self._floor_variant(spec.id, "deep_saturation", "tanh")
            self.naive[spec.id] = {"naive": found, "adapter_seconds": adapter, "returncode": measured.returncode}
            say(f"naive {spec.id}: {found.get('train_s', float('nan')):.1f} s training with plain "
                f"train_on_batch (exit {measured.returncode}); the adapter (floor, deep_saturation/tanh, "
                "with its observables): " + (f"{adapter:.1f} s" if adapter is not None else "not measured"))
        self.figures["naive"] = self.naive

    def phase_full(self) -> None:
        """Nothing changed, full default matrix: results copied, so nothing needs to run.
        The virtualenvs are left empty: an up-to-date environment is skipped before nox
        syncs it, so what is in them is never looked at."""
        default = envs.select(tags=["default"])
        source = self.args.report_results or os.path.join(config.ROOT, "results")
        folder = fresh(self.folder("full", "results"))
        os.makedirs(folder)
        for spec in default:
            src = os.path.join(source, spec.id + ".json")
            if os.path.exists(src):
                shutil.copy(src, folder)
        stale = [s.id for s in default
                 if not environment.plan_environment(s, run_options.RunOptions(results_dir=folder)).up_to_date]
        if stale:
            say(f"full: skipped, {source} is not current for {len(stale)} environment(s) "
                f"({', '.join(stale[:3])}{', ...' if len(stale) > 3 else ''})")
            return
        ids = [s.id for s in default]
        envdir = self.folder("full", "nox")
        run_matrix("full-first", ids, self.workdir, envdir, self.args.jobs, folder, [], default_matrix=True)
        self._matrix("full", env_ids=ids, envdir=envdir, results=folder)

    def phase_scaling(self) -> None:
        points = sorted({int(p) for p in self.args.points.split(",") if p})
        ids = self.chosen.env_ids
        by_envs: list[tuple[int, float]] = []
        env_runs: list[tuple[int, float, dict[str, float]]] = []
        for n in [p for p in points if p <= len(ids)]:
            run = self._matrix(f"scale-envs-{n}", jobs=1, env_ids=ids[:n], quiet=True, fresh_envdir=False,
                               envdir=self.folder("scaling", "nox"))
            by_envs.append((n, run.measured.seconds))
            env_runs.append((n, run.measured.seconds, run.sessions))
        case = self.args.scale_case or next(iter(self.chosen.cases))
        path = run_options.selected_cases(run_options.RunOptions(only=(case,)))[case]
        by_cases = []
        for n in points:
            folder = scaling.copies_of_case(path, n, os.path.join(self.workdir, f"scale-cases-{n}", "cases"))
            run = self._matrix(f"scale-cases-{n}", jobs=1, extra=["--cases-dir", folder], env_ids=ids[:1],
                               case_args=False, quiet=True, envdir=self.folder("scaling", "nox"))
            by_cases.append((n, run.measured.seconds))
        say("scaling (one environment at a time, whole `nox` runs with compare):")
        say(*scaling.render(f"the first environments of the selection ({', '.join(ids[:len(by_envs)])})",
                            "environment", by_envs))
        say(*scaling.render_additive(env_runs))
        say(*scaling.render(f"copies of {case} in {ids[0]}", "case", by_cases))
        self.figures["scaling"] = {"envs": by_envs, "cases": by_cases, "case": case}

    # -- helpers --------------------------------------------------------------
    def _golden(self) -> str:
        if not os.path.isdir(self.golden):
            say(f"  (no golden values in {self.golden}: run the first phase, or pass --golden-from)")
        return self.golden

    def _python_of(self, spec: envs.EnvSpec) -> str | None:
        name = "matrix-" + re.sub(r"[^\w]+", "-", spec.id).strip("-")  # nox's folder for the session
        for folder in (os.path.join(self.folder("cold", "nox"), name),
                       os.path.join(self.workdir, "floor", "venvs", spec.id)):
            python = os.path.join(folder, "bin", "python")
            if os.path.exists(python):
                return python
        return None

    def _floor_variant(self, env: str, case: str, variant: str) -> float | None:
        if self.floor is None:
            return None
        for e in self.floor.envs:
            if e.env == env:
                return e.variant_seconds.get(case, {}).get(variant)
        return None

    def _matrix(self, label: str, jobs: int | None = None, extra: list[str] | None = None,
                env_ids: list[str] | None = None, envdir: str | None = None, results: str | None = None,
                golden: str | None = None, environ: dict[str, str] | None = None, case_args: bool = True,
                quiet: bool = False, fresh_envdir: bool = False) -> MatrixRun:
        ids = env_ids or self.chosen.env_ids
        jobs = jobs or self.args.jobs
        envdir = envdir or self.folder(label, "nox")
        if fresh_envdir:
            shutil.rmtree(envdir, ignore_errors=True)
        results = results or fresh(self.folder(label, "results"))
        args = (extra or []) + (self.chosen.case_args() if case_args else [])
        run = run_matrix(label, ids, self.workdir, envdir, jobs, results, args, golden=golden, environ=environ,
                         default_matrix=env_ids is None and self.chosen.default_matrix)
        self.runs[label] = run
        ran = sum(1 for e in ids if e in run.sessions and run.outcomes.get(e) == "success")
        if not quiet:
            evidence = f"; evidence {run.evidence_seconds:.1f} s" if run.evidence_seconds is not None else ""
            say(f"{label}: {run.measured.seconds:.1f} s with -j {jobs} for {len(ids)} environment(s) "
                f"({ran} sessions succeeded{evidence}; nox exit {run.measured.returncode}), peak "
                f"{run.measured.max_rss_mb:.0f} MB in one process, {run.measured.tree_peak_mb:.0f} MB at once")
        self.figures[label] = {"seconds": run.measured.seconds, "jobs": jobs, "envs": len(ids),
                               "sessions": run.sessions, "outcomes": run.outcomes,
                               "evidence_seconds": run.evidence_seconds, "max_rss_mb": run.measured.max_rss_mb,
                               "tree_peak_mb": run.measured.tree_peak_mb, "results": results,
                               "environ": environ or {}}
        return run

    # -- the summary ----------------------------------------------------------
    def summary(self) -> list[str]:
        lines = ["", "== summary =="]
        floor, cold = self.floor, self.runs.get("cold")
        costs = breakdown.env_costs(cold, floor) if cold else []
        if cold:
            lines += ["where each environment's time goes (cold run, the same machine as the golden values):",
                      *breakdown.render(costs)]
        if floor:
            for label, key, what in (("cold", "cold_ratio", "cold `nox -s matrix`, golden values from this machine"),
                                     ("other", "other_ratio", "another machine (OTHER_MACHINE knobs)")):
                run = self.runs.get(label)
                if run:
                    ratio = run.measured.seconds / floor.wall_seconds
                    self.figures[key] = ratio
                    lines.append(target_line(f"{what}: {run.measured.seconds:.1f} / {floor.wall_seconds:.1f} s "
                                             f"= {ratio:.2f} x floor", ratio, TARGETS[key]))
            lines += self._pairs_lines(floor)
            first = self.runs.get("first")
            if first:
                ratio = first.measured.seconds / floor.wall_seconds
                self.figures["first_ratio"] = ratio
                lines.append(f"a first run with no golden values (every variant twice): "
                             f"{first.measured.seconds:.1f} s = {ratio:.2f} x floor")
        if cold and cold.evidence_seconds is not None:
            share = cold.evidence_seconds / cold.measured.seconds
            self.figures["evidence_share"] = share
            lines.append(target_line(f"evidence phase of the cold run (transplants where starting states differ): "
                                     f"{cold.evidence_seconds:.1f} s = {share:.0%} of it", share,
                                     TARGETS["evidence_share"], percent=True))
        lines += self._keras3_lines()
        if floor and cold:
            lines += self._identical_lines(floor, cold)
        for label in ("unchanged", "full"):
            run = self.runs.get(label)
            if run:
                lines.append(target_line(f"nothing changed ({label}, {len(run.results)} environments): "
                                         f"{run.measured.seconds:.1f} s", run.measured.seconds,
                                         TARGETS["unchanged_seconds"]))
        if self.report:
            measured, present = self.report
            lines.append(target_line(f"report for {present} environments: {measured.seconds:.2f} s",
                                     measured.seconds, TARGETS["report_seconds"]))
        if self.runs:
            tree = max(r.measured.tree_peak_mb for r in self.runs.values())
            self.figures["tree_peak_mb"] = tree
            lines.append(target_line(f"peak memory of a whole run at once (every process of the tree): {tree:.0f} MB",
                                     tree, TARGETS["tree_peak_mb"]))
        peaks = {label: run.measured.max_rss_mb for label, run in self.runs.items()}
        if floor:
            peaks["floor"] = floor.max_rss_mb
        lines.append("peak memory, largest single process (MB): "
                     + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
                     + f"; whole benchmark (RUSAGE_CHILDREN) {children_peak_mb():.0f}")
        return lines

    def _pairs_lines(self, floor: Floor) -> list[str]:
        """The floor's bare runs side by side against one at a time: what running
        environments together gives on this machine before any harness (the pairs phase),
        and the cold run against that."""
        pairs, cold = self.pairs, self.runs.get("cold")
        if pairs is None:
            return []
        alone = {e.env: e.run.seconds for e in floor.envs if e.run and e.run.returncode == 0}
        beside = {e.env: e.run.seconds for e in pairs.envs if e.run and e.run.returncode == 0}
        both = sorted(set(alone) & set(beside))
        slower = sum(beside[e] for e in both) / sum(alone[e] for e in both) if both else float("nan")
        ratio = pairs.wall_seconds / floor.wall_seconds
        self.figures["pairs_ratio"] = ratio
        self.figures["pairs_slowdown"] = slower
        lines = [f"the floor's bare runs {self.args.jobs} at a time: "
                 f"{pairs.wall_seconds:.1f} / {floor.wall_seconds:.1f} s = {ratio:.2f} x floor (each bare run "
                 f"{slower:.2f} x as long as alone, {len(both)} environment(s)): the best a harness can do here"]
        if cold:
            self.figures["cold_over_pairs"] = cold.measured.seconds / pairs.wall_seconds
            lines.append(f"cold `nox -s matrix` against those bare runs side by side: {cold.measured.seconds:.1f} / "
                         f"{pairs.wall_seconds:.1f} s = {cold.measured.seconds / pairs.wall_seconds:.2f} x")
        return lines

    def _keras3_lines(self) -> list[str]:
        """Keras 3.0-3.6 against the median Keras 3.9+ environment (issue 17): the floor's
        training time (its bare runs without the import), the same adapter in both."""
        if not self.floor:
            return []
        training = {e.env: sum(e.case_seconds.values()) for e in self.floor.envs if e.case_seconds}
        old: list[str] = []
        new: list[str] = []
        for spec in self.chosen.specs:
            minor = keras3_minor(spec)
            if minor is not None and spec.id in training:
                (old if minor < 9 else new).append(spec.id)
        if not old or not new:
            return []
        median = statistics.median(training[e] for e in new)
        lines = [f"Keras 3 on TensorFlow, training time in the floor: Keras 3.9+ median {median:.1f} s "
                 f"({', '.join(f'{e} {training[e]:.1f}' for e in new)})"]
        self.figures["keras3"] = {"median_new": median, "training": {e: training[e] for e in old + new}}
        for env in old:
            ratio = training[env] / median
            lines.append(target_line(f"  {env}: {training[env]:.1f} s = {ratio:.2f} x that median", ratio,
                                     TARGETS["keras3_old_ratio"]))
        for env, found in self.naive.items():
            naive = found.get("naive") or {}
            if "train_s" in naive and found.get("adapter_seconds"):
                gain = naive["train_s"] / found["adapter_seconds"]
                how = (f"the adapter {gain:.1f} x faster" if gain >= 1 else
                       f"the naive script {1 / gain:.1f} x faster: the adapter records every step")
                lines.append(f"  {env}: a naive script trains deep_saturation/tanh in {naive['train_s']:.1f} s, "
                             f"the adapter in {found['adapter_seconds']:.1f} s ({how})")
        return lines

    def _identical_lines(self, floor: Floor, cold: MatrixRun) -> list[str]:
        checked, moved = identical_to_floor(floor, cold)
        self.figures["identical_to_floor"] = {"checked": checked, "differ": moved}
        if not checked:
            return ["bits: nothing to compare between the floor and the cold run"]
        if moved:
            return [f"bits: {len(moved)} of {checked} variants of the parallel cold run DIFFER from the floor's "
                    f"sequential runs: {', '.join(moved[:10])}"]
        return [f"bits: every observable of all {checked} variants of the parallel cold run (-j {cold.jobs}) is "
                "identical to the floor's sequential run"]


def target_line(text: str, value: float, target: float, percent: bool = False) -> str:
    bound = f"{target:.0%}" if percent else f"{target:g}"
    return f"{text} (target <= {bound}: {'met' if value <= target else 'MISSED'})"


def read_tagged(log: str, tag: str) -> dict:
    """The JSON after ``tag`` on the last line that starts with it ({} if none)."""
    found: dict = {}
    try:
        with open(log, errors="replace") as fh:
            for line in fh:
                if line.startswith(tag):
                    found = json.loads(line[len(tag):])
    except (OSError, ValueError):
        return {}
    return found


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
