"""Why two runs of a case differ: round-off, a random stream, or a real change.

Each differing variant is classified from evidence the harness gathered, never
from names:

- *round-off*: the two runs start from the same weights (their probes say so) and
  every difference stays within the round-off envelope (harness.check.roundoff);
- *random stream*: they start from different weights, and the newer environment,
  started from the older one's initial weights (a transplant: what Keras's
  maintainers advise for bypassing a changed random stream, keras-team/keras#15899),
  trains like the older one, bit for bit or within round-off;
- *real change*: it differs beyond round-off from the same starting weights (the
  probe records say where it first appears: the forward pass of step k, the update
  of step k in layer L, the non-trainable state), or the older weights do not even
  fit the newer model;
- *random stream, then unknown*: the starting weights differ, and from the same
  weights training still differs, but it draws random numbers (Dropout, shuffling)
  that a transplant cannot carry: the rest may be either, and is not guessed;
- *unknown*: the evidence is missing (results of an older run, an interpreter that
  is gone), and the sentence says which.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from harness.check import diff, roundoff
from harness.check.divergence import locate
from harness.check.verdicts import PerVariant, variants_of
from harness.core.documents.declarations import ToleranceOverride
from harness.core.documents.evidence import Envelope
from harness.core.documents.golden import Golden, GoldenVariant
from harness.core.documents.results import Results, VariantResult
from harness.core.status import Status


class Cause(str, enum.Enum):
    ROUND_OFF = "round-off"
    RANDOM_STREAM = "random stream"
    REAL_CHANGE = "real change"
    STREAM_THEN_UNKNOWN = "random stream, then unknown"
    UNKNOWN = "unknown"

    @property
    def mark(self) -> str:
        """One letter for the drift map."""
        return {"round-off": "r", "random stream": "s", "real change": "c", "random stream, then unknown": "s",
                "unknown": "?"}[self.value]


# How to get evidence that is missing: one hint, for a missing transplant and a missing stream envelope.
GATHER_HINT = "gather it: `nox -s compare -- --evidence`, which `nox -s matrix` does"
SEVERITY = (Cause.ROUND_OFF, Cause.RANDOM_STREAM, Cause.STREAM_THEN_UNKNOWN, Cause.UNKNOWN, Cause.REAL_CHANGE)


@dataclasses.dataclass(frozen=True)
class VariantCause:
    variant: str
    cause: Cause
    sentence: str
    roundoff: roundoff.RoundOff | None = None

    def to_json(self) -> dict:
        return {"variant": self.variant, "cause": self.cause.value, "sentence": self.sentence,
                "roundoff": self.roundoff.to_json() if self.roundoff else None}


@dataclasses.dataclass(frozen=True)
class CaseCause:
    """The classification of one case's differences between two runs."""

    cause: Cause  # the most severe of its variants'
    variants: tuple[VariantCause, ...]

    def describe(self) -> str:
        if len({v.cause for v in self.variants}) == 1 and len(self.variants) > 1:
            return f"{self.cause.value} in every differing variant ({', '.join(v.variant for v in self.variants)}): " \
                   + self.variants[0].sentence
        return " ".join(f"{v.variant}: {v.cause.value}: {v.sentence}." for v in self.variants)

    def to_json(self) -> dict:
        return {"kind": self.cause.value, "mark": self.cause.mark, "variants": [v.to_json() for v in self.variants]}


class Envelopes:
    """Round-off envelopes by (case, variant, starting state): runs that start from the
    same weights share one (harness.run.evidence measures one per starting state)."""

    def __init__(self, results: Mapping[str, Results]):
        self._by_start: dict[tuple[str, str, str | None], Envelope] = {}
        for doc in results.values():
            for case, entry in doc.cases.items():
                for name, v in entry.variants.items():
                    if v.ok and v.evidence is not None and v.evidence.envelope is not None:
                        self._by_start.setdefault((case, name, starting_key(v)), v.evidence.envelope)

    def find(self, case: str, variant: str, *runs: VariantResult | GoldenVariant | None) -> Envelope | None:
        """The envelope of the first of ``runs`` that has one (its own, else its group's)."""
        for run in runs:
            own = getattr(run, "evidence", None)
            if own is not None and own.envelope is not None:
                return own.envelope
        for run in runs:
            found = self._by_start.get((case, variant, starting_key(run)))
            if found is not None:
                return found
        return None


