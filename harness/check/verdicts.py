"""Turn results and golden documents into verdicts: one per environment × case × check.

Checks: ``environment`` (could it run), ``run`` (did the case raise, hang or
crash), ``golden``, ``determinism``, ``invariant:<name>``, ``claim:<name>``,
``drift:previous`` and ``drift:reference`` (cross-version, information unless the
caller asks otherwise). Every verdict carries a one-sentence explanation.
"""

from __future__ import annotations

import dataclasses
import math

from harness.check import diff
from harness.check.diff import Divergence, ObservableDiff
from harness.core.status import Outcome, Status, worst


@dataclasses.dataclass(frozen=True)
class Verdict:
    env: str
    case: str
    check: str
    status: Status
    outcome: Outcome
    message: str
    variant: str | None = None
    diffs: tuple[ObservableDiff, ...] = ()
    divergence: Divergence | None = None
    packages: tuple[str, ...] = ()
    against: str | None = None
    details: str = ""
    known: dict | None = None

    def with_outcome(self, outcome: Outcome, known: dict | None = None, note: str = "") -> "Verdict":
        message = self.message + (f" {note}" if note else "")
        return dataclasses.replace(self, outcome=outcome, known=known, message=message)

    @property
    def key(self) -> str:
        return f"{self.env}::{self.case}::{self.check}"

    def to_json(self) -> dict:
        return {
            "env": self.env,
            "case": self.case,
            "check": self.check,
            "variant": self.variant,
            "status": self.status.value,
            "outcome": self.outcome.value,
            "message": self.message,
            "against": self.against,
            "divergence": self.divergence.to_json() if self.divergence else None,
            "packages": list(self.packages),
            "diffs": [d.to_json() for d in self.diffs if d.status != Status.IDENTICAL],
            "details": self.details,
            "known": self.known,
        }


def _variants(doc: dict, case: str) -> dict:
    return ((doc.get("cases") or {}).get(case) or {}).get("variants") or {}


def _tolerances(case_entry: dict) -> dict:
    return ((case_entry or {}).get("declaration") or {}).get("tolerances") or {}


# -- one environment's own checks ---------------------------------------------------
def run_verdicts(env: str, doc: dict) -> list[Verdict]:
    out = []
    for case, entry in doc["cases"].items():
        failed = []
        if entry.get("status") == "error":
            err = entry.get("error") or {}
            out.append(Verdict(env, case, "run", Status.ERROR, Outcome.ERROR,
                               f"{case} failed in {env}: {err.get('message', 'unknown error')}.",
                               details="\n".join(err.get("traceback", []))))
        for variant, v in entry.get("variants", {}).items():
            if v.get("status") == "error":
                err = v.get("error") or {}
                failed.append(variant)
                out.append(Verdict(env, case, "run", Status.ERROR, Outcome.ERROR,
                                   f"{case}/{variant} raised {err.get('type')}: {err.get('message', '')[:300]}",
                                   variant=variant, details="\n".join(err.get("traceback", []))))
        if entry.get("status") != "error" and not failed:
            out.append(Verdict(env, case, "run", Status.IDENTICAL, Outcome.PASS, f"{case} ran in {env}."))
        nondet = {vn: v["nondeterministic"] for vn, v in entry.get("variants", {}).items()
                  if v.get("status") == "ok" and v.get("nondeterministic")}
        if nondet:
            what = "; ".join(f"{vn}: {', '.join(names)}" for vn, names in nondet.items())
            out.append(Verdict(env, case, "determinism", Status.NONDETERMINISTIC, Outcome.NONDETERMINISTIC,
                               f"two runs of {case} in {env} differ bit for bit ({what}); "
                               "golden comparisons of these values cannot be trusted."))
        elif entry.get("variants"):
            out.append(Verdict(env, case, "determinism", Status.IDENTICAL, Outcome.PASS,
                               f"{case} is bitwise repeatable in {env}."))
    return out


def _observables(doc: dict, case: str, ref: str) -> tuple[str, dict | None]:
    variant, _, name = ref.partition(":")
    v = _variants(doc, case).get(variant) or {}
    obs = v.get("observables")
    if obs is None:
        return variant, None
    return variant, ({name: obs[name]} if name and name in obs else ({} if name else obs))


def invariant_verdicts(env: str, doc: dict) -> list[Verdict]:
    out = []
    for case, entry in doc["cases"].items():
        decl = entry.get("declaration") or {}
        tol = _tolerances(entry)
        for inv in decl.get("invariants", []):
            check = f"invariant:{inv['name']}"
            if inv["type"] == "same":
                out.append(_same_invariant(env, case, doc, inv, tol, check))
            elif inv["type"] == "at_most":
                out.append(_bound_invariant(env, case, doc, inv, check))
    return out


