"""Golden verdicts: each case of one environment's results against its blessed values.

On the machine that blessed them (same fingerprint), every changed bit counts as it
always did: within tolerance it is *close* (a pass that says how far the bits moved),
beyond it *drift* (a regression). On another machine, or where the blessing machine
cannot be told from this one, a difference is judged by round-off instead
(harness.check.roundoff): explained, it is *round-off* (a pass that names the machine
difference); not explained, it is *drift*. Where no round-off evidence was gathered
(--envelope 0, results of an older run) the tolerance decides, and the verdict says so.
"""

from __future__ import annotations

import shlex

from harness.check import causes, fingerprints, roundoff
from harness.check.packages import key_changes
from harness.check.verdicts import PerVariant, Verdict, compare_case, explain, tolerances_of, variants_of
from harness.core.documents.golden import Golden, GoldenCase
from harness.core.documents.results import Results
from harness.core.status import Check, Outcome, Status


def bless_command(env: str, case: str) -> str:
    """The nox command that blesses one case of one environment, shell-quoted."""
    return f"nox -s bless -- {shlex.quote(env)} --case {shlex.quote(case)}"


def golden_verdicts(env: str, result: Results, golden: Golden | None, golden_problem: str | None,
                    golden_path: str, envelopes: causes.Envelopes | None = None) -> list[Verdict]:
    """One ``golden`` verdict per case of ``result``: identical, close or round-off (passes
    that say what moved), drift (a regression), or missing golden values (bless them)."""
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
        out.append(_case_verdict(env, case, result, golden.cases[case], golden, envelopes))
    for case in golden.cases if golden is not None else ():
        if case not in result.cases:
            out.append(Verdict(env, case, Check.GOLDEN, Status.MISSING, Outcome.INFO,
                               f"{golden_path} holds {case}, which no case produces any more "
                               f"(orphan; `nox -s bless -- {env} --prune` removes it)."))
    return out


def since_blessing(packages: list[str], before: dict, after: dict) -> str:
    """What changed since blessing, short: the packages and the machine facts that differ,
    and how many facts the blessing fingerprint does not record (the report lists them)."""
    changes = fingerprints.machine_changes(before, after)
    differ = [str(c) for c in changes if c.kind != fingerprints.Kind.UNRECORDED]
    unrecorded = sum(len(c.facts) or 1 for c in changes if c.kind == fingerprints.Kind.UNRECORDED)
    words = packages + differ
    if unrecorded:
        words.append(f"{unrecorded} fact(s) one fingerprint does not record")
    return "; ".join(words) if words else "no package, machine fact or numerics setting changed"


def machine_key(changes: list[str]) -> str:
    """The cause key of a machine difference: the same differences, the same key."""
    return "machine: " + "; ".join(changes)


