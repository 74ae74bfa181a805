"""What one run of a variant gives: its observables (numbers with a shape and named
axes, a digest, or a text), or the error that stopped it.

The worker's observe.* helpers (harness.inenv.observe) build the JSON side; this is
the host's typed, validated reading of it, shared by results, golden values and the
runs gathered as evidence.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any

from harness.core import reader
from harness.core.reader import Where, field, mapping, optional

MAX_VALUES = 1_000_000  # per observable: about 20 MB of JSON; a larger one is an error in the case
TIME_AXES = ("step", "epoch", "snapshot", "iteration", "batch")  # axes along which training advances


class Kind(str, enum.Enum):
    SCALAR = "scalar"
    SERIES = "series"
    TABLE = "table"
    ARRAY = "array"
    DIGEST = "digest"
    TEXT = "text"

    @property
    def numeric(self) -> bool:
        return self not in (Kind.DIGEST, Kind.TEXT)



def _kind(where: Where, value: Any) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise where.expected(" or ".join(repr(k.value) for k in Kind), value) from None


@dataclasses.dataclass(frozen=True)
class Observable:
    """One named output of a case: numbers with a shape and named axes, a digest, or a text.

    ``values`` are float64 numbers flattened row-major (NaN and infinities kept);
    ``dtype`` is the precision they were computed in (ULP counts use it); ``axes``
    name the dimensions ("step", "layer") and ``labels`` the entries of the last one."""

    kind: Kind
    values: list[float] = dataclasses.field(default_factory=list)
    shape: tuple[int, ...] = ()
    axes: tuple[str, ...] = ()
    dtype: str = "float64"
    labels: tuple[str, ...] | None = None
    value: str | None = None  # digest or text

    @property
    def time_axis(self) -> str | None:
        """The axis along which training advances (its first), if it has one."""
        return self.axes[0] if self.axes and self.axes[0] in TIME_AXES else None

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Observable:
        data = mapping(where, data)
        kind = field(where, data, "kind", _kind)
        if not kind.numeric:
            mapping(where, data, ("kind", "value"))
            return cls(kind, value=field(where, data, "value", reader.string))
        mapping(where, data, ("kind", "dtype", "shape", "axes", "labels", "values"))
        values = field(where, data, "values", lambda w, v: reader.numbers(w, v, MAX_VALUES))
        shape = field(where, data, "shape", reader.tupleof(reader.integer), default=(len(values),))
        axes = field(where, data, "axes", reader.tupleof(reader.string), default=tuple(f"dim{i}" for i in range(len(shape))))
        labels = field(where, data, "labels", optional(reader.tupleof(reader.string)), default=None)
        if any(n < 0 for n in shape) or math.prod(shape) != len(values):
            raise where.at("shape").error(f"shape {list(shape)} does not hold {len(values)} values")
        if len(axes) != len(shape):
            raise where.at("axes").error(f"{len(axes)} axis names for {len(shape)} dimensions")
        if labels is not None and shape and len(labels) != shape[-1]:
            raise where.at("labels").error(f"{len(labels)} labels for a last dimension of {shape[-1]}")
        return cls(kind, values, shape, axes, field(where, data, "dtype", reader.string, default="float64"), labels)

    def to_json(self) -> dict:
        if not self.kind.numeric:
            return {"kind": self.kind.value, "value": self.value}
        out: dict[str, Any] = {"kind": self.kind.value, "dtype": self.dtype, "shape": list(self.shape),
                               "axes": list(self.axes)}
        if self.labels is not None:
            out["labels"] = list(self.labels)
        out["values"] = self.values
        return out


def observables_from_json(where: Where, data: Any) -> dict[str, Observable]:
    """{name: Observable} from a JSON object; DocumentError naming the first bad one."""
    return reader.dictof(Observable.from_json)(where, data)


def observables_to_json(observables: Mapping[str, Observable]) -> dict:
    """The JSON object of {name: Observable}, in their order."""
    return {name: obs.to_json() for name, obs in observables.items()}


@dataclasses.dataclass(frozen=True)
class RunError:
    """What went wrong in a run: the exception's type, message and last traceback lines."""

    type: str
    message: str
    traceback: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, where: Where, data: Any) -> RunError:
        data = mapping(where, data, ("type", "message", "traceback"))
        return cls(field(where, data, "type", reader.string, default="Error"),
                   field(where, data, "message", reader.string, default=""),
                   field(where, data, "traceback", reader.tupleof(reader.string), default=()))

    def to_json(self) -> dict:
        return {"type": self.type, "message": self.message, "traceback": list(self.traceback)}

