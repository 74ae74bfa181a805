"""Golden verdicts: each case of one environment's results against its blessed values."""

from __future__ import annotations

import shlex

from harness.check import fingerprints
from harness.check.verdicts import Verdict, compare_case, explain
from harness.core.documents import Golden, Results
from harness.core.status import Check, Outcome, Status


def bless_command(env: str, case: str) -> str:
    return f"nox -s bless -- {shlex.quote(env)} --case {shlex.quote(case)}"


def golden_verdicts(env: str, result: Results, golden: Golden | None, golden_problem: str | None,
                    golden_path: str) -> list[Verdict]:
    """One ``golden`` verdict per case of ``result``: identical, close (bits differ within
    tolerance: a pass), drift (a regression), or missing golden values (bless them)."""
    out = []
    for case in result.cases:
        if golden_problem:
            out.append(Verdict(env, case, Check.GOLDEN, Status.ERROR, Outcome.ERROR,
                               f"cannot compare with golden values: {golden_problem} (nothing was overwritten)."))
            continue
        if golden is None or case not in golden.cases:
            where = "no golden file " + golden_path if golden is None else f"{golden_path} has no {case}"
            out.append(Verdict(env, case, Check.GOLDEN, Status.MISSING, Outcome.MISSING,
                               f"{where}: check the results, then run `{bless_command(env, case)}`."))
            continue
        out.append(_case_verdict(env, case, result, golden))
    for case in golden.cases if golden is not None else ():
        if case not in result.cases:
            out.append(Verdict(env, case, Check.GOLDEN, Status.MISSING, Outcome.INFO,
                               f"{golden_path} holds {case}, which no case produces any more "
                               f"(orphan; `nox -s bless -- {env} --prune` removes it)."))
    out += machine_note(env, result, golden)
    return out


def _case_verdict(env: str, case: str, result: Results, golden: Golden) -> Verdict:
    blessed = golden.cases[case]
    status, per_variant = compare_case(golden, result, case)
    if status == Status.IDENTICAL:
        return Verdict(env, case, Check.GOLDEN, status, Outcome.PASS,
                       f"{case} matches its golden values in {env} bit for bit.")
    new = [v for v, diffs in per_variant if diffs and diffs[0].observable == "*" and v not in blessed.variants]
    all_diffs = tuple(d for _, ds in per_variant for d in ds)
    if new and status == Status.MISSING:
        return Verdict(env, case, Check.GOLDEN, status, Outcome.MISSING,
                       f"{case} has new variant(s) {', '.join(new)} with no golden values in {env}: check the "
                       f"results, then run `{bless_command(env, case)}`.", variant=new[0], diffs=all_diffs)
    what, divergence, variant = explain(result, case, per_variant, status)
    if status == Status.CLOSE:  # a pass, with how far the bits moved and where they first part
        return Verdict(env, case, Check.GOLDEN, status, Outcome.PASS,
                       f"{case} matches its golden values in {env} within tolerance, but the bits differ ({what}); "
                       f"{divergence.describe() if divergence else ''}.",
                       variant=variant or None, diffs=all_diffs, divergence=divergence, against="golden")
    before = {"fingerprint": blessed.fingerprint}
    after = {"fingerprint": result.fingerprint}
    changes = fingerprints.key_changes(before["fingerprint"], after["fingerprint"])
    changes += fingerprints.platform_changes(before["fingerprint"], after["fingerprint"])
    outcome = Outcome.REGRESSION if status == Status.DRIFT else Outcome.ERROR
    since = f" Since blessing: {', '.join(changes)}." if changes else " No package or platform changed since blessing."
    return Verdict(
        env, case, Check.GOLDEN, status, outcome,
        f"{case} no longer matches its golden values in {env} ({what}); "
        f"{divergence.describe() if divergence else ''}.{since}",
        variant=variant or None, diffs=all_diffs, divergence=divergence, packages=tuple(changes), against="golden")


def machine_note(env: str, result: Results, golden: Golden | None) -> list[Verdict]:
    """Results from another machine than the golden values (CI runners, merged results): say so once."""
    if golden is None or not golden.cases or not result.fingerprint:
        return []
    before = next(iter(golden.cases.values())).fingerprint
    changes = fingerprints.platform_changes(before, result.fingerprint) if before else []
    if not changes:
        return []
    return [Verdict(env, "*", Check.GOLDEN, Status.CLOSE, Outcome.INFO,
                    f"{env} ran on another machine than its golden values were blessed on ({'; '.join(changes)}); "
                    "bits may differ there, so the golden comparisons of this environment rely on tolerances.",
                    packages=tuple(changes), against="golden")]