def _case_verdict(env: str, case: str, result: Results, blessed: GoldenCase, golden: Golden,
                  envelopes: causes.Envelopes | None) -> Verdict:
    status, per_variant = compare_case(golden, result, case)
    if status == Status.IDENTICAL:
        return Verdict(env, case, Check.GOLDEN, status, Outcome.PASS,
                       f"{case} matches its golden values in {env} bit for bit.")
    all_diffs = tuple(d for _, ds in per_variant for d in ds)
    entry = result.cases.get(case)
    unsteady = [v for v, diffs in per_variant if diffs and entry is not None and v in entry.variants
                and entry.variants[v].nondeterministic]
    if unsteady and status in (Status.CLOSE, Status.DRIFT):
        # Two runs here already differ: a difference from golden says nothing about a change.
        return Verdict(env, case, Check.GOLDEN, Status.NONDETERMINISTIC, Outcome.NONDETERMINISTIC,
                       f"{case} differs from its golden values in {env}, but {', '.join(unsteady)} "
                       f"{'is' if len(unsteady) == 1 else 'are'} nondeterministic here (two runs differ), so the "
                       "difference cannot be judged; see its determinism verdict.", variant=unsteady[0],
                       diffs=all_diffs, against="golden")
    new = [v for v, diffs in per_variant if diffs and diffs[0].observable == "*" and v not in blessed.variants]
    if new and status == Status.MISSING:
        return Verdict(env, case, Check.GOLDEN, status, Outcome.MISSING,
                       f"{case} has new variant(s) {', '.join(new)} with no golden values in {env}: check the "
                       f"results, then run `{bless_command(env, case)}`.", variant=new[0], diffs=all_diffs)
    packages = key_changes(blessed.fingerprint, result.fingerprint)
    same, machine = fingerprints.same_machine(blessed.fingerprint, result.fingerprint)
    explanation = explain(golden, result, case, per_variant, status)
    what, divergence, variant = explanation.describe(), explanation.divergence, explanation.worst_variant
    changes = packages + machine
    now = result.cases[case].source_sha256
    edited = ["the case's source (its module or a helper beside it)"] if (
        now is not None and blessed.source_sha256 is not None and now != blessed.source_sha256) else []
    since = f" Since blessing: {since_blessing(edited + packages, blessed.fingerprint, result.fingerprint)}."
    if not same and status in (Status.CLOSE, Status.DRIFT):
        judged = _roundoff(golden, result, case, per_variant)
        if judged is not None:
            explained = all(r.explained for _, r in judged)
            worst_variant, worst = next(((v, r) for v, r in judged if not r.explained), judged[0])
            # One key per machine difference, whatever the verdict: the report shows one item with
            # how many verdicts round-off explains there and how many it does not.
            key = machine_key(fingerprints.cause_key_changes(blessed.fingerprint, result.fingerprint))
            cause = {"kind": "round-off" if explained else "beyond round-off",
                     "key": key + (f"; packages: {', '.join(packages)}" if packages else ""), "machine": machine,
                     "packages": packages, "roundoff": {v: r.to_json() for v, r in judged}}
            if explained:
                variants = ", ".join(v for v, _ in judged)
                return Verdict(
                    env, case, Check.GOLDEN, Status.ROUNDOFF, Outcome.PASS,
                    f"{case} differs from its golden values in {env} by round-off alone ({variants}: "
                    f"{worst.describe()}).{since}", variant=worst_variant, diffs=all_diffs,
                    divergence=divergence, packages=tuple(changes), against="golden", cause=cause,
                    details=what)
            # Beyond round-off: classified as on the blessing machine (a transplant from the
            # golden initial weights, judged within round-off, tells a random stream from a
            # real change), the machine difference still named.
            classified = causes.classify_case(golden, result, case, per_variant, "golden", env, envelopes) \
                if envelopes is not None else None
            if classified is not None:
                what = f"{classified.describe()} ({what})"
                cause = dict(cause, **classified.to_json(),
                             key=f"{classified.cause.value}: {'; '.join(changes) or 'no change'}")
            return Verdict(
                env, case, Check.GOLDEN, Status.DRIFT, Outcome.REGRESSION,
                f"{case} no longer matches its golden values in {env}, beyond what round-off explains "
                f"({worst_variant}: {worst.describe()}). {what}.{since}", variant=worst_variant,
                diffs=all_diffs, divergence=divergence, packages=tuple(changes), against="golden", cause=cause)
        since += (" No round-off evidence was gathered (the run predates it, or --envelope 0), so the tolerance "
                  "decides.")
    classified = causes.classify_case(golden, result, case, per_variant, "golden", env, envelopes) \
        if envelopes is not None else None
    found: dict | None = dict(classified.to_json(), key=f"{classified.cause.value}: "
                              f"{'; '.join(changes) or 'no change'}") if classified is not None else None
    if classified is not None:
        what = f"{classified.describe()} ({what})"
    if status == Status.CLOSE:  # a pass, with how far the bits moved and where they first part
        return Verdict(env, case, Check.GOLDEN, status, Outcome.PASS,
                       f"{case} matches its golden values in {env} within tolerance, but the bits differ. "
                       f"{what}.{since}", variant=variant or None, diffs=all_diffs,
                       divergence=divergence, packages=tuple(changes), against="golden", cause=found)
    outcome = Outcome.REGRESSION if status == Status.DRIFT else Outcome.ERROR
    return Verdict(
        env, case, Check.GOLDEN, status, outcome,
        f"{case} no longer matches its golden values in {env}. {what}.{since}",
        variant=variant or None, diffs=all_diffs, divergence=divergence, packages=tuple(changes), against="golden",
        cause=found)


def _roundoff(golden: Golden, result: Results, case: str,
              per_variant: PerVariant) -> list[tuple[str, roundoff.RoundOff]] | None:
    """The round-off judgement of every variant that differs, or None when one of them
    has no envelope to judge by."""
    out = []
    overrides = tolerances_of(result.cases.get(case))
    before, after = variants_of(golden, case), variants_of(result, case)
    for variant, diffs in per_variant:
        if all(d.status == Status.IDENTICAL for d in diffs):
            continue
        v = after.get(variant)
        envelope = v.evidence.envelope if v is not None and v.evidence is not None else None
        if v is None or envelope is None or variant not in before:
            return None
        out.append((variant, roundoff.judge(before[variant].observables, v.observables, envelope, overrides)))
    return out or None
