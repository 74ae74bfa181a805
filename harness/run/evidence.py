"""The evidence a cross-version difference needs before it can be given a cause.

After the environments ran, each compared pair (harness.check.edges) whose results
differ bit for bit gets, in the newer environment's own interpreter:

- a *transplant* where the two runs start from different weights (their probes say
  so): the variant run again from the older environment's initial weights (the
  state files it saved), so that its training can be compared from the same start;
- an *envelope* (round-off members, harness.check.roundoff) for each starting state
  that has none yet: environments whose runs start from the same weights share one,
  so the default matrix measures a handful, not one per environment. One member
  first; the others only for the envelopes that one member leaves short of explaining
  a difference as round-off (harness.run.members), in a second pass.

What is gathered is merged into results/<env>.json (evidence of each variant) under
the file's lock; a run whose interpreter is gone (results from CI runners) is skipped
with a reason, and the comparison then says that the evidence is missing.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator

from harness.check import edges as edges_module
from harness.check import roundoff
from harness.check.causes import Envelopes, starting_key
from harness.check.verdicts import compare_case, tolerances_of
from harness.core import store
from harness.core.documents.evidence import Envelope, Evidence, Transplant
from harness.core.documents.probes import ModelTrace
from harness.core.documents.results import Results, VariantResult
from harness.core.errors import UsageError
from harness.core.status import Status
from harness.matrix import envs
from harness.run import members
from harness.run.options import RunOptions, selected_cases
from harness.run.supervise import Supervisor


@dataclasses.dataclass
class EnvTasks:
    env: str
    tasks: list[dict] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)


def _within_ulps(before: VariantResult, after: VariantResult) -> bool:
    """Whether every value of two runs is within a few ULPs (no evidence needed for that)."""
    zero = Envelope(0, "none", {n: [0.0] * len(o.values) for n, o in after.observables.items() if o.kind.numeric})
    return roundoff.judge(before.observables, after.observables, zero, use_tolerance=False).explained


def _current(transplant: Transplant | None, source: VariantResult) -> bool:
    """Whether ``transplant`` started from the weights ``source`` starts from now. A run
    carried with golden values (harness.run.environment) may predate a change of its source
    environment; one without a record of its start (it failed) is taken as it is."""
    if transplant is None:
        return False
    if transplant.probe is None or not transplant.probe.models:
        return True
    put, found = (source.probe.models if source.probe is not None else ()), transplant.probe.models
    if len(put) != len(found):
        return False
    # The models whose weights were carried over (those with a state file), as starting_key counts them.
    carried = [i for i, m in enumerate(put) if m.state_file is not None] or range(len(put))
    return all(found[i].starting_state == put[i].starting_state for i in carried)


def _state_files(results_dir: str, v: VariantResult) -> list[str]:
    models: list[ModelTrace] = [m for m in (v.probe.models if v.probe else ()) if m.state_file]
    models.sort(key=lambda m: m.state_file or "")
    return [os.path.join(results_dir, m.state_file or "") for m in models]


def _differing(results: dict[str, Results], pairs: list[edges_module.Edge]
               ) -> Iterator[tuple[edges_module.Edge, str, str, VariantResult, VariantResult]]:
    """(edge, case, variant, after's run, before's run) for every variant that ran on both
    sides of a pair and differs there in some bit."""
    for edge in pairs:
        before, after = results[edge.before], results[edge.after]
        for case in after.cases:
            if case not in before.cases:
                continue
            status, per_variant = compare_case(before, after, case)
            if status == Status.IDENTICAL:
                continue
            for variant, diffs in per_variant:
                a, b = after.cases[case].variants.get(variant), before.cases[case].variants.get(variant)
                if a is None or b is None or not a.ok or not b.ok or all(d.status == Status.IDENTICAL for d in diffs):
                    continue
                yield edge, case, variant, a, b


def plan(results: dict[str, Results], pairs: list[edges_module.Edge], results_dir: str,
         roundoff_members: int, stream_members: int | None = None) -> dict[str, EnvTasks]:
    """Per environment, the transplant and envelope tasks the ``pairs`` need:
    ``roundoff_members`` round-off members per starting state (the first of them:
    harness.run.members), and ``stream_members`` (default ``roundoff_members``) stream
    members per variant without a model."""
    needed: dict[str, EnvTasks] = {}
    envelopes: dict[tuple[str, str, str | None], str] = {}  # (case, variant, start) -> env that has one
    for env, doc in results.items():
        for case, entry in doc.cases.items():
            for name, v in entry.variants.items():
                if v.ok and v.evidence is not None and v.evidence.envelope is not None:
                    envelopes.setdefault((case, name, starting_key(v)), env)
    wanted: dict[tuple[str, str, str, str | None], None] = {}  # (env, case, variant, start)
    transplants: dict[tuple[str, str, str], dict] = {}
    streams: dict[tuple[str, str, str], None] = {}  # (env, case, variant): values drawn without a model
    for edge, case, variant, a, b in _differing(results, pairs):
        start_a, start_b = starting_key(a), starting_key(b)
        if start_a is not None and start_b is not None and start_a != start_b:
            have = a.evidence.transplants if a.evidence is not None else {}
            files = _state_files(results_dir, b)
            if not _current(have.get(edge.before), b) and files:
                moved = transplants.setdefault((edge.after, case, edge.before), {
                    "case": case, "mode": "transplant", "variants": [],
                    "transplant": {"source": edge.before, "states": {}}})
                if variant not in moved["variants"]:
                    moved["variants"].append(variant)
                    moved["transplant"]["states"][variant] = files
        for env, start in ((edge.after, start_a), (edge.before, start_b)):
            if start is not None and (case, variant, start) not in envelopes:
                wanted[(env, case, variant, start)] = None
                envelopes[(case, variant, start)] = env
        if start_a is None and start_b is None and not _within_ulps(b, a):
            # Both sides: a behaviour that another stream never moves on one side
            # (two seeded instances that agree) and does on the other is a change.
            for env, v in ((edge.after, a), (edge.before, b)):
                if v.evidence is None or v.evidence.stream is None:
                    streams[(env, case, variant)] = None
    for mode, keys in (("envelope", [(e, c, v) for e, c, v, _ in wanted]), ("stream", list(streams))):
        for env, case, variant in keys:
            reference = members.reference(results[env].cases[case].variants[variant])
            tasks = needed.setdefault(env, EnvTasks(env)).tasks
            task: dict | None = next((t for t in tasks if t["mode"] == mode and t["case"] == case), None)
            if task is None:
                task = {"case": case, "mode": mode, "variants": [], "reference": {},
                        "members": roundoff_members if mode == "envelope" else (stream_members or roundoff_members)}
                tasks.append(task)
            task["variants"].append(variant)
            task["reference"][variant] = reference
    for (env, _, _), moved in transplants.items():
        needed.setdefault(env, EnvTasks(env)).tasks.append(moved)
    return needed


def plan_more(results: dict[str, Results], pairs: list[edges_module.Edge], wanted: int) -> dict[str, EnvTasks]:
    """Per environment, the further round-off members (2..``wanted``) of the envelopes that
    do not yet explain a difference of the ``pairs`` as round-off (harness.run.members);
    each envelope is widened where it was measured, so that every pair judged by it sees
    the wider one."""
    found = Envelopes(results)
    owners = {id(v.evidence.envelope): (env, case, name) for env, doc in results.items()
              for case, entry in doc.cases.items() for name, v in entry.variants.items()
              if v.ok and v.evidence is not None and v.evidence.envelope is not None}
    asked: dict[tuple[str, str, str], None] = {}
    for edge, case, variant, a, b in _differing(results, pairs):
        envelope = found.find(case, variant, a, b)
        owner = owners.get(id(envelope)) if envelope is not None else None
        if owner is not None and owner not in asked and members.needs_more(
                b, a, envelope, wanted, edge.before, tolerances_of(results[edge.after].cases[case])):
            asked[owner] = None
    needed: dict[str, EnvTasks] = {}
    for env, case in dict.fromkeys((env, case) for env, case, _ in asked):
        runs = {v: results[env].cases[case].variants[v] for e, c, v in asked if (e, c) == (env, case)}
        needed.setdefault(env, EnvTasks(env)).tasks.append(members.more_task(case, runs, wanted))
    return needed


NOTHING_TO_GATHER = "evidence: nothing to gather"  # gather's only line when it runs nothing (cli reads it)


def gather(specs: list[envs.EnvSpec], options: RunOptions, reference: str | None = None,
           between: tuple[str, str] | None = None, progress: Callable[[str], None] = print,
           jobs: int | None = None) -> list[str]:
    """Run the evidence tasks the results in ``options.results_dir`` need, environments in
    parallel (``jobs``, default one per core), and merge what they find into the results.
    Returns one line per environment about what was done or why not."""
    results: dict[str, Results] = {}
    for spec in specs:
        try:
            doc = store.read_results(store.document_path(options.results_dir, spec.id))
        except (FileNotFoundError, store.DocumentError):
            continue
        if doc.ok:
            results[spec.id] = doc
    cases = selected_cases(dataclasses.replace(options, only=()))
    results = {env: doc.without_retired(cases) for env, doc in results.items()}  # deleted cases: none
    pairs = edges_module.needing_evidence(edges_module.edges(specs, results, reference, between))
    wanted = max(1, options.envelope)
    todo = plan(results, pairs, options.results_dir, members.first_members(wanted), wanted)
    if not todo:
        said = f"{NOTHING_TO_GATHER} (every pair that needs evidence has it in its results or its golden values)"
        progress(said)
        return [said]
    unknown = sorted({t["case"] for work in todo.values() for t in work.tasks} - set(cases))
    if unknown:  # the results name cases of folders this run was not told about
        raise UsageError(f"the results in {options.results_dir} hold case(s) {', '.join(unknown)}, which are not in "
                         f"the cases folders ({', '.join(options.case_dirs) or 'the built-in cases'}): pass the "
                         "--cases-dir the matrix ran with (or set HARNESS_CASES_DIR)")
    lines = _run(specs, results, todo, options, cases, progress, jobs, widen=False)
    if wanted > members.FIRST:
        merged = {env: store.read_results(store.document_path(options.results_dir, env)).without_retired(cases)
                  for env in results}
        more = plan_more(merged, pairs, wanted)
        if more:
            lines += _run(specs, merged, more, options, cases, progress, jobs, widen=True)
    return lines


def _run(specs: list[envs.EnvSpec], results: dict[str, Results], todo: dict[str, EnvTasks], options: RunOptions,
         cases: dict[str, str], progress: Callable[[str], None], jobs: int | None, widen: bool) -> list[str]:
    """Run ``todo``, environments in parallel, and merge what comes back (``widen``: the
    envelopes are further members of those in the results)."""
    by_id = {s.id: s for s in specs}
    lines: list[str] = []
    lock = threading.Lock()

    def one(env: str) -> None:
        spec, doc, work = by_id[env], results[env], todo[env]
        python = str(doc.fingerprint.get("executable") or "")
        if not python or not os.path.exists(python):
            line = f"{env}: evidence not gathered: its interpreter {python or '(not recorded)'} is gone"
        else:
            log = os.path.join(options.results_dir, f"{env}.evidence.log")
            if not widen:
                open(log, "w").close()
            run = Supervisor(spec, python, options, log, work.tasks, cases, {}).run()
            kept = _merge(options.results_dir, env, run.envelopes, run.transplants, run.streams, widen)
            line = (f"{env}: {len(run.envelopes)} envelope(s) widened by more round-off members" if widen else
                    f"{env}: {len(run.envelopes)} envelope(s), {len(run.transplants)} transplant run(s), "
                    f"{len(run.streams)} stream envelope(s)") + ("" if kept else " (results changed meanwhile: "
                                                                  "not merged)")
        with lock:
            lines.append(line)
            progress(line)

    with concurrent.futures.ThreadPoolExecutor(jobs or os.cpu_count() or 1) as pool:
        list(pool.map(one, sorted(todo)))
    return lines


def _merge(results_dir: str, env: str, envelopes: dict[tuple[str, str], Envelope],
           transplants: dict[tuple[str, str], Transplant], streams: dict[tuple[str, str], Envelope],
           widen: bool = False) -> bool:
    """Put the evidence into results/<env>.json under its lock (read again inside it);
    ``widen``: the envelopes are more members of those already there."""
    path = store.document_path(results_dir, env)
    with store.exclusive(path):
        doc = store.read_results(path)
        cases = dict(doc.cases)
        for (case, variant) in set(envelopes) | set(transplants) | set(streams):
            entry = cases.get(case)
            if entry is None or variant not in entry.variants:
                continue
            v = entry.variants[variant]
            evidence = v.evidence or Evidence()
            if (case, variant) in envelopes:
                envelope = envelopes[(case, variant)]
                if widen and evidence.envelope is not None:
                    envelope = members.widen(evidence.envelope, envelope)
                evidence = dataclasses.replace(evidence, envelope=envelope)
            if (case, variant) in streams:
                evidence = dataclasses.replace(evidence, stream=streams[(case, variant)])
            if (case, variant) in transplants:
                t = transplants[(case, variant)]
                evidence = dataclasses.replace(evidence, transplants={**evidence.transplants, t.source: t})
            cases[case] = dataclasses.replace(entry, variants={**entry.variants,
                                                               variant: dataclasses.replace(v, evidence=evidence)})
        store.write_results(path, dataclasses.replace(doc, cases=cases))
    return True
