"""results/<env>.json: one environment's run, case by case and variant by variant.

    Results -> CaseResult -> VariantResult -> Observable
                                          `-> Probe, Evidence

An older results file is read as it is (``upgraded_from`` says which schema) and
compared, and the next matrix runs it again.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection
from typing import Any

from harness.core import reader
from harness.core.documents.declarations import Declaration
from harness.core.documents.evidence import Evidence
from harness.core.documents.observables import (
    Observable,
    RunError,
    observables_from_json,
    observables_to_json,
)
from harness.core.documents.probes import Probe
from harness.core.documents.schema import RESULTS_KIND, RESULTS_VERSION
from harness.core.reader import Where, field, mapping, optional


class RunStatus(str, enum.Enum):
    OK = "ok"
    ERROR = "error"


class EnvStatus(str, enum.Enum):
    OK = "ok"
    UNAVAILABLE = "unavailable"



class Determinism(str, enum.Enum):
    """How a variant's repeatability is known."""

    REPEATED = "repeated"  # a second process ran it and got the same bits
    MATCHES_GOLDEN = "matches-golden"  # bit for bit its golden values, which came from a checked run
    NOT_CHECKED = "not-checked"  # one run only (the user asked for --repeat 1)


@dataclasses.dataclass(frozen=True)
class VariantResult:
    status: RunStatus
    observables: dict[str, Observable] = dataclasses.field(default_factory=dict)
    error: RunError | None = None
    nondeterministic: tuple[str, ...] = ()  # observables that differed between two runs
    repeats: int = 0  # runs beyond the first
    seconds: float | None = None
    repeat_seconds: float | None = None  # the determinism run in the second process
    determinism: Determinism = Determinism.NOT_CHECKED
    golden_from: str | None = None  # with MATCHES_GOLDEN: the run the golden values were blessed from
    probe: Probe | None = None
    evidence: Evidence | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.OK

    @classmethod
    def from_json(cls, where: Where, data: Any) -> VariantResult:
        data = mapping(where, data, ("status", "observables", "error", "nondeterministic", "repeats", "seconds",
                                     "determinism", "golden_from", "probe", "evidence", "repeat_seconds"))
        status = RunStatus(field(where, data, "status", reader.choice(("ok", "error"))))
        observables = field(where, data, "observables", observables_from_json,
                            default=None if status == RunStatus.ERROR else ...)
        return cls(status, observables or {},
                   field(where, data, "error", optional(RunError.from_json), default=None),
                   field(where, data, "nondeterministic", reader.tupleof(reader.string), default=()),
                   field(where, data, "repeats", reader.integer, default=0),
                   field(where, data, "seconds", optional(reader.number), default=None),
                   field(where, data, "repeat_seconds", optional(reader.number), default=None),
                   Determinism(field(where, data, "determinism", reader.choice(tuple(d.value for d in Determinism)),
                                     # schema 1 repeated every variant in a second process
                                     default=(Determinism.REPEATED if data.get("repeats") else
                                              Determinism.NOT_CHECKED).value)),
                   field(where, data, "golden_from", optional(reader.string), default=None),
                   field(where, data, "probe", optional(Probe.from_json), default=None),
                   field(where, data, "evidence", optional(Evidence.from_json), default=None))

    def to_json(self) -> dict:
        out: dict[str, Any] = {"status": self.status.value}
        if self.status == RunStatus.OK:
            out["observables"] = observables_to_json(self.observables)
        out.update(error=self.error.to_json() if self.error else None, nondeterministic=list(self.nondeterministic),
                   repeats=self.repeats, seconds=self.seconds, repeat_seconds=self.repeat_seconds,
                   determinism=self.determinism.value,
                   golden_from=self.golden_from, probe=self.probe.to_json() if self.probe else None,
                   evidence=self.evidence.to_json() if self.evidence else None)
        return out


