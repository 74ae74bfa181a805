"""Observables: what a case returns, in one JSON-ready shape.

Every observable is {"kind", "dtype", "shape", "axes", "labels", "values"} with
values flattened row-major, {"kind": "digest", "value"} for bitwise digests, or
{"kind": "text", "value"} for a word (an optimizer's class, a default's name).
Axes name the dimensions ("step", "layer") so a comparison can say *where* two
runs first part. NaN and infinities are kept as they are.
"""

import numpy as np

from harness.inenv.quirks import weights_digest


def _numeric(values, kind, axes, labels=None, dtype=None):
    arr = np.asarray(values)
    dtype = dtype or (arr.dtype.name if arr.dtype.kind == "f" else "float64")
    out = {
        "kind": kind,
        "dtype": dtype,
        "shape": list(arr.shape),
        "axes": list(axes),
        "values": [float(v) for v in arr.astype(np.float64).ravel()],
    }
    if labels is not None:
        out["labels"] = [str(label) for label in labels]
    return out


def scalar(value):
    """One number, as an observable of shape [1] along the axis "value"."""
    return _numeric([value], "scalar", ["value"])


def series(values, axis="epoch", dtype=None):
    """``dtype`` names the precision the values were computed in when they arrive
    as Python floats (Keras histories are float32 numbers in float64 clothes)."""
    return _numeric(values, "series", [axis], dtype=dtype)


def table(rows, axes=("step", "layer"), labels=None, dtype=None):
    """A 2-D observable; ``labels`` name the entries of the last axis."""
    return _numeric(rows, "table", axes, labels, dtype=dtype)


def array(values, axes=None):
    """An n-D observable of any array-like; ``axes`` name its dimensions (default dim0, dim1, …)."""
    arr = np.asarray(values)
    axes = axes or ["dim%d" % i for i in range(arr.ndim)]
    return _numeric(arr, "array", axes)


def digest(arrays):
    """A digest observable: the sha256 of ``arrays``' dtypes, shapes and bytes, compared for equality."""
    return {"kind": "digest", "value": weights_digest(arrays)}


def text(value):
    """A text observable: ``str(value)``, compared for equality (a class name, a
    default activation's name, a dtype). Numbers belong in scalar/series: a text
    that changes is a change, however small."""
    return {"kind": "text", "value": str(value)}
