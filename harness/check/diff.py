"""Pure comparison of observables: bitwise, within tolerance, and where they part.

Nothing here reads files or knows about environments; every function takes two
observables (as the worker wrote them) and returns a frozen diff.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from harness.check import tolerances
from harness.core.documents.declarations import ToleranceOverride
from harness.core.documents.observables import Kind, Observable
from harness.core.status import Status, worst


@dataclasses.dataclass(frozen=True)
class ObservableDiff:
    observable: str
    status: Status
    n_total: int = 0
    n_differ: int = 0  # bitwise
    n_beyond: int = 0  # beyond tolerance
    max_abs: float = 0.0
    max_rel: float = 0.0
    max_ulps: int | None = None
    first: dict | None = None  # where the first difference is, by axis
    note: str = ""
    variant: str | None = None  # the variant it belongs to, where a case has several

    def describe(self) -> str:
        if self.status == Status.IDENTICAL:
            return f"{self.observable}: identical"
        if self.note and not self.n_total:
            return f"{self.observable}: {self.note}"
        where = ", ".join(f"{k} {v}" for k, v in (self.first or {}).items())
        ulps = f", {self.max_ulps} ULP" if self.max_ulps is not None else ""
        return (
            f"{self.observable}: {self.n_differ}/{self.n_total} values differ"
            f"{f' ({self.n_beyond} beyond tolerance)' if self.n_beyond else ''}, "
            f"max |Δ| {self.max_abs:.3g}, max rel {self.max_rel:.3g}{ulps}"
            f"{f'; first at {where}' if where else ''}{f'; {self.note}' if self.note else ''}"
        )

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        for key in ("max_abs", "max_rel"):
            data[key] = _json_float(data[key])
        return data


def _json_float(value: float):
    return value if math.isfinite(value) else repr(value)


def _ulps(a: np.ndarray, b: np.ndarray, dtype: str) -> int | None:
    if dtype not in ("float32", "float64") or a.size == 0:
        return None
    ftype, itype = (np.float32, np.int32) if dtype == "float32" else (np.float64, np.int64)
    if dtype == "float32" and not (np.array_equal(a.astype(np.float32), a) and np.array_equal(b.astype(np.float32), b)):
        return None  # not float32 values after all: an ULP count would mislead
    ia = a.astype(ftype).view(itype).astype(np.int64)
    ib = b.astype(ftype).view(itype).astype(np.int64)
    # Map the sign-magnitude bit patterns onto a monotonic integer line.
    top = np.int64(np.iinfo(itype).min)
    ia = np.where(ia < 0, top - ia, ia)
    ib = np.where(ib < 0, top - ib, ib)
    return int(np.max(np.abs(ia - ib)))


def _locate(index: int, obs: Observable) -> dict:
    shape = obs.shape or (len(obs.values),)
    axes = obs.axes or tuple(f"dim{i}" for i in range(len(shape)))
    where: dict = {}
    for axis, i in zip(axes, np.unravel_index(index, shape)):
        where[axis] = int(i)
    if obs.labels and axes and axes[-1] in where and where[axes[-1]] < len(obs.labels):
        where[axes[-1]] = obs.labels[where[axes[-1]]]
    return where


def compare_observable(name: str, expected: Observable | None, obtained: Observable | None,
                       tol: tolerances.Tolerance, bitwise: bool = False) -> ObservableDiff:
    """One observable against its expected value.

    Values are equal when bit for bit equal (NaN equals NaN); within tolerance when
    |obtained - expected| <= atol + rtol * |expected|, as numpy.isclose. A digest or a
    text only says whether it changed. Returns the counts, the largest absolute,
    relative and ULP differences (ULPs in the observable's dtype) and where the first
    difference beyond tolerance (else the first of all) sits, by axis."""
    if expected is None or obtained is None:
        side = "expected" if expected is None else "obtained"
        return ObservableDiff(name, Status.MISSING, note=f"no {side} value")
    if not expected.kind.numeric or not obtained.kind.numeric:
        if expected.kind != obtained.kind:
            return ObservableDiff(name, Status.DRIFT, note=f"kind changed from {expected.kind.value} to "
                                  f"{obtained.kind.value}")
        if expected.value == obtained.value:
            return ObservableDiff(name, Status.IDENTICAL)
        if expected.kind == Kind.TEXT:
            return ObservableDiff(name, Status.DRIFT, note=f"{expected.value!r} became {obtained.value!r}")
        # A digest says *that* bits differ, not how much: the numeric observables do.
        return ObservableDiff(name, Status.DRIFT if bitwise else Status.CLOSE, note="digest differs")
    if tuple(expected.shape) != tuple(obtained.shape):
        return ObservableDiff(
            name, Status.DRIFT, note=f"shape changed from {list(expected.shape)} to {list(obtained.shape)}"
        )
    e = np.asarray(expected.values, dtype=np.float64)
    o = np.asarray(obtained.values, dtype=np.float64)
    both_nan = np.isnan(e) & np.isnan(o)
    same = (e == o) | both_nan
    n_differ = int(np.count_nonzero(~same))
    if n_differ == 0:
        return ObservableDiff(name, Status.IDENTICAL, n_total=int(e.size))
    finite = np.isfinite(e) & np.isfinite(o)
    with np.errstate(invalid="ignore", over="ignore"):
        abs_diff = np.where(finite, np.abs(o - e), 0.0)
    within = same | (finite & (abs_diff <= tol.atol + tol.rtol * np.abs(e)))
    beyond = ~within if not bitwise else ~same
    n_beyond = int(np.count_nonzero(beyond))
    rel = np.where(finite & (e != 0), abs_diff / np.where(e == 0, 1.0, np.abs(e)), 0.0)
    differ_idx = np.flatnonzero(beyond if n_beyond else ~same)
    nonfinite = int(np.count_nonzero(~finite & ~same))
    note = f"{nonfinite} value(s) became or stopped being NaN/inf" if nonfinite else ""
    return ObservableDiff(
        name,
        Status.DRIFT if n_beyond else Status.CLOSE,
        n_total=int(e.size),
        n_differ=n_differ,
        n_beyond=n_beyond,
        max_abs=float(abs_diff.max()) if nonfinite == 0 else math.inf,
        max_rel=float(rel.max()) if nonfinite == 0 else math.inf,
        # Over the finite values that differ: a change to or from NaN has no ULP count.
        max_ulps=_ulps(e[finite & ~same], o[finite & ~same], obtained.dtype),
        first=_locate(int(differ_idx[0]), obtained),
        note=note,
    )


def compare_observables(expected: Mapping[str, Observable], obtained: Mapping[str, Observable],
                        overrides: Mapping[str, ToleranceOverride] | None = None,
                        names: list[str] | tuple[str, ...] | None = None,
                        bitwise: bool = False) -> list[ObservableDiff]:
    """Every observable of one variant (or ``names``), in the expected side's order."""
    if names is None:
        names = list(expected) + [n for n in obtained if n not in expected]
    diffs = []
    for name in names:
        exp, obt = expected.get(name), obtained.get(name)
        present = exp or obt
        kind = present.kind.value if present is not None else "array"
        tol = tolerances.for_observable(name, kind, overrides)
        diffs.append(compare_observable(name, exp, obt, tol, bitwise=bitwise))
    return diffs


def overall(diffs: list[ObservableDiff]) -> Status:
    """The worst status of ``diffs`` (IDENTICAL when there are none)."""
    return worst(d.status for d in diffs)
