"""Bless: golden values change only here, from a real run, naming what is blessed.

A bless first shows what would change, refuses a run with errors or
nondeterminism unless forced, keeps the golden values of cases it was not asked
to bless, and writes each golden file atomically.
"""

from __future__ import annotations

import dataclasses

from harness.check.verdicts import compare_case
from harness.core import store
from harness.core.status import Status


@dataclasses.dataclass(frozen=True)
class BlessPlan:
    env: str
    changes: tuple[str, ...]  # one line per case: added / changed (how much) / unchanged
    refusals: tuple[str, ...]  # why this environment cannot be blessed without --force
    document: dict | None  # the golden document to write, None when nothing to write


def golden_from_results(result: dict, cases: list[str], previous: dict | None, prune: bool) -> dict:
    kept = dict((previous or {}).get("cases", {}))
    if prune:
        kept = {c: v for c, v in kept.items() if c in result["cases"]}
    for case in cases:
        entry = result["cases"][case]
        kept[case] = {
            "source_sha256": entry.get("source_sha256"),
            "variants": {
                name: {"status": "ok", "observables": v["observables"]}
                for name, v in entry["variants"].items()
                if v.get("status") == "ok"
            },
        }
    return {
        "schema": store.GOLDEN_KIND,
        "version": store.SCHEMA_VERSION,
        "env": result["env"],
        "harness": result.get("harness"),
        "blessed_from": result.get("created"),
        "fingerprint": result.get("fingerprint"),
        "versions": result.get("versions"),
        "cases": dict(sorted(kept.items())),
    }


def plan(env: str, results_dir: str, golden_dir: str, cases: list[str] | None = None,
         prune: bool = False) -> BlessPlan:
    result_path = store.document_path(results_dir, env)
    try:
        result = store.read_document(result_path, store.RESULTS_KIND)
    except FileNotFoundError:
        return BlessPlan(env, (), (f"no results at {result_path}: run `nox -s \"matrix({env})\"` first",), None)
    except store.DocumentError as exc:
        return BlessPlan(env, (), (str(exc),), None)
    if result.get("status") != "ok":
        return BlessPlan(env, (), (f"{env} was unavailable: {result.get('reason')}",), None)
    golden_path = store.document_path(golden_dir, env)
    refusals = []
    try:
        previous: dict | None = store.read_document(golden_path, store.GOLDEN_KIND)
    except FileNotFoundError:
        previous = None
    except store.DocumentError as exc:
        # A broken golden file is replaced only on purpose: it needs --force. Nothing
        # in it can be kept; the cases named (or all) are checked as for a new file.
        previous = None
        refusals.append(f"{exc}; bless with --force to replace it")
    chosen = cases or list(result["cases"])
    unknown = [c for c in chosen if c not in result["cases"]]
    refusals += [f"{env} has no results for case {c}" for c in unknown]
    chosen = [c for c in chosen if c in result["cases"]]
    changes = []
    for case in chosen:
        entry = result["cases"][case]
        bad = [n for n, v in entry["variants"].items() if v.get("status") != "ok"]
        if entry.get("status") == "error" or bad:
            refusals.append(f"{case} has errors ({', '.join(bad) or entry['error']['message']})")
        nondet = [n for n, v in entry["variants"].items() if v.get("nondeterministic")]
        if nondet:
            refusals.append(f"{case} is nondeterministic ({', '.join(nondet)})")
        if previous is None or case not in previous["cases"]:
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
        orphans = [c for c in previous["cases"] if c not in result["cases"]]
        for case in orphans:
            changes.append(f"{case}: orphan (no case produces it any more)" + (", removed" if prune else
                           "; kept, use --prune to remove"))
    return BlessPlan(env, tuple(changes), tuple(refusals), golden_from_results(result, chosen, previous, prune))


def write(bless_plan: BlessPlan, golden_dir: str) -> str:
    assert bless_plan.document is not None
    path = store.document_path(golden_dir, bless_plan.env)
    store.write_json(path, bless_plan.document)
    return path
