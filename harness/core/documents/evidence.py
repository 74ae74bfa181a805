"""The evidence gathered where a difference needs explaining: the round-off envelope,
runs from another environment's initial weights, and the random-stream envelope
(gathered by harness.run.evidence, weighed by harness.check.causes).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.core import reader
from harness.core.documents.observables import (
    MAX_VALUES,
    Observable,
    RunError,
    observables_from_json,
    observables_to_json,
)
from harness.core.documents.probes import Probe
from harness.core.reader import Where, field, mapping, optional


@dataclasses.dataclass(frozen=True)
class Envelope:
    """How far round-off alone moves each value of this run (harness.check.roundoff):
    for every numeric observable, the largest |member - run| over ``members`` runs whose
    model state was perturbed by ``perturbation``."""

    members: int
    perturbation: str
    values: dict[str, list[float]]
    seconds: float = 0.0

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Envelope:
        data = mapping(where, data, ("members", "perturbation", "values", "seconds"))
        return cls(field(where, data, "members", reader.integer), field(where, data, "perturbation", reader.string),
                   field(where, data, "values", reader.dictof(lambda w, v: reader.numbers(w, v, MAX_VALUES))),
                   field(where, data, "seconds", reader.number, default=0.0))

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Transplant:
    """This variant run again from another environment's initial weights."""

    source: str  # the environment whose initial state was put in
    observables: dict[str, Observable]
    probe: Probe | None = None
    error: RunError | None = None
    seconds: float = 0.0

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Transplant:
        data = mapping(where, data, ("source", "observables", "probe", "error", "seconds"))
        return cls(field(where, data, "source", reader.string),
                   field(where, data, "observables", observables_from_json, default={}),
                   field(where, data, "probe", optional(Probe.from_json), default=None),
                   field(where, data, "error", optional(RunError.from_json), default=None),
                   field(where, data, "seconds", reader.number, default=0.0))

    def to_json(self) -> dict:
        return {"source": self.source, "observables": observables_to_json(self.observables),
                "probe": self.probe.to_json() if self.probe else None,
                "error": self.error.to_json() if self.error else None, "seconds": self.seconds}


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the harness measured to explain a difference: the round-off envelope, runs
    from other environments' initial weights (by environment), and the stream envelope
    (how far another random stream moves values drawn without a model)."""

    envelope: Envelope | None = None
    transplants: dict[str, Transplant] = dataclasses.field(default_factory=dict)
    stream: Envelope | None = None

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Evidence:
        data = mapping(where, data, ("envelope", "transplants", "stream"))
        return cls(field(where, data, "envelope", optional(Envelope.from_json), default=None),
                   field(where, data, "transplants", reader.dictof(Transplant.from_json), default={}),
                   field(where, data, "stream", optional(Envelope.from_json), default=None))

    def to_json(self) -> dict:
        return {"envelope": self.envelope.to_json() if self.envelope else None,
                "transplants": {k: t.to_json() for k, t in self.transplants.items()},
                "stream": self.stream.to_json() if self.stream else None}
