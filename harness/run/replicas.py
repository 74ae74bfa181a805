"""The determinism check as a second worker beside the first, and what the pair says.

Running every variant twice in one process costs a second training run on the same
core. The second run goes to its own process instead, started with the first and
run on the other core: the environment takes the time of one run. It walks the
cases and their variants in reverse order, so each variant follows a different
predecessor than in the first process: state that leaks from one run into the next
(a global counter, a seed not reset) shows up as a difference, as does everything
the in-process repeat caught (thread races, unseeded randomness). A variant that
ran in both is nondeterministic where any observable differs bit for bit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from harness.core.documents.observables import Observable, RunError
from harness.core.documents.results import CaseResult, Determinism, Results, RunStatus, VariantResult

SECOND_RUN = "the determinism run (the second process)"


def differing(first: Mapping[str, Observable], second: Mapping[str, Observable]) -> list[str]:
    """Observables whose values are not bitwise equal between two runs (NaN equals NaN)."""
    return [name for name in sorted(set(first) | set(second)) if not same_bits(first.get(name), second.get(name))]


def same_bits(a: Observable | None, b: Observable | None) -> bool:
    """Whether two observables are bit for bit the same: kind, shape, text value and every
    value (NaN equals NaN); None equals only None."""
    if a is None or b is None:
        return a is b
    if (a.kind, a.shape, a.value) != (b.kind, b.shape, b.value) or len(a.values) != len(b.values):
        return False
    return all(x == y or (x != x and y != y) for x, y in zip(a.values, b.values))


def merge(first: Results, second: Results, repeat: int, only: set[tuple[str, str | None]] | None = None) -> Results:
    """The first process's results, with the second's verdict on each variant it ran.

    ``repeat`` is the runs per variant in all; the second process made ``repeat - 1``.
    ``only``: the (case, variant) pairs the second process was asked to run, (case, None)
    for every variant of a case (None: everything). Cases and variants it was not asked
    to run keep the first's determinism as it is."""

    def asked(case: str, variant: str | None = None) -> bool:
        return only is None or (case, None) in only or (variant is not None and (case, variant) in only) or (
            variant is None and any(c == case for c, _ in only))

    determinism = dict(first.determinism, runs={"per_variant": repeat, "processes": 2,
                                                "second_process_order": "reversed"})
    timing = _timing(first.timing, second.timing)
    if not first.ok:
        return dataclasses.replace(first, determinism=determinism, timing=timing)
    if not second.ok:
        failed = RunError("HarnessError", f"{SECOND_RUN} could not start: {second.reason or 'no reason given'}")
        cases = {name: _fail(entry, failed) if asked(name) else entry for name, entry in first.cases.items()}
        return dataclasses.replace(first, cases=cases, determinism=determinism, timing=timing)
    cases = {}
    for name, entry in first.cases.items():
        other = second.cases.get(name)
        if not asked(name) or other is None or entry.status == RunStatus.ERROR:
            cases[name] = entry
        elif other.status == RunStatus.ERROR:
            why = other.error.message if other.error else "it did not reach this case"
            cases[name] = _fail(entry, RunError(other.error.type if other.error else "HarnessError",
                                                f"{SECOND_RUN} failed: {why}",
                                                other.error.traceback if other.error else ()))
        else:
            cases[name] = dataclasses.replace(entry, variants={
                variant: judge(result, other.variants.get(variant)) if asked(name, variant) else result
                for variant, result in entry.variants.items()})
    return dataclasses.replace(first, cases=cases, determinism=determinism, timing=timing)


def judge(result: VariantResult, again: VariantResult | None) -> VariantResult:
    """``result`` with the determinism verdict of a second run ``again`` (None: not repeated)."""
    if not result.ok or again is None:
        return result
    if not again.ok:
        error = again.error or RunError("HarnessError", "it did not run")
        return dataclasses.replace(result, status=RunStatus.ERROR, error=dataclasses.replace(
            error, message=f"{SECOND_RUN} of this variant failed: {error.message}"))
    nondeterministic = sorted(set(result.nondeterministic) | set(again.nondeterministic)
                              | set(differing(result.observables, again.observables)))
    return dataclasses.replace(result, nondeterministic=tuple(nondeterministic),
                               repeats=result.repeats + 1 + again.repeats, repeat_seconds=again.seconds,
                               determinism=Determinism.REPEATED)


def _fail(entry: CaseResult, error: RunError) -> CaseResult:
    if entry.status == RunStatus.ERROR:
        return entry
    return dataclasses.replace(entry, status=RunStatus.ERROR, error=error)


def _timing(first: dict, second: dict) -> dict:
    """The first process's timing; the second's case times are the repeats, and its
    whole timing is kept beside them (the benchmark tells concurrent from serial)."""
    timing = dict(first)
    timing["repeats"] = dict(second.get("cases", {}))
    timing["repeats_beside"] = True
    timing["second_process"] = second
    timing["first_process_total"] = first.get("total", 0.0)
    timing["total"] = max(first.get("total", 0.0), second.get("total", 0.0))
    return timing
