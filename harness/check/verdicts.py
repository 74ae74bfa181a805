"""Verdicts: one per environment × case × check, each with a one-sentence explanation.

This module holds the Verdict itself and the checks made within one environment's
results: did each case run (``run``), is it repeatable (``determinism``), do its
invariants hold, what do its claims measure. Golden and cross-version verdicts are
made in harness.check.golden and harness.check.drift from the same pieces.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping

from harness.check import diff
from harness.check.diff import ObservableDiff
from harness.check.divergence import Divergence, locate
from harness.core.documents.declarations import AtMost, Claim, Ref, Same, ToleranceOverride
from harness.core.documents.golden import Golden
from harness.core.documents.observables import Observable
from harness.core.documents.results import CaseResult, Determinism, Results, VariantResult
from harness.core.status import Check, Outcome, Status, worst


@dataclasses.dataclass(frozen=True)
class Verdict:
    env: str
    case: str
    check: Check
    status: Status
    outcome: Outcome
    message: str
    name: str | None = None  # the invariant's or claim's name
    variant: str | None = None
    diffs: tuple[ObservableDiff, ...] = ()
    divergence: Divergence | None = None
    packages: tuple[str, ...] = ()  # what changed between the two sides: packages, machine
    against: str | None = None
    details: str = ""
    known: dict | None = None
    cause: dict | None = None  # harness.check.causes: the classification and its evidence

    def with_outcome(self, outcome: Outcome, known: dict | None = None, note: str = "") -> Verdict:
        """This verdict with another outcome (and known-failure entry), ``note`` appended to its message."""
        # A message that ends without a full stop gets one before the note: "… (answer 4). Known failure: …".
        sep = " " if self.message.rstrip().endswith((".", "!", "?", ":")) else ". "
        message = self.message.rstrip() + (sep + note if note else "") if self.message else note
        return dataclasses.replace(self, outcome=outcome, known=known, message=message)

    @property
    def check_id(self) -> str:
        """"golden", "invariant:<name>", "drift:previous": as summary.json, JUnit and
        known_failures.toml write it."""
        return self.check.id(self.name)

    @property
    def key(self) -> str:
        """"env::case::check_id": what identifies a verdict across runs."""
        return f"{self.env}::{self.case}::{self.check_id}"

    def to_json(self) -> dict:
        return {
            "env": self.env,
            "case": self.case,
            "check": self.check_id,
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
            "cause": self.cause,
        }


def variants_of(doc: Results | Golden, case: str) -> Mapping[str, VariantResult] | Mapping:
    """{variant: result} of ``case`` in a results or golden document; empty when it has no such case."""
    entry = doc.cases.get(case)
    return entry.variants if entry is not None else {}


def tolerances_of(entry: CaseResult | None) -> Mapping[str, ToleranceOverride]:
    """The case's declared tolerance overrides by observable; empty without a declaration."""
    return entry.declaration.tolerances if entry is not None and entry.declaration is not None else {}


# -- one environment's own checks ---------------------------------------------------
def run_verdicts(env: str, doc: Results) -> list[Verdict]:
    """``run`` (did each case and variant run) and ``determinism`` (did two runs agree)."""
    out = []
    for case, entry in doc.cases.items():
        failed = []
        if entry.error is not None and entry.status.value == "error":
            out.append(Verdict(env, case, Check.RUN, Status.ERROR, Outcome.ERROR,
                               f"{case} failed in {env}: {entry.error.message or 'unknown error'}.",
                               details="\n".join(entry.error.traceback)))
        for variant, v in entry.variants.items():
            if not v.ok:
                failed.append(variant)
                err = v.error
                out.append(Verdict(env, case, Check.RUN, Status.ERROR, Outcome.ERROR,
                                   f"{case}/{variant} raised {err.type if err else 'an error'}: "
                                   f"{(err.message if err else '')[:300]}",
                                   variant=variant, details="\n".join(err.traceback) if err else ""))
        if entry.status.value != "error" and not failed:
            out.append(Verdict(env, case, Check.RUN, Status.IDENTICAL, Outcome.PASS, f"{case} ran in {env}."))
        out += _determinism(env, case, entry)
    return out


