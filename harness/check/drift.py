"""Cross-version verdicts: one environment's results against another's (information,
failing only with --fail-on-drift)."""

from __future__ import annotations

from harness.check import causes, fingerprints
from harness.check.packages import key_changes
from harness.check.verdicts import Verdict, compare_case, explain
from harness.core.documents.results import Results
from harness.core.status import Check, Outcome, Status


def drift_verdicts(env: str, result: Results, other_env: str, other: Results, check: Check,
                   envelopes: causes.Envelopes | None = None) -> list[Verdict]:
    """One verdict per case the two environments share: what changed from ``other_env``
    to ``env``, how much, where the two runs first part and, with ``envelopes`` (the
    round-off evidence of every result), why (harness.check.causes)."""
    out = []
    # The key packages, and the machine facts that differ (two environments' numerics
    # settings differ with their packages: they are in the fingerprints, not repeated here).
    machine = [str(c) for c in fingerprints.machine_changes(other.fingerprint, result.fingerprint, numerics=False)
               if c.kind == fingerprints.Kind.CHANGED]
    changes = tuple(key_changes(other.fingerprint, result.fingerprint) + machine)
    for case in result.cases:
        if case not in other.cases:
            continue
        status, per_variant = compare_case(other, result, case)
        cause: dict | None = None
        details = ""
        if status == Status.IDENTICAL:
            message = f"{case} in {env} is bit for bit the same as in {other_env}."
            divergence, variant = None, None
        else:
            explanation = explain(other, result, case, per_variant, status)
            divergence, variant = explanation.divergence, explanation.worst_variant
            classified = causes.classify_case(other, result, case, per_variant, other_env, env, envelopes) \
                if envelopes is not None else None
            if classified is not None:
                cause = dict(classified.to_json(), key=f"{classified.cause.value}: {other_env} → {env}")
                message = f"{case} changed from {other_env} to {env}: {classified.describe()}"
                details = explanation.describe()
            else:
                message = f"{case} changed from {other_env} to {env}. {explanation.describe()}."
        out.append(Verdict(env, case, check, status, Outcome.INFO, message, variant=variant or None,
                           diffs=tuple(d for _, ds in per_variant for d in ds), divergence=divergence,
                           packages=changes, against=other_env, cause=cause, details=details))
    return out
