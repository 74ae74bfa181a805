"""Run the cases of one environment in its interpreter, and write its results.

One worker, or two side by side for the determinism check (harness.run.replicas);
whatever happens, the environment ends with one results file, written atomically
and merged with the earlier results that still hold (harness.run.incremental).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import threading
from collections.abc import Callable

from harness import config
from harness.check import causes
from harness.check.verdicts import tolerances_of
from harness.core import store
from harness.core.documents.evidence import Envelope
from harness.core.documents.golden import Golden
from harness.core.documents.results import Determinism, Results
from harness.core.reader import DocumentError
from harness.matrix import envs
from harness.run import incremental, members, policy, replicas
from harness.run.options import RunOptions, selected_cases
from harness.run.supervise import Supervisor, WorkerRun, unavailable_document

ROOT = config.ROOT


def plan_environment(spec: envs.EnvSpec, options: RunOptions) -> incremental.Plan:
    """Which cases of ``spec`` need running, from results/<env>.json alone (cheap:
    nox calls this before it syncs the virtualenv)."""
    inputs = incremental.collect_inputs(spec, selected_cases(options), options.repeat, ROOT,
                                        options.worker_environ())
    previous, unusable = incremental.read_previous(options.results_dir, spec.id)
    return incremental.plan(inputs, previous, unusable, force=options.force)


def run_environment(spec: envs.EnvSpec, python: str, options: RunOptions | None = None,
                    progress: Callable[[str], None] = print, plan: incremental.Plan | None = None) -> Results | None:
    """Run the cases of ``spec`` that are not up to date with ``python``, and write
    results/<env>.json with them and the earlier results still valid."""
    options = options or RunOptions()
    os.makedirs(options.results_dir, exist_ok=True)
    path = store.document_path(options.results_dir, spec.id)
    with store.exclusive(path):
        plan = plan or plan_environment(spec, options)
        progress(f"{spec.id}: {plan.describe()}")
        if plan.up_to_date:
            return incremental.read_previous(options.results_dir, spec.id)[0]
        log_path = path[: -len(".json")] + ".log"
        open(log_path, "w").close()
        files = selected_cases(options)
        to_run = {case: files[case] for case, _ in plan.run}
        doc = _run_workers(spec, python, options, log_path, to_run, plan.inputs.stamp(), progress)
        previous, _ = incremental.read_previous(options.results_dir, spec.id)
        doc = incremental.merge(doc, previous, plan)
        store.write_results(path, doc)
    shown = os.path.relpath(path)
    progress(f"{spec.id}: wrote {path if shown.startswith(os.pardir) else shown}")  # no ../../tmp/…
    return doc


def _run_workers(spec: envs.EnvSpec, python: str, options: RunOptions, log_path: str,
                 cases: dict[str, str], stamp: dict, progress: Callable[[str], None] = print) -> Results:
    """The first run of every case, the determinism repeats where they tell something
    (harness.run.policy), and round-off members where a result differs from golden.

    Cases whose repeat is decided up front run in a second worker beside the first, on
    the other core, in reverse order (harness.run.replicas); repeats of variants that
    turn out to differ from golden run after the first worker, in one more worker."""
    golden = _golden(options.golden_dir, spec.id)
    decisions = policy.decide(list(cases), golden, options.repeat)
    by_reason: dict[str, list[str]] = {}
    for decision in decisions.values():
        by_reason.setdefault(decision.why, []).append(decision.case)
    for why, names in by_reason.items():
        if len(names) < len(decisions) or len(names) == 1:
            progress(f"{spec.id}: {', '.join(names)}: {why}")
        else:
            progress(f"{spec.id}: {why}")
    state_dir = os.path.join(options.results_dir, spec.id + ".state")
    first_tasks = [_run_task(case, golden, options, state_dir) for case in cases]  # one member at most
    runs = options.repeat if options.repeat and options.repeat > 1 else 2
    beside = [{"case": case, "mode": "repeat", "runs": runs - 1, "reverse": True}
              for case in reversed(list(cases)) if decisions[case].repeat_beside]
    stop = threading.Event()
    first = Supervisor(spec, python, options, log_path, first_tasks, cases, stamp, stop=stop)
    if beside:
        second_log = log_path[: -len(".log")] + ".repeat.log"
        open(second_log, "w").close()
        second = Supervisor(spec, python, options, second_log, beside, cases, stamp, stop=stop)
        done, repeated = _together([first, second], stop)
        results = replicas.merge(done.results, repeated.results, runs, only={(str(t["case"]), None) for t in beside})
    else:
        done = first.run()
        results = done.results
    differing = [(case, variant) for (case, variant), match in done.golden_match.items()
                 if not match and decisions[case].repeat_differing]
    more = _more_members(done, golden, options.envelope)
    if differing or more:
        if differing:
            progress(f"{spec.id}: {len(differing)} variant(s) differ from golden: running them again")
        if more:
            progress(f"{spec.id}: {len(more)} variant(s) not explained by one round-off member: "
                     f"{options.envelope - members.FIRST} more")
        later_log = log_path[: -len(".log")] + ".repeat.log"
        tasks = [{"case": case, "mode": "repeat", "runs": 1,
                  "variants": [v for c, v in reversed(differing) if c == case]}
                 for case in dict.fromkeys(c for c, _ in reversed(differing))]
        tasks += [members.more_task(case, {v: done.results.cases[c].variants[v] for c, v in more if c == case},
                                    options.envelope)
                  for case in dict.fromkeys(c for c, _ in more)]
        later = Supervisor(spec, python, options, later_log, tasks, cases, stamp, stop=stop).run()
        if differing:
            results = replicas.merge(results, later.results, 2, only={(c, v) for c, v in differing})
        results = _widen_envelopes(results, later.envelopes)
    here = {case for case, decision in decisions.items() if decision.blessed_here}
    return _mark_golden_matches(results, done.golden_match, golden, here)


def _more_members(done: WorkerRun, golden: Golden | None, wanted: int) -> list[tuple[str, str]]:
    """The (case, variant) pairs whose golden difference the first round-off member did not
    explain as round-off, and which more members could still explain (harness.run.members)."""
    out: list[tuple[str, str]] = []
    if golden is None:
        return out
    for (case, variant), match in done.golden_match.items():
        entry = done.results.cases.get(case)
        v = entry.variants.get(variant) if entry is not None else None
        before = golden.cases[case].variants.get(variant) if case in golden.cases else None
        if match or v is None or not v.ok or before is None or v.evidence is None:
            continue
        if members.needs_more(before, v, v.evidence.envelope, wanted, "golden", tolerances_of(entry)):
            out.append((case, variant))
    return out


def _widen_envelopes(results: Results, more: dict[tuple[str, str], Envelope]) -> Results:
    """Each variant's envelope widened by the members run for it later (harness.run.members)."""
    cases = dict(results.cases)
    for (case, variant), envelope in more.items():
        entry = cases.get(case)
        v = entry.variants.get(variant) if entry is not None else None
        if entry is None or v is None or v.evidence is None or v.evidence.envelope is None:
            continue
        evidence = dataclasses.replace(v.evidence, envelope=members.widen(v.evidence.envelope, envelope))
        cases[case] = dataclasses.replace(entry, variants={**entry.variants,
                                                           variant: dataclasses.replace(v, evidence=evidence)})
    return dataclasses.replace(results, cases=cases)