def _determinism(env: str, case: str, entry: CaseResult) -> list[Verdict]:
    ran = {name: v for name, v in entry.variants.items() if v.ok}
    nondet = {name: v.nondeterministic for name, v in ran.items() if v.nondeterministic}
    if nondet:
        what = "; ".join(f"{name}: {', '.join(names)}" for name, names in nondet.items())
        return [Verdict(env, case, Check.DETERMINISM, Status.NONDETERMINISTIC, Outcome.NONDETERMINISTIC,
                        f"two runs of {case} in {env} differ bit for bit ({what}); "
                        "golden comparisons of these values cannot be trusted.")]
    if not entry.variants:
        return []
    how = {v.determinism for v in ran.values()}
    if how == {Determinism.REPEATED}:
        message = f"{case} is bitwise repeatable in {env}."
    elif Determinism.NOT_CHECKED in how:
        message = f"{case} ran once in {env} (--repeat 1): its repeatability was not checked."
    else:
        froms = sorted({v.golden_from or "?" for v in ran.values() if v.determinism == Determinism.MATCHES_GOLDEN})
        message = (f"{case} is deterministic in {env}: it matches its golden values bit for bit "
                   f"(from run {', '.join(froms)}), which came from two agreeing runs"
                   + ("; the other variants were repeated" if Determinism.REPEATED in how else "") + ".")
    return [Verdict(env, case, Check.DETERMINISM, Status.IDENTICAL, Outcome.PASS, message)]


def _observables(doc: Results, case: str, ref: str) -> tuple[str, Mapping[str, Observable] | None]:
    """A "variant" or "variant:observable" reference to the observables it names."""
    variant, _, name = ref.partition(":")
    v = variants_of(doc, case).get(variant)
    if v is None or not v.ok:
        return variant, None
    if not name:
        return variant, v.observables
    return variant, ({name: v.observables[name]} if name in v.observables else {})


def _misnamed(doc: Results, case: str, variant: str, observable: str | None = None,
              numeric: bool = False) -> str | None:
    """What is wrong with a declaration's reference to ``variant`` (and ``observable`` of it),
    in words naming what the case has instead; None when it names what exists, or when the
    variant did not run (its run verdict says why)."""
    ran = variants_of(doc, case)
    declaration = doc.cases[case].declaration
    declared = list(declaration.variants if declaration is not None else ())
    declared += [v for v in ran if v not in declared]
    if variant not in declared:
        return f"names the variant {variant!r}, which {case} does not have (its variants: {', '.join(declared)})"
    v = ran.get(variant)
    if v is None or not v.ok or observable is None:
        return None
    if observable not in v.observables:
        return (f"names the observable {observable!r}, which variant {variant!r} does not return "
                f"(it returns: {', '.join(v.observables) or 'nothing'})")
    if numeric and not v.observables[observable].kind.numeric:
        return f"needs numbers from {variant}:{observable}, which is a {v.observables[observable].kind.value}"
    return None


def _same_problem(doc: Results, case: str, inv: Same) -> str | None:
    if ":" in inv.a or ":" in inv.b:
        sides = [ref.partition(":") for ref in (inv.a, inv.b)]
        found = (_misnamed(doc, case, v, n or None) for v, _, n in sides)
    else:
        found = (_misnamed(doc, case, v, n) for v in (inv.a, inv.b) for n in (inv.observables or [None]))
    return next((p for p in found if p), None)


def _misnamed_verdict(env: str, case: str, check: Check, name: str, label: str, problem: str,
                      where: str) -> Verdict:
    return Verdict(env, case, check, Status.ERROR, Outcome.ERROR,
                   f"{label} {problem}: fix the name in {case}'s {where}, then run the case again.", name=name)


def invariant_verdicts(env: str, doc: Results) -> list[Verdict]:
    """One ``invariant`` verdict per declared invariant: holds, broken (a regression), or an
    error when it names a variant or observable the case does not have (or one did not run)."""
    out = []
    for case, entry in doc.cases.items():
        if entry.declaration is None:
            continue
        tol = tolerances_of(entry)
        for inv in entry.declaration.invariants:
            problem = _same_problem(doc, case, inv) if isinstance(inv, Same) else \
                _misnamed(doc, case, inv.variant, inv.observable, numeric=True)
            if problem:
                out.append(_misnamed_verdict(env, case, Check.INVARIANT, inv.name, f"invariant '{inv.name}'",
                                             problem, "INVARIANTS"))
            elif isinstance(inv, Same):
                out.append(_same_invariant(env, case, doc, inv, tol))
            elif isinstance(inv, AtMost):
                out.append(_bound_invariant(env, case, doc, inv))
    return out