@dataclasses.dataclass(frozen=True)
class CaseResult:
    status: RunStatus
    variants: dict[str, VariantResult] = dataclasses.field(default_factory=dict)
    error: RunError | None = None
    declaration: Declaration | None = None
    source_sha256: str | None = None
    lock_sha256: str | None = None
    runner_sha256: str | None = None
    numerics_sha256: str | None = None  # the variables that change numerics, as the workers saw them
    repeat: int | None = None
    created: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.OK and all(v.ok for v in self.variants.values())

    @classmethod
    def from_json(cls, where: Where, data: Any) -> CaseResult:
        data = mapping(where, data, ("status", "variants", "error", "declaration", "source_sha256", "lock_sha256",
                                     "runner_sha256", "numerics_sha256", "repeat", "created"))
        text = optional(reader.string)
        return cls(RunStatus(field(where, data, "status", reader.choice(("ok", "error")))),
                   field(where, data, "variants", reader.dictof(VariantResult.from_json), default={}),
                   field(where, data, "error", optional(RunError.from_json), default=None),
                   field(where, data, "declaration", optional(Declaration.from_json), default=None),
                   field(where, data, "source_sha256", text, default=None),
                   field(where, data, "lock_sha256", text, default=None),
                   field(where, data, "runner_sha256", text, default=None),
                   field(where, data, "numerics_sha256", text, default=None),
                   field(where, data, "repeat", optional(reader.integer), default=None),
                   field(where, data, "created", text, default=None))

    def to_json(self) -> dict:
        return {"status": self.status.value, "error": self.error.to_json() if self.error else None,
                "source_sha256": self.source_sha256, "lock_sha256": self.lock_sha256,
                "runner_sha256": self.runner_sha256, "numerics_sha256": self.numerics_sha256, "repeat": self.repeat,
                "created": self.created,
                "declaration": self.declaration.to_json() if self.declaration else None,
                "variants": {name: v.to_json() for name, v in self.variants.items()}}


@dataclasses.dataclass(frozen=True)
class Results:
    """results/<env>.json: one environment's run."""

    env: dict[str, Any]  # the environment's definition (EnvSpec.to_json())
    status: EnvStatus
    cases: dict[str, CaseResult]
    created: str
    harness: str = ""
    reason: str | None = None
    error: RunError | None = None
    fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    determinism: dict[str, Any] = dataclasses.field(default_factory=dict)
    timing: dict[str, Any] = dataclasses.field(default_factory=dict)
    upgraded_from: int | None = None  # the schema version read, when older (compared, but re-run)

    @property
    def env_id(self) -> str:
        return str(self.env.get("id"))

    @property
    def ok(self) -> bool:
        return self.status == EnvStatus.OK

    def without_retired(self, known: Collection[str]) -> Results:
        """This document without the cases whose module is no longer among ``known`` (the
        case folders' modules) while others of it are: cases the user deleted or renamed
        (the file itself is not touched). When none of its cases is known, the folders are
        likely not the ones the run had (a forgotten --cases-dir), and every case stays."""
        gone = [c for c in self.cases if c not in known]
        if not gone or len(gone) == len(self.cases):
            return self
        return dataclasses.replace(self, cases={k: v for k, v in self.cases.items() if k not in gone})

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Results:
        data = mapping(where, data, ("schema", "version", "harness", "env", "status", "reason", "error", "created",
                                     "fingerprint", "versions", "determinism", "timing", "cases"))
        env = field(where, data, "env", mapping)
        field(where.at("env"), env, "id", reader.string)
        return cls(dict(env), EnvStatus(field(where, data, "status", reader.choice(("ok", "unavailable")))),
                   field(where, data, "cases", reader.dictof(CaseResult.from_json)),
                   field(where, data, "created", reader.string, default=""),
                   field(where, data, "harness", reader.string, default=""),
                   field(where, data, "reason", optional(reader.string), default=None),
                   field(where, data, "error", optional(RunError.from_json), default=None),
                   dict(field(where, data, "fingerprint", optional(mapping), default=None) or {}),
                   field(where, data, "versions", optional(reader.dictof(reader.string)), default=None) or {},
                   dict(field(where, data, "determinism", optional(mapping), default=None) or {}),
                   dict(field(where, data, "timing", optional(mapping), default=None) or {}),
                   upgraded_from=data["version"] if data.get("version") != RESULTS_VERSION else None)

    def to_json(self) -> dict:
        return {"schema": RESULTS_KIND, "version": RESULTS_VERSION, "harness": self.harness, "env": self.env,
                "status": self.status.value, "reason": self.reason,
                "error": self.error.to_json() if self.error else None, "created": self.created,
                "fingerprint": self.fingerprint, "versions": self.versions, "determinism": self.determinism,
                "timing": self.timing, "cases": {name: c.to_json() for name, c in self.cases.items()}}
