"""The statuses a comparison ends in, and the outcomes a verdict has."""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """How two sets of numbers compare (ordered from best to worst)."""

    IDENTICAL = "identical"  # bit for bit
    CLOSE = "close"  # bits differ, within tolerance
    DRIFT = "drift"  # beyond tolerance
    MISSING = "missing"  # one side has nothing to compare
    ERROR = "error"  # one side failed to produce it
    NONDETERMINISTIC = "nondeterministic"  # two runs in one environment differ
    UNAVAILABLE = "unavailable"  # the environment could not be built or started

    @property
    def rank(self) -> int:
        return list(Status).index(self)

    @property
    def agrees(self) -> bool:
        return self in (Status.IDENTICAL, Status.CLOSE)


def worst(statuses) -> Status:
    statuses = list(statuses)
    return max(statuses, key=lambda s: s.rank) if statuses else Status.IDENTICAL


class Outcome(str, enum.Enum):
    """What a verdict means for the run."""

    PASS = "pass"
    REGRESSION = "regression"  # golden drift or a broken invariant
    MISSING = "missing"  # no golden value yet: bless it
    NONDETERMINISTIC = "nondeterministic"
    ERROR = "error"  # infrastructure: environment unavailable, a case crashed
    KNOWN = "known"  # a listed known failure, still failing
    FIXED = "fixed"  # a listed known failure that now passes
    STALE = "stale"  # a known-failure entry that matches nothing
    INFO = "info"  # cross-version drift, claims, orphans: information


# Exit codes, most severe first: the run exits with the first that applies.
EXIT_CODES: tuple[tuple[Outcome, int], ...] = (
    (Outcome.REGRESSION, 1),
    (Outcome.MISSING, 5),
    (Outcome.NONDETERMINISTIC, 3),
    (Outcome.ERROR, 4),
)
EXIT_USAGE = 2
EXIT_INFRASTRUCTURE = 4  # Outcome.ERROR's code, also for a run that could not happen or be written
