"""Does round-off alone explain a difference? A perturbation envelope, measured in the run.

The method is the port-validation test of Rosinski & Williamson (1997, "The
accumulation of rounding errors and port validation for global atmospheric
models", SIAM J. Sci. Comput. 18(2)) and the ensemble consistency test of Baker et
al. (2015, Geosci. Model Dev. 8, 2829): a run on another machine is consistent when
its difference from the original grows no faster than the difference between two
runs on one machine that differ by a perturbation the size of round-off.

Here the perturbed runs are the *members* the worker makes where a result differs
(harness.inenv.probe): every float weight of each model the case builds moved by one
unit in the last place, up or down at random (one seed per member), right after the
model is created. The *envelope* of a value is the largest |member - run| over the
members. A value's difference d is explained by round-off when

    d <= M * envelope + floor,   floor = max(F ULPs of the value, the observable's tolerance)

checked row by row: a row is one step (epoch, snapshot) of an observable with a time
axis, else the whole observable, and the envelope of a row is its largest value over
that row and the WINDOW rows before it (one member can land close to the run at one
step; a later row's envelope is never an excuse for an earlier difference). Early
rows, where the envelope is a few ULPs, are where a real change shows: it moves values
by orders of magnitude more than round-off from the first step it acts in. Late rows
of a chaotic net get a wide envelope; rows where round-off alone moves values by
CHAOTIC of their size or more are chaotic, set aside for the whole variant (any
observable on the same time axis, within WINDOW rows), and the verdict rests on what
comes before them, which it says.

Calibration (README, "Round-off"; measured on this project's cases across tf1.14,
tf2.2-2.4, tf2.8, tf2.15 and Keras 3.0, three members): the largest ratio d / envelope
among real machine differences and round-off-only releases was 10.4; the smallest
among real changes (a BN epsilon, an extra random draw, a changed op seed, a learning
rate 1 % higher, inside chaotic nets too) was 136. M = 32 sits 3x above the one and 4x
below the other; F = 4 covers every zero-envelope row seen (at most 2 ULPs). With one
member there is no safe M (one member lands close to the run by chance); three are the
default (--envelope N).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from harness.check import tolerances
from harness.core.documents.declarations import ToleranceOverride
from harness.core.documents.evidence import Envelope
from harness.core.documents.observables import Observable

M = 32.0  # how far beyond the measured envelope a difference may go
F = 4.0  # ULPs of the value always granted: the last roundings of the value itself
WINDOW = 2  # earlier rows whose envelope also counts for a row (and the reach of chaos, both ways)
CHAOTIC = 0.1  # a row is chaotic when round-off alone moves it by this share of its size


@dataclasses.dataclass(frozen=True)
class ObservableRoundOff:
    observable: str
    explained: bool
    ratio: float  # the largest d / (M * envelope + floor) over the rows (<= 1: explained)
    worst: dict | None  # where that ratio is, by axis
    chaotic_from: int | None  # the first row (along the time axis) that is chaotic
    rows: int
    time_axis: str | None
    note: str = ""

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["ratio"] = self.ratio if np.isfinite(self.ratio) else repr(self.ratio)
        return data


@dataclasses.dataclass(frozen=True)
class RoundOff:
    """The round-off judgement of one variant's differences."""

    explained: bool
    observables: tuple[ObservableRoundOff, ...]
    members: int
    runs: str = "perturbed run(s)"  # what the members were, in words

    @property
    def unexplained(self) -> list[ObservableRoundOff]:
        """The observables whose difference round-off does not explain."""
        return [o for o in self.observables if not o.explained]

    @property
    def chaotic(self) -> list[ObservableRoundOff]:
        """The observables where round-off alone grows to the size of the values (chaotic_from set)."""
        return [o for o in self.observables if o.chaotic_from is not None]

    def describe(self) -> str:
        """One clause: explained or not, by how much, and which observables are chaotic."""
        if not self.observables:
            return "no value differs"
        if self.explained:
            numeric = [o for o in self.observables if o.rows and o.note != "digest differs"] or list(self.observables)
            worst = max(numeric, key=lambda o: o.ratio)
            bound = (f"{M:g} times the envelope of {self.members} {self.runs}" if self.members else
                     f"{F:g} ULPs")
            text = (f"every value within {bound} (closest: {worst.observable} at {_where(worst.worst)}, "
                    f"{worst.ratio:.2g} of the bound)")
        else:
            first = self.unexplained[0]
            grant = (f"as much as {self.members} {self.runs} explain" if self.members else
                     f"the {F:g} ULPs round-off is granted without an envelope")
            if not np.isfinite(first.ratio) and first.note:  # no number to give: say what happened
                text = f"{first.observable}: {first.note}"
            elif not np.isfinite(first.ratio) and self.members:  # an envelope of zero there: no "inf times"
                text = (f"{first.observable} at {_where(first.worst)} differs where {self.members} {self.runs} "
                        "leave it unmoved, bit for bit")
            else:
                text = (f"{first.observable} at {_where(first.worst)} differs {first.ratio:.3g} times {grant}"
                        + (f" ({first.note})" if first.note else ""))
        chaotic = [f"{o.observable} from {o.time_axis} {o.chaotic_from}" if o.time_axis else o.observable
                   for o in self.chaotic]
        if chaotic and self.runs == "perturbed run(s)":
            text += ("; chaotic where round-off alone moves values by a tenth of their size or more, so judged on "
                     "what comes before: " + ", ".join(chaotic[:4]) + (" …" if len(chaotic) > 4 else ""))
        elif chaotic:
            text += "; another stream draws these anew: " + ", ".join(chaotic[:4]) + (" …" if len(chaotic) > 4 else "")
        return text

    def to_json(self) -> dict:
        return {"explained": self.explained, "members": self.members,
                "observables": [o.to_json() for o in self.observables]}


