"""The statuses a comparison ends in, the checks that make verdicts, the outcomes a verdict has,
and the exit codes they map to."""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """How two sets of numbers compare (ordered from best to worst)."""

    IDENTICAL = "identical"  # bit for bit
    CLOSE = "close"  # bits differ, within tolerance
    ROUNDOFF = "round-off"  # bits differ on another machine, explained by round-off (harness.check.roundoff)
    DRIFT = "drift"  # beyond tolerance, or beyond what round-off explains
    MISSING = "missing"  # one side has nothing to compare
    ERROR = "error"  # one side failed to produce it
    NONDETERMINISTIC = "nondeterministic"  # two runs in one environment differ
    UNAVAILABLE = "unavailable"  # the environment could not be built or started

    @property
    def rank(self) -> int:
        """The position in the order best to worst (IDENTICAL is 0)."""
        return list(Status).index(self)

    @property
    def agrees(self) -> bool:
        """Whether the two sides count as the same: identical, close, or moved by round-off only."""
        return self in (Status.IDENTICAL, Status.CLOSE, Status.ROUNDOFF)


def worst(statuses) -> Status:
    """The worst of ``statuses`` by rank; IDENTICAL when there are none."""
    statuses = list(statuses)
    return max(statuses, key=lambda s: s.rank) if statuses else Status.IDENTICAL


class Check(str, enum.Enum):
    """What a verdict checked. Invariants and claims carry their name beside the check."""

    ENVIRONMENT = "environment"  # could the environment run at all
    RUN = "run"  # did the case raise, hang or crash
    GOLDEN = "golden"  # the results against the blessed values
    DETERMINISM = "determinism"  # two runs in one environment
    INVARIANT = "invariant"  # a relation the case declares, within one environment
    CLAIM = "claim"  # a source's statement, measured (information)
    DRIFT_PREVIOUS = "drift:previous"  # against the environment before it in its lineage
    DRIFT_MIGRATION = "drift:migration"  # across lineages, where users migrate (TF 2.15 -> 2.16)
    DRIFT_REFERENCE = "drift:reference"  # against the reference environment
    DRIFT_BETWEEN = "drift:between"  # two environments the user named (compare --between)

    @property
    def drift(self) -> bool:
        """Whether this is one of the cross-version comparisons ("drift:…")."""
        return self.value.startswith("drift:")

    @property
    def named(self) -> bool:
        """Checks of which a case has several, told apart by name."""
        return self in (Check.INVARIANT, Check.CLAIM)

    def id(self, name: str | None = None) -> str:
        """The check as written in summary.json, JUnit and known_failures.toml: "golden",
        "invariant:<name>", "drift:previous"."""
        return f"{self.value}:{name}" if self.named else self.value


def parse_check(check_id: str) -> tuple[Check, str | None]:
    """"invariant:<name>" -> (Check.INVARIANT, name); "golden" -> (Check.GOLDEN, None).
    ValueError for a check that does not exist."""
    try:
        return Check(check_id), None
    except ValueError:
        kind, _, name = check_id.partition(":")
        check = Check(kind)
        if not check.named or not name:
            raise
        return check, name


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
