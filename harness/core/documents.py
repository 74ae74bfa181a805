"""The typed documents every stage passes on: results, golden values, and their parts.

    results/<env>.json   Results  -> CaseResult -> VariantResult -> Observable
                                                            `-> Probe, Evidence
    golden/<env>.json    Golden   -> GoldenCase -> GoldenVariant -> Observable

Each class has ``from_json(where, data)`` (validating, raising DocumentError with
the file and the path inside it; see harness.core.reader) and ``to_json()``. What
the worker sends is parsed with the same functions, so a case returning a plain
float or a string is caught where it arrives. Schema versions follow asv's habit
(``api_version`` and upgrade functions): an older golden file is upgraded when
read; an older results file is compared as it is but run again by the next matrix;
a newer one is refused, never overwritten.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any

from harness.core import reader
from harness.core.reader import DocumentError, Where, field, mapping, optional

RESULTS_KIND = "tfrepro-results"
GOLDEN_KIND = "tfrepro-golden"
RESULTS_VERSION = 2
GOLDEN_VERSION = 2

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


class RunStatus(str, enum.Enum):
    OK = "ok"
    ERROR = "error"


class EnvStatus(str, enum.Enum):
    OK = "ok"
    UNAVAILABLE = "unavailable"


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
    return reader.dictof(Observable.from_json)(where, data)


def _observables_json(observables: Mapping[str, Observable]) -> dict:
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


# -- what the adapter saw: the model's state before and after every training step ---------------
@dataclasses.dataclass(frozen=True)
class LayerState:
    """Digests of one weighted layer's arrays: trainable, and the rest (BN moving statistics)."""

    trainable: str
    other: str = ""

    @classmethod
    def from_json(cls, where: Where, data: Any) -> LayerState:
        if not isinstance(data, list) or len(data) != 2 or not all(isinstance(x, str) for x in data):
            raise where.expected("[trainable digest, other digest]", data)
        return cls(data[0], data[1])

    def to_json(self) -> list:
        return [self.trainable, self.other]


@dataclasses.dataclass(frozen=True)
class Step:
    """One training step as the adapter saw it: the loss it reported and the state after it."""

    loss: float | None
    layers: tuple[LayerState, ...]

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Step:
        data = mapping(where, data, ("loss", "layers"))
        return cls(field(where, data, "loss", optional(reader.number), default=None),
                   field(where, data, "layers", reader.tupleof(LayerState.from_json)))

    def to_json(self) -> dict:
        return {"loss": self.loss, "layers": [s.to_json() for s in self.layers]}


def _output(where: Where, value: Any) -> tuple[int, str]:
    if not isinstance(value, list) or len(value) != 2:
        raise where.expected("[steps so far, digest]", value)
    return reader.integer(where.at(0), value[0]), reader.string(where.at(1), value[1])


@dataclasses.dataclass(frozen=True)
class ModelTrace:
    """One model built through the adapter (k.sequential, k.model), in creation order.

    ``initial`` is its state when created (or first used); ``steps`` the state after
    each training step made through the adapter; ``draws`` the random draws during
    training that a weight transplant cannot carry (Dropout, fit's shuffling)."""

    layers: tuple[str, ...]
    shapes: tuple[tuple[tuple[int, ...], ...], ...]
    initial: tuple[LayerState, ...]  # as created
    start: tuple[LayerState, ...] | None = None  # at its first training step or forward pass (None: neither)
    steps: tuple[Step, ...] = ()
    outputs: tuple[tuple[int, str], ...] = ()  # (steps made so far, digest of a k.predict's outputs)
    draws: tuple[str, ...] = ()
    state_file: str | None = None  # the weights as created (.npz), for a transplant into another environment

    @property
    def starting_state(self) -> tuple[LayerState, ...]:
        """The state training starts from (as created, for a model never trained)."""
        return self.start if self.start is not None else self.initial

    @classmethod
    def from_json(cls, where: Where, data: Any) -> ModelTrace:
        data = mapping(where, data, ("layers", "shapes", "initial", "start", "steps", "outputs", "draws",
                                     "state_file"))
        shapes = field(where, data, "shapes", reader.tupleof(reader.tupleof(reader.tupleof(reader.integer))))
        return cls(field(where, data, "layers", reader.tupleof(reader.string)), shapes,
                   field(where, data, "initial", reader.tupleof(LayerState.from_json)),
                   field(where, data, "start", optional(reader.tupleof(LayerState.from_json)), default=None),
                   field(where, data, "steps", reader.tupleof(Step.from_json), default=()),
                   field(where, data, "outputs", reader.tupleof(_output), default=()),
                   field(where, data, "draws", reader.tupleof(reader.string), default=()),
                   field(where, data, "state_file", optional(reader.string), default=None))

    def to_json(self) -> dict:
        return {"layers": list(self.layers), "shapes": [[list(s) for s in layer] for layer in self.shapes],
                "initial": [s.to_json() for s in self.initial],
                "start": [s.to_json() for s in self.start] if self.start is not None else None,
                "steps": [s.to_json() for s in self.steps], "outputs": [list(o) for o in self.outputs],
                "draws": list(self.draws), "state_file": self.state_file}