def _where(where: dict | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in (where or {}).items()) or "its only value"


def ulp(values: np.ndarray, dtype: str) -> np.ndarray:
    """One unit in the last place of each value, in the precision it was computed in."""
    kind = np.float32 if dtype == "float32" else np.float64
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(np.spacing(np.abs(values).astype(kind))).astype(np.float64)


def _rows(obs: Observable, values: np.ndarray) -> np.ndarray:
    """The values as rows: one per index of the time axis, else a single row."""
    if obs.time_axis and obs.shape:
        return values.reshape(obs.shape[0], -1)
    return values.reshape(1, -1)


@dataclasses.dataclass(frozen=True)
class _Rows:
    """One numeric observable laid out in rows, with what the judgement needs per row."""

    d: np.ndarray  # |expected - obtained|, rows x values
    bound_floor: np.ndarray  # the floor per value
    envelope: np.ndarray  # the largest envelope of each row
    scale: np.ndarray  # the largest |value| of each row

    @property
    def chaotic(self) -> set[int]:
        """Rows where round-off alone moves values by CHAOTIC of their size or more."""
        return {r for r in range(len(self.envelope)) if self.envelope[r] > 0 and
                self.envelope[r] >= CHAOTIC * self.scale[r]}


def _layout(name: str, expected: Observable, obtained: Observable, envelope: list[float],
            overrides: Mapping[str, ToleranceOverride] | None, use_tolerance: bool) -> _Rows:
    e = np.asarray(expected.values, dtype=np.float64)
    o = np.asarray(obtained.values, dtype=np.float64)
    env = np.asarray(envelope, dtype=np.float64)
    both_nan = np.isnan(e) & np.isnan(o)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.where(both_nan, 0.0, np.abs(o - e))
    d = np.where(np.isnan(d), np.inf, d)  # NaN on one side only
    scale = np.maximum(np.abs(e), np.abs(o))
    scale = np.where(np.isfinite(scale), scale, 0.0)
    floor = F * ulp(scale, obtained.dtype)
    if use_tolerance:  # what the case declares noise (histogram counts, shares of units) is noise here too
        tol = tolerances.for_observable(name, obtained.kind.value, overrides)
        floor = np.maximum(floor, tol.atol + tol.rtol * np.abs(np.nan_to_num(e)))
    rows_env = _rows(obtained, env)
    return _Rows(_rows(obtained, d), _rows(obtained, floor), rows_env.max(axis=1) if rows_env.size else
                 np.zeros(rows_env.shape[0]), _rows(obtained, scale).max(axis=1) if scale.size else np.zeros(1))


def _judge_rows(name: str, obtained: Observable, rows: _Rows, chaotic: set[int]) -> ObservableRoundOff:
    """Every row not set aside as chaotic: d <= M * (the envelope of this row and the WINDOW
    rows before it) + floor."""
    n = rows.d.shape[0]
    # Backward only: a later row's envelope is no excuse for an earlier difference (a look
    # ahead let a 1 % learning-rate change pass in the calibration).
    widened = np.array([rows.envelope[max(0, r - WINDOW):r + 1].max() for r in range(n)]) if n else rows.envelope
    bound = M * widened[:, None] + rows.bound_floor
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(rows.d == 0, 0.0, rows.d / bound)
    ratios = np.where(np.isnan(ratios), np.inf, ratios)
    if chaotic:
        ratios[sorted(r for r in chaotic if r < n), :] = 0.0
    flat = int(np.argmax(ratios)) if ratios.size else 0
    worst = float(ratios.ravel()[flat]) if ratios.size else 0.0
    return ObservableRoundOff(name, worst <= 1.0, worst, _locate(obtained, flat, ratios.shape),
                              min(chaotic) if chaotic else None, n, obtained.time_axis)