def starting_key(v: VariantResult | GoldenVariant | None) -> str | None:
    """The state a variant's training starts from, as one key (None: not recorded)."""
    probe = getattr(v, "probe", None)
    if probe is None:
        return None
    created = [m for m in probe.models if m.state_file is not None] or list(probe.models)
    if not created:
        return None
    return "|".join("/".join(f"{s.trainable}:{s.other}" for s in m.starting_state) for m in created)


def _draws(*runs: VariantResult | GoldenVariant | None) -> list[str]:
    found: list[str] = []
    for run in runs:
        for model in (getattr(run, "probe", None) or _NO_PROBE).models:
            found += [d for d in model.draws if d not in found]
    return found


@dataclasses.dataclass(frozen=True)
class _NoProbe:
    models: tuple = ()


_NO_PROBE = _NoProbe()


def classify_variant(variant: str, before: VariantResult | GoldenVariant, after: VariantResult,
                     before_name: str, after_name: str, envelope: Envelope | None,
                     overrides: Mapping[str, ToleranceOverride] | None = None) -> VariantCause:
    """The cause of the difference between two runs of one variant (see the module).

    Round-off is asked first, whatever the starting weights: a difference that the
    round-off envelope explains is round-off even where the starting weights differ in
    their last bits. Beyond round-off, other starting weights call for the transplant;
    the same ones make it a real change (or unknown, where training draws randomly)."""
    gone = sorted(set(before.observables) - set(after.observables))
    new = sorted(set(after.observables) - set(before.observables))
    if gone or new:  # not a matter of numbers: the case measures other things here
        said = ([f"{', '.join(gone)} only in {before_name}"] if gone else []) + \
            ([f"{', '.join(new)} only in {after_name}"] if new else [])
        return VariantCause(variant, Cause.REAL_CHANGE, f"the case returns other observables: {'; '.join(said)} "
                            "(a feature it measures exists on one side only)")
    start_before, start_after = starting_key(before), starting_key(after)
    recorded = start_before is not None and start_after is not None
    diffs = diff.compare_observables(before.observables, after.observables, overrides)
    where = locate(diffs, before.probe, after.probe, after.observables).describe()
    judged = roundoff.judge(before.observables, after.observables, envelope or _zero(after), overrides,
                            use_tolerance=envelope is not None)
    if judged.explained:
        start = "" if not recorded or start_before == start_after else " (the starting weights differ in their last bits)"
        return VariantCause(variant, Cause.ROUND_OFF, f"{judged.describe()}{start}; {where}", judged)
    if start_before is None and start_after is None:
        return _without_model(variant, before, after, judged, where, overrides, before_name, after_name)
    if recorded and start_before != start_after:
        return _transplanted(variant, before, after, before_name, after_name, envelope, overrides, where)
    if envelope is None:
        return VariantCause(variant, Cause.UNKNOWN, f"values differ by more than {roundoff.F:g} ULPs and no "
                            f"round-off envelope was measured for this starting state; {where}", judged)
    if not recorded:
        return VariantCause(variant, Cause.UNKNOWN, f"beyond round-off ({judged.describe()}), but the starting "
                            f"weights are not recorded on both sides, so a random stream cannot be told from a real "
                            f"change; {where}", judged)
    draws = _draws(before, after)
    if draws:
        return VariantCause(variant, Cause.UNKNOWN, f"from the same starting weights, beyond round-off "
                            f"({judged.describe()}); {where}; training draws random numbers ({', '.join(draws)}): a "
                            "change in those draws (a random stream) cannot be told from a real change", judged)
    return VariantCause(variant, Cause.REAL_CHANGE, f"from the same starting weights, beyond round-off "
                        f"({judged.describe()}); {where}", judged)