def _same_invariant(env, case, doc, inv, tol, check) -> Verdict:
    va, a = _observables(doc, case, inv["a"])
    vb, b = _observables(doc, case, inv["b"])
    if not a or not b:
        return Verdict(env, case, check, Status.ERROR, Outcome.ERROR,
                       f"invariant '{inv['name']}' cannot be checked: {inv['a'] if not a else inv['b']} "
                       "has no values (see the run verdict).")
    if ":" in inv["a"]:  # two different observables: compare them as one pair
        (na, oa), (_, ob) = next(iter(a.items())), next(iter(b.items()))
        diffs = diff.compare_observables({na: oa}, {na: ob}, tol, names=[na], bitwise=inv["bitwise"])
        label = f"{inv['a']} vs {inv['b']}"
    else:
        names = inv.get("observables") or [n for n in a if n in b]
        diffs = diff.compare_observables(a, b, tol, names=names, bitwise=inv["bitwise"])
        label = f"{va} vs {vb}"
    status = diff.overall(diffs)
    if status.agrees:
        return Verdict(env, case, check, status, Outcome.PASS,
                       f"invariant '{inv['name']}' holds in {env} ({status.value}).", diffs=tuple(diffs))
    divergence = diff.first_divergence(diffs, a if ":" not in inv["a"] else {}, Status.DRIFT)
    worst_diff = max((d for d in diffs if d.status == status), key=lambda d: d.max_rel)
    return Verdict(
        env, case, check, status, Outcome.REGRESSION,
        f"invariant '{inv['name']}' is broken in {env}: {label} differ beyond tolerance "
        f"({worst_diff.describe()}); {divergence.describe()}. Why it must hold: {inv.get('why') or '-'}",
        diffs=tuple(diffs), divergence=divergence,
    )


def _bound_invariant(env, case, doc, inv, check) -> Verdict:
    v = _variants(doc, case).get(inv["variant"]) or {}
    obs = (v.get("observables") or {}).get(inv["observable"])
    if obs is None:
        return Verdict(env, case, check, Status.ERROR, Outcome.ERROR,
                       f"invariant '{inv['name']}' cannot be checked: no {inv['variant']}:{inv['observable']}.")
    values = [x for x in obs["values"]]
    top = max(values) if values else 0.0
    if values and all(not math.isnan(x) and x <= inv["bound"] for x in values):
        return Verdict(env, case, check, Status.CLOSE, Outcome.PASS,
                       f"invariant '{inv['name']}' holds in {env} (max {top:.3g} <= {inv['bound']:g}).")
    return Verdict(env, case, check, Status.DRIFT, Outcome.REGRESSION,
                   f"invariant '{inv['name']}' is broken in {env}: {inv['variant']}:{inv['observable']} "
                   f"reaches {top:.3g} > {inv['bound']:g}. Why it must hold: {inv.get('why') or '-'}")


def _pick(doc: dict, case: str, ref) -> float | None:
    if isinstance(ref, (int, float)):
        return float(ref)
    obs = ((_variants(doc, case).get(ref["variant"]) or {}).get("observables") or {}).get(ref["observable"])
    if not obs or not obs.get("values"):
        return None
    values, pick = obs["values"], ref["pick"]
    if isinstance(pick, int):
        return values[pick]
    finite = [x for x in values if not math.isnan(x)] or [math.nan]
    return {"last": values[-1], "first": values[0], "min": min(finite), "max": max(finite),
            "mean": sum(finite) / len(finite)}[pick]


def claim_verdicts(env: str, doc: dict) -> list[Verdict]:
    ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
    out = []
    for case, entry in doc["cases"].items():
        for claim in (entry.get("declaration") or {}).get("claims", []):
            lhs, rhs = _pick(doc, case, claim["lhs"]), _pick(doc, case, claim["rhs"])
            check = f"claim:{claim['name']}"
            if lhs is None or rhs is None:
                out.append(Verdict(env, case, check, Status.MISSING, Outcome.INFO,
                                   f"claim '{claim['text']}' cannot be measured in {env}."))
                continue
            holds = ops[claim["op"]](lhs, rhs)
            out.append(Verdict(env, case, check, Status.IDENTICAL if holds else Status.DRIFT, Outcome.INFO,
                               f"claim '{claim['text']}' {'holds' if holds else 'does not hold'} in {env} "
                               f"({lhs:.4g} {claim['op']} {rhs:.4g} is {holds}).",
                               details=f"{lhs!r} {claim['op']} {rhs!r}"))
    return out


# -- two runs of the same case (golden vs result, or two environments) --------------
def compare_case(before: dict, after: dict, case: str) -> tuple[Status, list[tuple[str, list[ObservableDiff]]]]:
    entry = (after.get("cases") or {}).get(case) or {}
    tol = _tolerances(entry)
    per_variant = []
    statuses = []
    before_v, after_v = _variants(before, case), _variants(after, case)
    for variant in list(before_v) + [v for v in after_v if v not in before_v]:
        b, a = before_v.get(variant), after_v.get(variant)
        if b is None or a is None or b.get("status") != "ok" or a.get("status") != "ok":
            status = Status.MISSING if (b is None or a is None) else Status.ERROR
            statuses.append(status)
            per_variant.append((variant, [ObservableDiff("*", status, note="no values on one side")]))
            continue
        diffs = diff.compare_observables(b["observables"], a["observables"], tol)
        statuses.append(diff.overall(diffs))
        per_variant.append((variant, diffs))
    return worst(statuses), per_variant


def explain(before: dict, after: dict, case: str, per_variant, status: Status) -> tuple[str, Divergence | None, str]:
    """The sentence fragment for the worst variant: its biggest diff and first divergence."""
    candidates = [(v, d) for v, diffs in per_variant for d in diffs if d.status == status]
    if not candidates:
        return "", None, ""
    variant, biggest = max(candidates, key=lambda vd: (vd[1].max_rel if math.isfinite(vd[1].max_rel) else 1e300))
    diffs = dict(per_variant)[variant]
    obs = (_variants(after, case).get(variant) or {}).get("observables") or {}
    threshold = Status.DRIFT if status == Status.DRIFT else Status.CLOSE
    divergence = diff.first_divergence(diffs, obs, threshold)
    return f"{variant}: {biggest.describe()}", divergence, variant