@dataclasses.dataclass(frozen=True)
class Probe:
    """Everything the adapter recorded in one run of a variant."""

    models: tuple[ModelTrace, ...] = ()
    transplanted_from: str | None = None
    perturbation: str | None = None

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Probe:
        data = mapping(where, data, ("models", "transplanted_from", "perturbation"))
        return cls(field(where, data, "models", reader.tupleof(ModelTrace.from_json), default=()),
                   field(where, data, "transplanted_from", optional(reader.string), default=None),
                   field(where, data, "perturbation", optional(reader.string), default=None))

    def to_json(self) -> dict:
        return {"models": [m.to_json() for m in self.models], "transplanted_from": self.transplanted_from,
                "perturbation": self.perturbation}


# -- evidence gathered where a difference needs explaining ---------------------------------------
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
        return {"source": self.source, "observables": _observables_json(self.observables),
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


# -- a case's declarations: invariants, claims, tolerances ----------------------------------------
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


# -- results -------------------------------------------------------------------------------------
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
            out["observables"] = _observables_json(self.observables)
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


# -- golden values ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GoldenVariant:
    observables: dict[str, Observable]
    probe: Probe | None = None  # the training path of the blessed run (blessed before records: None)

    @property
    def ok(self) -> bool:
        return True

    @classmethod
    def from_json(cls, where: Where, data: Any) -> GoldenVariant:
        data = mapping(where, data, ("status", "observables", "probe"))
        if data.get("status", "ok") != "ok":
            raise where.at("status").expected("'ok' (golden values come from runs that worked)", data.get("status"))
        return cls(field(where, data, "observables", observables_from_json),
                   field(where, data, "probe", optional(Probe.from_json), default=None))

    def to_json(self) -> dict:
        out: dict[str, Any] = {"observables": _observables_json(self.observables)}
        if self.probe is not None:
            out["probe"] = self.probe.to_json()
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

    @classmethod
    def from_json(cls, where: Where, data: Any) -> GoldenCase:
        data = mapping(where, data, ("variants", "source_sha256", "blessed_from", "harness", "fingerprint",
                                     "versions"))
        text = optional(reader.string)
        return cls(field(where, data, "variants", reader.dictof(GoldenVariant.from_json)),
                   field(where, data, "source_sha256", text, default=None),
                   field(where, data, "blessed_from", text, default=None),
                   field(where, data, "harness", text, default=None),
                   dict(field(where, data, "fingerprint", optional(mapping), default=None) or {}),
                   field(where, data, "versions", optional(reader.dictof(reader.string)), default=None) or {})

    def to_json(self) -> dict:
        return {"source_sha256": self.source_sha256, "blessed_from": self.blessed_from, "harness": self.harness,
                "fingerprint": self.fingerprint, "versions": self.versions,
                "variants": {name: v.to_json() for name, v in self.variants.items()}}


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


def check_header(where: Where, data: Any, kind: str, version: int, older: str) -> None:
    """The schema and version of a document; ``older`` says what to do with an older one."""
    if not isinstance(data, dict) or data.get("schema") != kind:
        raise where.error(f"not a {kind} document")
    found = data.get("version")
    if not isinstance(found, int) or isinstance(found, bool):
        raise where.error("no schema version")
    if found > version:
        raise where.error(f"written by a newer harness (schema {found}, this one reads {version}); "
                          "upgrade tfrepro (it is left as it is)", fix=False)
    if found < version and found != 1:  # schema 1 of either kind is upgraded when read
        raise where.error(f"schema {found} is older than {version}; {older}")


__all__ = ["DocumentError", "Where"]
