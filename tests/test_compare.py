"""Table-driven tests of the pure comparison functions."""

import math

import numpy as np
import pytest

from harness.check import diff
from harness.check.divergence import first_divergence
from harness.check.tolerances import Tolerance
from harness.core.documents.observables import Observable
from harness.core.reader import Where
from harness.core.status import Status

TOL = Tolerance(rtol=1e-4, atol=1e-6)


def typed(data):
    """An observable as the worker writes it, read as the comparison step reads it."""
    return None if data is None else Observable.from_json(Where("test"), data)


def compare_observable(name, expected, obtained, tol, bitwise=False):
    return diff.compare_observable(name, typed(expected), typed(obtained), tol, bitwise=bitwise)


def compare_observables(expected, obtained):
    return diff.compare_observables({k: typed(v) for k, v in expected.items()},
                                    {k: typed(v) for k, v in obtained.items()})


def series(values, dtype="float64", axis="epoch"):
    return {"kind": "series", "dtype": dtype, "shape": [len(values)], "axes": [axis], "values": list(values)}


def f32_next(x):
    return float(np.nextafter(np.float32(x), np.float32(np.inf)))


@pytest.mark.parametrize(
    "expected, obtained, status",
    [
        ([1.0, 2.0], [1.0, 2.0], Status.IDENTICAL),
        ([1.0, 2.0], [1.0, 2.0 + 1e-7], Status.CLOSE),
        ([1.0, 2.0], [1.0, 2.1], Status.DRIFT),
        ([math.nan, 1.0], [math.nan, 1.0], Status.IDENTICAL),  # NaN equals NaN
        ([1.0, 1.0], [math.nan, 1.0], Status.DRIFT),  # NaN where golden was finite
        ([math.nan], [1.0], Status.DRIFT),
        ([math.inf], [math.inf], Status.IDENTICAL),
        ([math.inf], [-math.inf], Status.DRIFT),
        ([0.0], [1e-7], Status.CLOSE),  # atol covers values near zero
    ],
)
def test_status_table(expected, obtained, status):
    assert compare_observable("x", series(expected), series(obtained), TOL).status == status


def test_sizes_are_reported():
    d = compare_observable("loss", series([1.0, 2.0, 4.0]), series([1.0, 2.5, 4.0]), TOL)
    assert d.status == Status.DRIFT
    assert (d.n_differ, d.n_beyond, d.n_total) == (1, 1, 3)
    assert d.max_abs == pytest.approx(0.5)
    assert d.max_rel == pytest.approx(0.25)
    assert d.first == {"epoch": 1}
    assert "1/3 values differ" in d.describe()


def test_one_float32_ulp_is_one_ulp():
    x = 0.123456789
    e = float(np.float32(x))
    d = compare_observable("w", series([e], "float32"), series([f32_next(e)], "float32"), TOL)
    assert d.status == Status.CLOSE and d.max_ulps == 1


def test_bitwise_mode_turns_close_into_drift():
    d = compare_observable("p", series([1.0]), series([1.0 + 1e-9]), TOL, bitwise=True)
    assert d.status == Status.DRIFT


def test_shape_change_is_drift():
    d = compare_observable("x", series([1.0]), series([1.0, 2.0]), TOL)
    assert d.status == Status.DRIFT and "shape changed" in d.note


def test_digest_difference_is_close_not_drift():
    a, b = {"kind": "digest", "value": "sha256:a"}, {"kind": "digest", "value": "sha256:b"}
    assert compare_observable("d", a, a, TOL).status == Status.IDENTICAL
    assert compare_observable("d", a, b, TOL).status == Status.CLOSE


def test_missing_side():
    assert compare_observable("x", None, series([1.0]), TOL).status == Status.MISSING


def test_table_location_uses_labels():
    table = {"kind": "table", "dtype": "float64", "shape": [3, 2], "axes": ["step", "layer"],
             "labels": ["Dense#0", "Dense#1"], "values": [0, 0, 0, 0, 0, 0]}
    moved = dict(table, values=[0, 0, 0, 5, 0, 0])
    d = compare_observable("trajectory", table, moved, TOL)
    assert d.first == {"step": 1, "layer": "Dense#1"}


def test_first_divergence_without_records_comes_from_the_data_not_the_names():
    traj = {"kind": "table", "dtype": "float64", "shape": [3, 1], "axes": ["step", "layer"],
            "labels": ["Dense#0"], "values": [0.0, 0.0, 0.0]}
    base = {"initial_weight_sums": series([1.0], axis="layer"), "trajectory": traj,
            "predictions": series([1.0], axis="sample")}
    typed_base = {k: typed(v) for k, v in base.items()}
    # An observable named initial_* says nothing by its name: only where values first differ counts.
    moved = dict(base, initial_weight_sums=series([2.0], axis="layer"))
    div = first_divergence(compare_observables(base, moved), typed_base, Status.DRIFT)
    assert div.stage == "observables" and div.observable == "initial_weight_sums"
    assert "initial weights" not in div.describe()
    # Along a time axis, the first index where they differ.
    moved = dict(base, trajectory=dict(traj, values=[0.0, 0.0, 1.0]))
    div = first_divergence(compare_observables(base, moved), typed_base, Status.DRIFT)
    assert (div.stage, div.where) == ("observables", {"step": 2, "layer": "Dense#0"})
    assert "they part first in trajectory at step 2, layer Dense#0" in div.describe()
    # Several: the one with the earliest time index comes first, the others are named.
    both = dict(moved, predictions=series([3.0], axis="sample"))
    div = first_divergence(compare_observables(base, both), typed_base, Status.DRIFT)
    assert div.observable == "trajectory" and "(also predictions)" in div.describe()
    assert first_divergence(compare_observables(base, base), {}).stage == "none"