def judge_observable(name: str, expected: Observable, obtained: Observable, envelope: list[float] | None,
                     overrides: Mapping[str, ToleranceOverride] | None = None,
                     use_tolerance: bool = True) -> ObservableRoundOff:
    """Row by row, whether round-off explains how ``obtained`` differs from ``expected``
    (this observable's own chaotic rows set aside; judge() pools them over a variant)."""
    early = _unjudgeable(name, expected, obtained, envelope)
    if early is not None:
        return early
    assert envelope is not None
    rows = _layout(name, expected, obtained, envelope, overrides, use_tolerance)
    return _judge_rows(name, obtained, rows, rows.chaotic)


def _unjudgeable(name: str, expected: Observable, obtained: Observable,
                 envelope: list[float] | None) -> ObservableRoundOff | None:
    axis = obtained.time_axis
    if not expected.kind.numeric or not obtained.kind.numeric:
        same = expected.value == obtained.value
        # A digest only says that bits moved: the numeric observables say by how much.
        return ObservableRoundOff(name, same or expected.kind.value == "digest", 0.0 if same else 1.0, None, None,
                                  0, None, "" if same else ("a text changed" if expected.kind.value == "text"
                                                            else "digest differs"))
    if tuple(expected.shape) != tuple(obtained.shape):
        return ObservableRoundOff(name, False, np.inf, None, None, 0, axis, "its shape changed")
    if envelope is None or len(envelope) != len(obtained.values):
        return ObservableRoundOff(name, False, np.inf, None, None, 0, axis, "no envelope was measured for it")
    return None


def _locate(obs: Observable, flat: int, shape: tuple[int, ...]) -> dict:
    row, col = divmod(flat, shape[1]) if len(shape) == 2 and shape[1] else (0, 0)
    index = row * shape[1] + col if len(shape) == 2 else flat
    dims = obs.shape or (len(obs.values),)
    where: dict = {}
    if len(obs.values) == 1:
        return where
    for axis, i in zip(obs.axes or [f"dim{k}" for k in range(len(dims))], np.unravel_index(index, dims)):
        where[axis] = int(i)
    if obs.labels and obs.axes and obs.axes[-1] in where and where[obs.axes[-1]] < len(obs.labels):
        where[obs.axes[-1]] = obs.labels[where[obs.axes[-1]]]
    return where


def judge(expected: Mapping[str, Observable], obtained: Mapping[str, Observable], envelope: Envelope,
          overrides: Mapping[str, ToleranceOverride] | None = None, use_tolerance: bool = True) -> RoundOff:
    """Whether round-off explains every difference between two runs of one variant, from
    the envelope measured around ``obtained`` (or around ``expected``: the same question).

    Chaos is pooled over the variant: a row is set aside when any of its observables with
    the same time axis is chaotic within WINDOW rows of it (the cost can be chaotic a few
    steps before the weight sums that follow it); an observable without a time axis is set
    aside when it is chaotic itself."""
    judged: list[ObservableRoundOff] = []
    laid: dict[str, tuple[Observable, _Rows]] = {}
    for name, obs in obtained.items():
        before = expected.get(name)
        if before is None:
            judged.append(ObservableRoundOff(name, False, np.inf, None, None, 0, obs.time_axis,
                                              "it is new (the other run has no such value)"))
            continue
        if _identical(before, obs):
            continue
        early = _unjudgeable(name, before, obs, envelope.values.get(name))
        if early is not None:
            judged.append(early)
            continue
        laid[name] = (obs, _layout(name, before, obs, envelope.values[name], overrides, use_tolerance))
    # The chaotic rows of every observable with a time axis, whether it differs or not.
    pooled: dict[str, set[int]] = {}
    for name, obs in obtained.items():
        if obs.time_axis and obs.kind.numeric and name in envelope.values and len(envelope.values[name]) == len(obs.values):
            before = expected.get(name, obs)
            rows = laid[name][1] if name in laid else _layout(name, before, obs, envelope.values[name], overrides,
                                                               use_tolerance)
            spread = {r + k for r in rows.chaotic for k in range(-WINDOW, WINDOW + 1)}
            pooled.setdefault(obs.time_axis, set()).update(r for r in spread if r >= 0)
    for name, (obs, rows) in laid.items():
        chaotic = pooled.get(obs.time_axis, set()) if obs.time_axis else rows.chaotic
        judged.append(_judge_rows(name, obs, rows, chaotic))
    for name in expected:
        if name not in obtained:
            judged.append(ObservableRoundOff(name, False, np.inf, None, None, 0, None,
                                             "it is gone (only the other run has it)"))
    runs = "run(s) with every seed shifted" if envelope.perturbation.startswith("every seed") else "perturbed run(s)"
    return RoundOff(all(j.explained for j in judged), tuple(judged), envelope.members, runs)


def _identical(a: Observable, b: Observable) -> bool:
    if a.kind != b.kind or a.value != b.value or tuple(a.shape) != tuple(b.shape):
        return False
    return all(x == y or (x != x and y != y) for x, y in zip(a.values, b.values))
