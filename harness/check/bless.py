"""Bless: golden values change only here, from a real run, naming what is blessed.

A bless first shows what would change, refuses a run with errors, nondeterminism
or a single unchecked run unless forced, keeps the golden values (and the
fingerprints) of cases it was not asked to bless, and writes each golden file
atomically under a lock, so two blesses of one environment at once never lose a case.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

from harness.check.verdicts import compare_case
from harness.core import store
from harness.core.documents.golden import Golden, GoldenCase, GoldenVariant
from harness.core.documents.results import Determinism, Results
from harness.core.documents.schema import GOLDEN_KIND, GOLDEN_VERSION
from harness.core.reader import DocumentError
from harness.core.status import Status


@dataclasses.dataclass(frozen=True)
class BlessPlan:
    env: str
    changes: tuple[str, ...]  # one line per case: added / changed (how much) / unchanged
    refusals: tuple[str, ...]  # why this environment cannot be blessed without --force
    document: Golden | None  # the golden document to write, None when nothing to write
    cases: tuple[str, ...] = ()  # the cases this bless takes from the results
    results_dir: str = ""  # where their initial-weight files are


def golden_case(result: Results, case: str) -> GoldenCase:
    """One case of ``result`` as golden values, with the fingerprint it ran on and the
    evidence gathered around each variant (harness.run.environment reuses it on this machine)."""
    entry = result.cases[case]
    return GoldenCase(
        variants={name: GoldenVariant(v.observables, v.probe, v.evidence) for name, v in entry.variants.items()
                  if v.ok},
        source_sha256=entry.source_sha256, blessed_from=result.created, harness=result.harness,
        fingerprint=result.fingerprint, versions=result.versions, runner_sha256=entry.runner_sha256)


def golden_from_results(result: Results, cases: list[str] | tuple[str, ...], previous: Golden | None,
                        prune: bool) -> Golden:
    """``previous`` with ``cases`` replaced by ``result``'s; the other cases keep their own
    values and fingerprints (pruned when no case produces them any more)."""
    kept = dict(previous.cases) if previous is not None else {}
    if prune:
        kept = {c: v for c, v in kept.items() if c in result.cases}
    for case in cases:
        kept[case] = golden_case(result, case)
    return Golden(result.env_id, dict(sorted(kept.items())))


def _refusals(result: Results, case: str) -> list[str]:
    entry = result.cases[case]
    out = []
    bad = [n for n, v in entry.variants.items() if not v.ok]
    if not entry.ok:
        out.append(f"{case} has errors ({', '.join(bad) or (entry.error.message if entry.error else '?')})")
    nondet = [n for n, v in entry.variants.items() if v.nondeterministic]
    if nondet:
        out.append(f"{case} is nondeterministic ({', '.join(nondet)})")
    once = [n for n, v in entry.variants.items() if v.ok and v.determinism == Determinism.NOT_CHECKED]
    if once:
        out.append(f"{case} ran once ({', '.join(once)}): golden values come from two agreeing runs; "
                   "run it again with --repeat 2")
    return out


def plan(env: str, results_dir: str, golden_dir: str, cases: list[str] | None = None,
         prune: bool = False) -> BlessPlan:
    """What blessing ``env`` from ``results_dir`` would write to ``golden_dir``: the changes
    case by case, and the refusals that need --force."""
    result_path = store.document_path(results_dir, env)
    try:
        result = store.read_results(result_path)
    except FileNotFoundError:
        return BlessPlan(env, (), (f"no results at {result_path}: run `nox -s \"matrix({env})\"` first",), None)
    except DocumentError as exc:
        return BlessPlan(env, (), (str(exc),), None)
    if not result.ok:
        return BlessPlan(env, (), (f"{env} was unavailable: {result.reason}",), None)
    golden_path = store.document_path(golden_dir, env)
    refusals = []
    previous: Golden | None
    try:
        previous = store.read_golden(golden_path)
    except FileNotFoundError:
        previous = None
    except DocumentError as exc:
        if store.newer_schema(golden_path, GOLDEN_KIND, GOLDEN_VERSION) is not None:
            return BlessPlan(env, (), (str(exc),), None)  # a newer tfrepro's file: never replaced, even forced
        # A broken golden file is replaced only on purpose: it needs --force. Nothing
        # in it can be kept; the cases named (or all) are checked as for a new file.
        previous = None
        refusals.append(f"{exc}; bless with --force to replace it")
    chosen = cases or list(result.cases)
    unknown = [c for c in chosen if c not in result.cases]
    refusals += [f"{env} has no results for case {c}" for c in unknown]
    chosen = [c for c in chosen if c in result.cases]
    changes = []
    for case in chosen:
        refusals += _refusals(result, case)
        if previous is None or case not in previous.cases:
            changes.append(f"{case}: new golden values")
            continue
        status, per_variant = compare_case(previous, result, case)
        if status == Status.IDENTICAL:
            changes.append(f"{case}: unchanged")
        else:
            moved = [f"{v}/{d.describe()}" for v, diffs in per_variant for d in diffs
                     if d.status not in (Status.IDENTICAL,)]
            changes.append(f"{case}: {status.value}: " + "; ".join(moved[:6]) + (" …" if len(moved) > 6 else ""))
    if previous is not None:
        for case in (c for c in previous.cases if c not in result.cases):
            changes.append(f"{case}: orphan (no case produces it any more)" + (", removed" if prune else
                           "; kept, use --prune to remove"))
    return BlessPlan(env, tuple(changes), tuple(refusals), golden_from_results(result, chosen, previous, prune),
                     tuple(chosen), results_dir)


def write(bless_plan: BlessPlan, golden_dir: str, prune: bool = False) -> str:
    """Write the plan's cases into golden/<env>.json under the file's lock. The file is
    read again inside the lock, so a case another bless wrote meanwhile is kept."""
    assert bless_plan.document is not None
    path = store.document_path(golden_dir, bless_plan.env)
    with store.exclusive(path, what="bless"):
        try:
            current: Golden | None = store.read_golden(path)
        except (FileNotFoundError, DocumentError):
            current = None  # a broken file is only replaced with --force, which the caller checked
        merged = dict(current.cases) if current is not None else {}
        if prune:
            merged = {c: v for c, v in merged.items() if c in bless_plan.document.cases}
        merged.update({c: bless_plan.document.cases[c] for c in bless_plan.cases})
        _copy_states(bless_plan, golden_dir)
        store.write_golden(path, Golden(bless_plan.env, dict(sorted(merged.items()))))
    return path


def _copy_states(bless_plan: BlessPlan, golden_dir: str) -> None:
    """The initial weights of the blessed runs go beside the golden file (same relative
    names), so a later run that starts elsewhere can start from them (a transplant)."""
    assert bless_plan.document is not None
    for case in bless_plan.cases:
        for variant in bless_plan.document.cases[case].variants.values():
            for model in variant.probe.models if variant.probe is not None else ():
                if not model.state_file:
                    continue
                source = os.path.join(bless_plan.results_dir, model.state_file)
                target = os.path.join(golden_dir, model.state_file)
                if os.path.exists(source):
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copyfile(source, target)
