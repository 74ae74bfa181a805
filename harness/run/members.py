"""Round-off members asked for lazily: one first, the rest only where one does not settle it.

An envelope is the largest |member - run| over its members, value by value
(harness.inenv.evidence), so adding members can only widen it; harness.check.roundoff
judges a difference explained when it stays within a multiple of the envelope, so a
difference that one member explains stays explained with every further member. Where
one member explains the difference as round-off, the verdict is therefore the one that
all the members would give, and the rest are not run; anywhere else they run, numbered
from 2 (their perturbation seeds), and widen() makes of the two envelopes the one that
``--envelope N`` members at once would have made, bit for bit.

This is what keeps the check cheap on a machine other than the blessing one (issue 13,
point 7): there most differences are round-off, and one member settles each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from harness.check.causes import Cause, classify_variant
from harness.core.documents.declarations import ToleranceOverride
from harness.core.documents.evidence import Envelope
from harness.core.documents.golden import GoldenVariant
from harness.core.documents.results import VariantResult

FIRST = 1  # members run with the first run; the rest on demand


def first_members(wanted: int) -> int:
    """How many of ``wanted`` members run at once: one (none when none is wanted)."""
    return min(wanted, FIRST)


def needs_more(before: VariantResult | GoldenVariant, after: VariantResult, envelope: Envelope | None,
               wanted: int, before_name: str, overrides: Mapping[str, ToleranceOverride] | None = None) -> bool:
    """Whether the variant ``after`` needs members beyond those of ``envelope`` (measured
    around it) for its difference from ``before`` to be judged as ``wanted`` members would.
    ``before_name``: what ``before`` is ("golden", or its environment), the key of a run
    of ``after`` from its initial weights.

    False when it has them all, when it builds no model (a member has nothing to perturb:
    its envelope is zero whatever their number), or when the envelope already explains the
    difference as round-off (harness.check.causes.classify_variant)."""
    if envelope is None or envelope.members >= wanted:
        return False
    if after.probe is None or not after.probe.models:
        return False
    cause = classify_variant("", before, after, before_name, "this run", envelope, overrides).cause
    return cause != Cause.ROUND_OFF


def more_task(case: str, runs: dict[str, VariantResult], wanted: int) -> dict:
    """The worker task that runs members 2..``wanted`` of each variant in ``runs`` (variant
    name -> the run the members are measured around), as harness.inenv.worker reads it."""
    return {"case": case, "mode": "envelope", "members": wanted - FIRST, "first_member": FIRST + 1,
            "variants": list(runs), "reference": {name: reference(v) for name, v in runs.items()}}


def reference(run: VariantResult) -> dict:
    """A run's observables as the worker measures an envelope around them."""
    return {name: obs.to_json() for name, obs in run.observables.items()}


def widen(first: Envelope, more: Envelope) -> Envelope:
    """One envelope from two sets of members around the same run: the larger value at
    every place (infinity stays infinity), members and seconds added. Raises ValueError
    when the two do not have the same observables and lengths (not around the same run)."""
    if set(first.values) != set(more.values) or any(len(first.values[n]) != len(more.values[n]) for n in first.values):
        raise ValueError("the two envelopes are not around the same run: their observables differ")
    values = {name: [max(a, b) for a, b in zip(first.values[name], more.values[name])] for name in first.values}
    return dataclasses.replace(first, members=first.members + more.members, values=values,
                               seconds=first.seconds + more.seconds)
