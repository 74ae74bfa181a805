"""What a case declares about itself: its variants and seeds, invariants between
variants, claims measured per version, and tolerance overrides.

The worker reads them from the case module (harness.inenv.cases) and sends them as
JSON; this is the host's typed reading, which every verdict about invariants and
claims starts from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from harness.core import reader
from harness.core.reader import Where, field, mapping, optional


@dataclasses.dataclass(frozen=True)
class Same:
    """Two variants (or two "variant:observable" references) must agree."""

    name: str
    a: str
    b: str
    observables: tuple[str, ...] | None = None
    bitwise: bool = False
    why: str = ""
    type: str = "same"

    @classmethod
    def from_json(cls, where: Where, data: Mapping[str, Any]) -> Same:
        mapping(where, data, ("type", "name", "a", "b", "observables", "bitwise", "why"))
        return cls(field(where, data, "name", reader.string), field(where, data, "a", reader.string),
                   field(where, data, "b", reader.string),
                   field(where, data, "observables", optional(reader.tupleof(reader.string)), default=None),
                   field(where, data, "bitwise", reader.boolean, default=False),
                   field(where, data, "why", reader.string, default=""))

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["observables"] = list(self.observables) if self.observables is not None else None
        return data


@dataclasses.dataclass(frozen=True)
class AtMost:
    """Every value of one observable of one variant must stay at or below a bound."""

    name: str
    variant: str
    observable: str
    bound: float
    why: str = ""
    type: str = "at_most"

    @classmethod
    def from_json(cls, where: Where, data: Mapping[str, Any]) -> AtMost:
        mapping(where, data, ("type", "name", "variant", "observable", "bound", "why"))
        return cls(field(where, data, "name", reader.string), field(where, data, "variant", reader.string),
                   field(where, data, "observable", reader.string), field(where, data, "bound", reader.number),
                   field(where, data, "why", reader.string, default=""))

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


Invariant = Same | AtMost


def _invariant(where: Where, data: Any) -> Invariant:
    data = mapping(where, data)
    kind = field(where, data, "type", reader.choice(("same", "at_most")))
    return Same.from_json(where, data) if kind == "same" else AtMost.from_json(where, data)


PICKS = ("last", "first", "min", "max", "mean")
OPERATORS = ("<", "<=", ">", ">=", "==", "!=")


@dataclasses.dataclass(frozen=True)
class Ref:
    """One number taken from a variant's observable: a pick ("last", "min", …) or an index."""

    variant: str
    observable: str
    pick: str | int

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Ref:
        data = mapping(where, data, ("variant", "observable", "pick"))
        pick = data.get("pick")
        if not (isinstance(pick, int) and not isinstance(pick, bool)) and pick not in PICKS:
            raise where.at("pick").expected("an index or one of " + ", ".join(PICKS), pick)
        return cls(field(where, data, "variant", reader.string), field(where, data, "observable", reader.string), pick)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _operand(where: Where, value: Any) -> Ref | float:
    return reader.number(where, value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else Ref.from_json(where, value)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A source's statement, measured per version: ``lhs op rhs``, with ``tolerance``
    for ==, != and the comparisons (|lhs - rhs| <= tolerance counts as equal)."""

    name: str
    text: str
    lhs: Ref | float
    op: str
    rhs: Ref | float
    tolerance: float = 0.0

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Claim:
        data = mapping(where, data, ("name", "text", "lhs", "op", "rhs", "tolerance"))
        return cls(field(where, data, "name", reader.string), field(where, data, "text", reader.string, default=""),
                   field(where, data, "lhs", _operand), field(where, data, "op", reader.choice(OPERATORS)),
                   field(where, data, "rhs", _operand), field(where, data, "tolerance", reader.finite, default=0.0))

    def to_json(self) -> dict:
        def side(x: Ref | float) -> dict | float:
            return x.to_json() if isinstance(x, Ref) else x

        return {"name": self.name, "text": self.text, "lhs": side(self.lhs), "op": self.op, "rhs": side(self.rhs),
                "tolerance": self.tolerance}


@dataclasses.dataclass(frozen=True)
class ToleranceOverride:
    rtol: float | None = None
    atol: float | None = None

    @classmethod
    def from_json(cls, where: Where, data: Any) -> ToleranceOverride:
        data = mapping(where, data, ("rtol", "atol"))
        return cls(field(where, data, "rtol", optional(reader.finite), default=None),
                   field(where, data, "atol", optional(reader.finite), default=None))

    def to_json(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass(frozen=True)
class Declaration:
    """What a case declares about itself, as the worker read it from the module."""

    doc: str = ""
    variants: tuple[str, ...] = ()
    seeds: dict[str, int] = dataclasses.field(default_factory=dict)
    invariants: tuple[Invariant, ...] = ()
    claims: tuple[Claim, ...] = ()
    tolerances: dict[str, ToleranceOverride] = dataclasses.field(default_factory=dict)
    timeout: float | None = None
    helpers: tuple[str, ...] = ()  # modules beside the case that it imports (they count in its digest)

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Declaration:
        data = mapping(where, data, ("doc", "variants", "seeds", "invariants", "claims", "tolerances", "timeout",
                                     "helpers"))
        return cls(field(where, data, "doc", reader.string, default=""),
                   field(where, data, "variants", reader.tupleof(reader.string), default=()),
                   field(where, data, "seeds", reader.dictof(reader.integer), default={}),
                   field(where, data, "invariants", reader.tupleof(_invariant), default=()),
                   field(where, data, "claims", reader.tupleof(Claim.from_json), default=()),
                   field(where, data, "tolerances", reader.dictof(ToleranceOverride.from_json), default={}),
                   field(where, data, "timeout", optional(reader.finite), default=None),
                   field(where, data, "helpers", reader.tupleof(reader.string), default=()))

    def to_json(self) -> dict:
        return {"doc": self.doc, "variants": list(self.variants), "seeds": dict(self.seeds),
                "invariants": [i.to_json() for i in self.invariants], "claims": [c.to_json() for c in self.claims],
                "tolerances": {k: t.to_json() for k, t in self.tolerances.items()}, "timeout": self.timeout,
                "helpers": list(self.helpers)}