def _same_invariant(env: str, case: str, doc: Results, inv: Same, tol) -> Verdict:
    va, a = _observables(doc, case, inv.a)
    vb, b = _observables(doc, case, inv.b)
    if not a or not b:
        return Verdict(env, case, Check.INVARIANT, Status.ERROR, Outcome.ERROR,
                       f"invariant '{inv.name}' cannot be checked: {inv.a if not a else inv.b} "
                       "has no values (see the run verdict).", name=inv.name)
    if ":" in inv.a:  # two different observables: compare them as one pair
        (na, oa), (_, ob) = next(iter(a.items())), next(iter(b.items()))
        diffs = diff.compare_observables({na: oa}, {na: ob}, tol, names=[na], bitwise=inv.bitwise)
        label = f"{inv.a} vs {inv.b}"
    else:
        names = inv.observables or [n for n in a if n in b]
        diffs = diff.compare_observables(a, b, tol, names=names, bitwise=inv.bitwise)
        label = f"{va} vs {vb}"
    status = diff.overall(diffs)
    if status.agrees:
        return Verdict(env, case, Check.INVARIANT, status, Outcome.PASS,
                       f"invariant '{inv.name}' holds in {env} ({status.value}).", name=inv.name,
                       diffs=tuple(diffs))
    run_a, run_b = variants_of(doc, case).get(va), variants_of(doc, case).get(vb)
    divergence = locate(diffs, run_a.probe if run_a is not None and ":" not in inv.a else None,
                        run_b.probe if run_b is not None and ":" not in inv.a else None,
                        a if ":" not in inv.a else {}, Status.CLOSE, variants=True)
    worst_diff = max((d for d in diffs if d.status == status), key=lambda d: d.max_rel)
    return Verdict(
        env, case, Check.INVARIANT, status, Outcome.REGRESSION,
        f"invariant '{inv.name}' is broken in {env}: {label} differ beyond tolerance "
        f"({worst_diff.describe()}); {divergence.describe()}. Why it must hold: {inv.why or '-'}",
        name=inv.name, diffs=tuple(diffs), divergence=divergence,
    )


def _bound_invariant(env: str, case: str, doc: Results, inv: AtMost) -> Verdict:
    v = variants_of(doc, case).get(inv.variant)
    obs = v.observables.get(inv.observable) if v is not None and v.ok else None
    if obs is None or not obs.kind.numeric:
        return Verdict(env, case, Check.INVARIANT, Status.ERROR, Outcome.ERROR,
                       f"invariant '{inv.name}' cannot be checked: no {inv.variant}:{inv.observable}.",
                       name=inv.name)
    values = obs.values
    top = max(values) if values else 0.0
    if values and all(not math.isnan(x) and x <= inv.bound for x in values):
        return Verdict(env, case, Check.INVARIANT, Status.CLOSE, Outcome.PASS,
                       f"invariant '{inv.name}' holds in {env} (max {top:.3g} <= {inv.bound:g}).", name=inv.name)
    return Verdict(env, case, Check.INVARIANT, Status.DRIFT, Outcome.REGRESSION,
                   f"invariant '{inv.name}' is broken in {env}: {inv.variant}:{inv.observable} "
                   f"reaches {top:.3g} > {inv.bound:g}. Why it must hold: {inv.why or '-'}", name=inv.name)


def _pick(doc: Results, case: str, ref: Ref | float) -> float | None:
    if not isinstance(ref, Ref):
        return float(ref)
    v = variants_of(doc, case).get(ref.variant)
    obs = v.observables.get(ref.observable) if v is not None and v.ok else None
    if obs is None or not obs.kind.numeric or not obs.values:
        return None
    values, pick = obs.values, ref.pick
    if isinstance(pick, int):
        return values[pick] if -len(values) <= pick < len(values) else None
    finite = [x for x in values if not math.isnan(x)] or [math.nan]
    return {"last": values[-1], "first": values[0], "min": min(finite), "max": max(finite),
            "mean": sum(finite) / len(finite)}[pick]


_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


def holds(claim: Claim, lhs: float, rhs: float) -> bool:
    """``lhs op rhs``; with a tolerance, values within it of each other count as equal
    (so ``==`` accepts a float32 learning rate read back as 0.0010000000474974513)."""
    if claim.tolerance and not (math.isnan(lhs) or math.isnan(rhs)) and abs(lhs - rhs) <= claim.tolerance:
        return claim.op in ("<=", ">=", "==")
    return _OPS[claim.op](lhs, rhs)


