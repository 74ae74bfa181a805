"""golden/<env>.json: blessed values, one GoldenCase per case, each with the
fingerprint of the machine it was blessed on.

    Golden -> GoldenCase -> GoldenVariant -> Observable, Probe, Evidence

A schema 1 file (one fingerprint for the whole file) is upgraded when read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from harness.core import reader
from harness.core.documents.evidence import Evidence
from harness.core.documents.observables import Observable, observables_from_json, observables_to_json
from harness.core.documents.probes import Probe
from harness.core.documents.schema import GOLDEN_KIND, GOLDEN_VERSION
from harness.core.reader import Where, field, mapping, optional


@dataclasses.dataclass(frozen=True)
class GoldenVariant:
    observables: dict[str, Observable]
    probe: Probe | None = None  # the training path of the blessed run (blessed before records: None)
    # What the blessed run's evidence phase measured around it (round-off and stream envelopes,
    # runs from other environments' initial weights): a later run on the same machine that
    # reproduces these values bit for bit would measure the same, and takes it from here.
    evidence: Evidence | None = None

    @property
    def ok(self) -> bool:
        return True

    @classmethod
    def from_json(cls, where: Where, data: Any) -> GoldenVariant:
        data = mapping(where, data, ("status", "observables", "probe", "evidence"))
        if data.get("status", "ok") != "ok":
            raise where.at("status").expected("'ok' (golden values come from runs that worked)", data.get("status"))
        return cls(field(where, data, "observables", observables_from_json),
                   field(where, data, "probe", optional(Probe.from_json), default=None),
                   field(where, data, "evidence", optional(Evidence.from_json), default=None))

    def to_json(self) -> dict:
        out: dict[str, Any] = {"observables": observables_to_json(self.observables)}
        if self.probe is not None:
            out["probe"] = self.probe.to_json()
        if self.evidence is not None:
            out["evidence"] = self.evidence.to_json()
        return out


@dataclasses.dataclass(frozen=True)
class GoldenCase:
    """One case's golden values and where they were blessed: each case keeps its own
    fingerprint, so blessing one case never rewrites another's "since blessing" facts."""

    variants: dict[str, GoldenVariant]
    source_sha256: str | None = None
    blessed_from: str | None = None  # the results' "created" stamp
    harness: str | None = None
    fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    runner_sha256: str | None = None  # the in-environment runner that measured it (and its evidence)

    @classmethod
    def from_json(cls, where: Where, data: Any) -> GoldenCase:
        data = mapping(where, data, ("variants", "source_sha256", "blessed_from", "harness", "fingerprint",
                                     "versions", "runner_sha256"))
        text = optional(reader.string)
        return cls(field(where, data, "variants", reader.dictof(GoldenVariant.from_json)),
                   field(where, data, "source_sha256", text, default=None),
                   field(where, data, "blessed_from", text, default=None),
                   field(where, data, "harness", text, default=None),
                   dict(field(where, data, "fingerprint", optional(mapping), default=None) or {}),
                   field(where, data, "versions", optional(reader.dictof(reader.string)), default=None) or {},
                   field(where, data, "runner_sha256", text, default=None))

    def to_json(self) -> dict:
        out = {"source_sha256": self.source_sha256, "blessed_from": self.blessed_from, "harness": self.harness,
               "fingerprint": self.fingerprint, "versions": self.versions,
               "variants": {name: v.to_json() for name, v in self.variants.items()}}
        if self.runner_sha256 is not None:
            out["runner_sha256"] = self.runner_sha256
        return out


@dataclasses.dataclass(frozen=True)
class Golden:
    """golden/<env>.json: blessed values, one GoldenCase per case."""

    env: str
    cases: dict[str, GoldenCase]
    upgraded_from: int | None = None  # the schema version read, when older than this one

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Golden:
        data = mapping(where, data)
        version = data.get("version")
        if version == 1:
            data = _golden_v1_to_v2(where, data)
        mapping(where, data, ("schema", "version", "env", "cases"))
        env = data.get("env")
        env_id = env.get("id") if isinstance(env, dict) else env
        return cls(reader.string(where.at("env"), env_id),
                   field(where, data, "cases", reader.dictof(GoldenCase.from_json)),
                   upgraded_from=version if version != GOLDEN_VERSION else None)

    def to_json(self) -> dict:
        return {"schema": GOLDEN_KIND, "version": GOLDEN_VERSION, "env": self.env,
                "cases": {name: c.to_json() for name, c in sorted(self.cases.items())}}


def _golden_v1_to_v2(where: Where, data: Mapping[str, Any]) -> dict:
    """Schema 1 kept one fingerprint for the whole file; schema 2 keeps one per case.
    Each case inherits the file's (they were blessed together)."""
    mapping(where, data, ("schema", "version", "env", "harness", "blessed_from", "fingerprint", "versions", "cases"))
    cases = mapping(where.at("cases"), data.get("cases"))
    shared = {"blessed_from": data.get("blessed_from"), "harness": data.get("harness"),
              "fingerprint": data.get("fingerprint") or {}, "versions": data.get("versions") or {}}
    upgraded = {}
    for name, case in cases.items():
        case = mapping(where.at("cases").at(name), case)
        upgraded[name] = {**shared, **{k: v for k, v in case.items() if k in ("source_sha256", "variants")}}
    return {"schema": data.get("schema"), "version": GOLDEN_VERSION, "env": data.get("env"), "cases": upgraded}