def _transplanted(variant: str, before: VariantResult | GoldenVariant, after: VariantResult, before_name: str,
                  after_name: str, envelope: Envelope | None, overrides, where: str) -> VariantCause:
    """Other starting weights, beyond round-off: what the run from ``before``'s weights says."""
    transplant = after.evidence.transplants.get(before_name) if after.evidence is not None else None
    if transplant is None:
        missing = ("the golden values left no initial weights to start from" if before_name == "golden" else
                   f"no run of {after_name} from {before_name}'s initial weights was made ({GATHER_HINT})")
        return VariantCause(variant, Cause.UNKNOWN, f"{where}; {missing}, so a random stream cannot be told from a "
                            "real change")
    if transplant.error is not None:
        if "another architecture" in transplant.error.message:
            return VariantCause(variant, Cause.REAL_CHANGE, f"{before_name}'s initial weights do not fit "
                                f"{after_name}'s model: {transplant.error.message}")
        return VariantCause(variant, Cause.UNKNOWN, f"{where}; the run from {before_name}'s initial weights "
                            f"failed ({transplant.error.type}: {transplant.error.message[:200]})")
    moved = diff.compare_observables(before.observables, transplant.observables, overrides)
    if diff.overall(moved) == Status.IDENTICAL:
        return VariantCause(variant, Cause.RANDOM_STREAM, f"{where}; started from {before_name}'s initial "
                            f"weights, {after_name} trains bit for bit like {before_name}")
    judged = roundoff.judge(before.observables, transplant.observables, envelope, overrides) \
        if envelope is not None else None
    if judged is not None and judged.explained:
        return VariantCause(variant, Cause.RANDOM_STREAM, f"{where}; started from {before_name}'s initial "
                            f"weights, {after_name} trains like {before_name} within round-off "
                            f"({judged.describe()})", judged)
    again = locate(moved, before.probe, transplant.probe, transplant.observables).describe()
    beyond = judged.describe() if judged is not None else "no round-off envelope to judge it by"
    draws = _draws(before, after)
    if draws:
        return VariantCause(variant, Cause.STREAM_THEN_UNKNOWN, f"{where}, a random-stream change; started "
                            f"from {before_name}'s initial weights, {after_name} still differs ({beyond}; "
                            f"{again}), but training draws random numbers ({', '.join(draws)}) that a transplant "
                            "cannot carry: whether that rest is a stream change or a real change is not known", judged)
    return VariantCause(variant, Cause.REAL_CHANGE, f"started from {before_name}'s initial weights, "
                        f"{after_name} still differs beyond round-off ({beyond}); {again}", judged)


def _without_model(variant: str, before: VariantResult | GoldenVariant, after: VariantResult,
                   judged: roundoff.RoundOff, where: str, overrides, before_name: str = "before",
                   after_name: str = "after") -> VariantCause:
    """Values computed without a model through the adapter (drawn from initializers,
    layers called directly): another random stream explains the difference when shifting
    every seed moves the values as far *on both sides* (the stream envelopes,
    harness.inenv.probe). One side is not enough: a value that no seed moves on one side
    (two seeded instances that agree) and every seed moves on the other has changed how
    it behaves, whichever side is called "before"."""
    streams: list[tuple[str, Envelope]] = []
    for name, run in ((after_name, after), (before_name, before)):
        evidence = getattr(run, "evidence", None)  # golden values keep none
        if evidence is not None and evidence.stream is not None:
            streams.append((name, evidence.stream))
    if not streams:
        return VariantCause(variant, Cause.UNKNOWN, f"{where}: beyond round-off ({judged.describe()}); no stream "
                            f"evidence was gathered ({GATHER_HINT})", judged)
    for name, stream in streams:
        drawn = roundoff.judge(before.observables, after.observables, stream, overrides)
        if not (drawn.explained and stream.values and any(any(v) for v in stream.values.values())):
            return VariantCause(variant, Cause.REAL_CHANGE, f"{where}: beyond round-off ({judged.describe()}) and "
                                f"beyond what another random stream does in {name} ({drawn.describe()})", drawn)
    sides = " and ".join(name for name, _ in streams)
    missing = "" if len(streams) == 2 else " (the other side has no stream evidence)"
    return VariantCause(variant, Cause.RANDOM_STREAM, f"{where}: no further than another random stream moves "
                        f"them in {sides}{missing} ({drawn.describe()})", drawn)


def _zero(run: VariantResult) -> Envelope:
    return Envelope(0, "none", {n: [0.0] * len(o.values) for n, o in run.observables.items() if o.kind.numeric})


def classify_case(before: Results | Golden, after: Results, case: str, per_variant: PerVariant,
                  before_name: str, after_name: str, envelopes: Envelopes) -> CaseCause | None:
    """The cause of every differing variant of ``case`` (None when nothing differs)."""
    entry = after.cases.get(case)
    overrides = entry.declaration.tolerances if entry is not None and entry.declaration is not None else {}
    before_v, after_v = variants_of(before, case), variants_of(after, case)
    found = []
    for variant, diffs in per_variant:
        if all(d.status == Status.IDENTICAL for d in diffs):
            continue
        b, a = before_v.get(variant), after_v.get(variant)
        if b is None or a is None or not b.ok or not a.ok:
            continue
        envelope = envelopes.find(case, variant, a, b)
        found.append(classify_variant(variant, b, a, before_name, after_name, envelope, overrides))
    if not found:
        return None
    return CaseCause(max((v.cause for v in found), key=SEVERITY.index), tuple(found))