def claim_verdicts(env: str, doc: Results) -> list[Verdict]:
    """One ``claim`` verdict per declared claim: holds or not (information), cannot be measured
    (a variant did not run), or an error when it names what the case does not have."""
    out = []
    for case, entry in doc.cases.items():
        if entry.declaration is None:
            continue
        for claim in entry.declaration.claims:
            problem = next((p for side in (claim.lhs, claim.rhs) if isinstance(side, Ref)
                            for p in [_misnamed(doc, case, side.variant, side.observable, numeric=True)] if p), None)
            if problem:
                out.append(_misnamed_verdict(env, case, Check.CLAIM, claim.name, f"claim '{claim.text}'", problem,
                                             "CLAIMS"))
                continue
            lhs, rhs = _pick(doc, case, claim.lhs), _pick(doc, case, claim.rhs)
            if lhs is None or rhs is None:
                out.append(Verdict(env, case, Check.CLAIM, Status.MISSING, Outcome.INFO,
                                   f"claim '{claim.text}' cannot be measured in {env}.", name=claim.name))
                continue
            ok = holds(claim, lhs, rhs)
            within = f" within {claim.tolerance:g}" if claim.tolerance else ""
            out.append(Verdict(env, case, Check.CLAIM, Status.IDENTICAL if ok else Status.DRIFT, Outcome.INFO,
                               f"claim '{claim.text}' {'holds' if ok else 'does not hold'} in {env} "
                               f"({lhs:.4g} {claim.op} {rhs:.4g}{within} is {ok}).", name=claim.name,
                               details=f"{lhs!r} {claim.op} {rhs!r}"))
    return out


# -- two runs of the same case (golden vs result, or two environments) --------------
PerVariant = list[tuple[str, list[ObservableDiff]]]


def compare_case(before: Results | Golden, after: Results, case: str) -> tuple[Status, PerVariant]:
    """Every variant of ``case`` in ``before`` against ``after``, with ``after``'s tolerances."""
    tol = tolerances_of(after.cases.get(case))
    per_variant: PerVariant = []
    statuses = []
    before_v, after_v = variants_of(before, case), variants_of(after, case)
    for variant in list(before_v) + [v for v in after_v if v not in before_v]:
        b, a = before_v.get(variant), after_v.get(variant)
        if b is None or a is None or not b.ok or not a.ok:
            status = Status.MISSING if (b is None or a is None) else Status.ERROR
            statuses.append(status)
            side = "no values on one side" if status == Status.ERROR else \
                f"{variant} is {'new' if b is None else 'gone'}"
            per_variant.append((variant, [ObservableDiff("*", status, note=side, variant=variant)]))
            continue
        diffs = [dataclasses.replace(d, variant=variant)
                 for d in diff.compare_observables(b.observables, a.observables, tol)]
        statuses.append(diff.overall(diffs))
        per_variant.append((variant, diffs))
    return worst(statuses), per_variant


@dataclasses.dataclass(frozen=True)
class Explanation:
    """What moved in each differing variant, and where the two runs part."""

    parts: tuple[tuple[str, str, Divergence], ...]  # (variant, biggest diff described, where they part)
    worst_variant: str | None

    @property
    def divergence(self) -> Divergence | None:
        """Where the worst variant's runs first part; None when it is not known."""
        for variant, _, divergence in self.parts:
            if variant == self.worst_variant:
                return divergence
        return None

    def describe(self, limit: int = 4) -> str:
        """"tanh: <what>; <where>. tanh_bn: …" for every differing variant (up to ``limit``)."""
        shown = [f"{v}: {what}; {div.describe()}" for v, what, div in self.parts[:limit]]
        more = len(self.parts) - limit
        return ". ".join(shown) + (f". And {more} more variant(s) differ." if more > 0 else "")


def explain(before: Results | Golden, after: Results, case: str, per_variant: PerVariant,
            status: Status) -> Explanation:
    """For every variant that differs: its largest difference (in words) and where the
    two runs part (harness.check.divergence), from the probes when both sides have one."""
    before_v, after_v = variants_of(before, case), variants_of(after, case)
    parts = []
    worst_key: tuple = ()
    worst_variant = None
    for variant, diffs in per_variant:
        moved = [d for d in diffs if d.status != Status.IDENTICAL]
        if not moved:
            continue
        biggest = max(moved, key=lambda d: (d.status.rank, d.max_rel if math.isfinite(d.max_rel) else 1e300))
        b, a = before_v.get(variant), after_v.get(variant)
        observables = a.observables if a is not None and a.ok else {}
        # Where they part bit for bit: the first trace of the change, whatever its size.
        div = locate(diffs, getattr(b, "probe", None), getattr(a, "probe", None), observables, Status.CLOSE)
        parts.append((variant, biggest.describe(), div))
        key = (biggest.status.rank, biggest.max_rel if math.isfinite(biggest.max_rel) else 1e300)
        if worst_variant is None or key > worst_key:
            worst_key, worst_variant = key, variant
    return Explanation(tuple(parts), worst_variant)