def _run_task(case: str, golden: Golden | None, options: RunOptions, state_dir: str) -> dict:
    """The first run of a case: checked against its golden values, with the first round-off
    member where it differs (the rest later, where it does not settle it), and a run from
    the golden run's initial weights where it starts elsewhere (golden values blessed with
    their initial weights)."""
    task: dict = {"case": case, "mode": "run", "state_dir": state_dir,
                  "members": members.first_members(options.envelope)}
    if golden is not None and case in golden.cases:
        variants = golden.cases[case].variants
        task["golden"] = {name: {obs: o.to_json() for obs, o in v.observables.items()} for name, v in variants.items()}
        folder = os.path.dirname(store.document_path(options.golden_dir, golden.env))
        states = {name: [os.path.join(folder, m.state_file) for m in v.probe.models if m.state_file]
                  for name, v in variants.items() if v.probe is not None}
        task["golden_states"] = {name: paths for name, paths in states.items() if paths}
        task["golden_starts"] = {name: causes.starting_key(v) for name, v in variants.items()}
    return task


def _golden(folder: str, env_id: str) -> Golden | None:
    """The golden values the run checks itself against; an unreadable file reads as none
    here (the comparison step reports it)."""
    try:
        return store.read_golden(store.document_path(folder, env_id))
    except (FileNotFoundError, DocumentError):
        return None


def _together(supervisors: list[Supervisor], stop: threading.Event) -> tuple[WorkerRun, WorkerRun]:
    with concurrent.futures.ThreadPoolExecutor(len(supervisors)) as pool:
        futures = [pool.submit(s.run) for s in supervisors]
        try:
            # In steps, so that Ctrl-C reaches this thread and stops both workers.
            while concurrent.futures.wait(futures, timeout=0.5).not_done:
                pass
        except BaseException:
            stop.set()
            raise
        first, second = (future.result() for future in futures)
    return first, second


def _mark_golden_matches(results: Results, matches: dict[tuple[str, str], bool], golden: Golden | None,
                         blessed_here: set[str]) -> Results:
    """Variants that reproduced their golden values bit for bit and were not repeated:
    deterministic by that match (the golden values came from two agreeing runs).

    Where the golden values were blessed on this machine by the same runner, such a variant
    also takes the evidence blessed with them: its round-off and stream members are seeded
    runs around the same bits on the same machine, so they would measure the same envelope
    again, and its runs from other environments' initial weights are checked against those
    environments' current starting weights before use (harness.run.evidence.plan)."""
    cases = {}
    for name, entry in results.cases.items():
        variants = {}
        blessed = golden.cases.get(name) if golden is not None else None
        reuse = (blessed is not None and name in blessed_here and blessed.runner_sha256 is not None
                 and blessed.runner_sha256 == entry.runner_sha256)
        for variant, v in entry.variants.items():
            if not (v.ok and matches.get((name, variant)) and blessed is not None):
                variants[variant] = v
                continue
            if v.determinism == Determinism.NOT_CHECKED:
                v = dataclasses.replace(v, determinism=Determinism.MATCHES_GOLDEN, golden_from=blessed.blessed_from)
            kept = blessed.variants[variant].evidence if variant in blessed.variants else None
            if reuse and v.evidence is None and kept is not None:
                v = dataclasses.replace(v, evidence=kept)
            variants[variant] = v
        cases[name] = dataclasses.replace(entry, variants=variants)
    return dataclasses.replace(results, cases=cases)


def write_unavailable(spec: envs.EnvSpec, reason: str, results_dir: str | None = None) -> str:
    """Record that ``spec`` cannot run here, keeping every earlier case result in the file."""
    folder = results_dir or RunOptions().results_dir
    os.makedirs(folder, exist_ok=True)  # the first thing a run writes may be this
    path = store.document_path(folder, spec.id)
    with store.exclusive(path):
        previous, _ = incremental.read_previous(folder, spec.id)
        doc = unavailable_document(spec, reason)
        if previous is not None:
            doc = dataclasses.replace(doc, cases=previous.cases)
        store.write_results(path, doc)
    return path
