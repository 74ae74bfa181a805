"""What the adapter saw in one run: each model's state before and after every
training step, as digests (harness.inenv.probe records them in the environment).

They locate where two runs part (harness.check.divergence) and carry a model's
initial weights into another environment (a transplant).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from harness.core import reader
from harness.core.reader import Where, field, mapping, optional


class LayerState(NamedTuple):
    """Digests of one weighted layer's arrays: trainable, and the rest (BN moving statistics).
    A named tuple, not a dataclass: a results file holds a million of them, and a tuple is
    made in half the time."""

    trainable: str
    other: str = ""

    @classmethod
    def from_json(cls, where: Where, data: Any) -> LayerState:
        if not isinstance(data, list) or len(data) != 2 or not all(isinstance(x, str) for x in data):
            raise where.expected("[trainable digest, other digest]", data)
        return cls(data[0], data[1])

    def to_json(self) -> list:
        return [self.trainable, self.other]


def _states(where: Where, data: Any) -> tuple[LayerState, ...]:
    """A list of layer states. A results file holds tens of thousands (one per layer and
    step): well-formed lists are checked in one pass, without a position for each item;
    anything else goes through the item-by-item reader, which names what is wrong where."""
    if isinstance(data, list) and all(type(x) is list and len(x) == 2 and type(x[0]) is str and type(x[1]) is str
                                      for x in data):
        return tuple(map(LayerState._make, data))
    return reader.tupleof(LayerState.from_json)(where, data)


@dataclasses.dataclass(frozen=True)
class Step:
    """One training step as the adapter saw it: the loss it reported and the state after it."""

    loss: float | None
    layers: tuple[LayerState, ...]

    @classmethod
    def from_json(cls, where: Where, data: Any) -> Step:
        if type(data) is dict and len(data) == 2 and "layers" in data and "loss" in data:  # the usual shape, fast
            loss = data["loss"]
            if loss is None or type(loss) is float:
                return cls(loss, _states(where.at("layers"), data["layers"]))
        data = mapping(where, data, ("loss", "layers"))
        return cls(field(where, data, "loss", optional(reader.number), default=None),
                   field(where, data, "layers", _states))

    def to_json(self) -> dict:
        return {"loss": self.loss, "layers": [s.to_json() for s in self.layers]}


@dataclasses.dataclass(frozen=True)
class Output:
    """One forward pass outside training (k.predict): after how many steps, the digest of
    its outputs, and the state of the model it ran on (None in runs recorded before it was)."""

    steps: int
    digest: str
    state: tuple[LayerState, ...] | None = None

    @classmethod
    def from_json(cls, where: Where, value: Any) -> Output:
        if not isinstance(value, list) or len(value) not in (2, 3):
            raise where.expected("[steps so far, digest, state]", value)
        state = _states(where.at(2), value[2]) if len(value) == 3 else None
        return cls(reader.integer(where.at(0), value[0]), reader.string(where.at(1), value[1]), state)

    def to_json(self) -> list:
        out: list = [self.steps, self.digest]
        return out + [[s.to_json() for s in self.state]] if self.state is not None else out


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
    outputs: tuple[Output, ...] = ()  # each k.predict: steps made so far, its outputs' digest, the state
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
                   field(where, data, "initial", _states),
                   field(where, data, "start", optional(_states), default=None),
                   field(where, data, "steps", reader.tupleof(Step.from_json), default=()),
                   field(where, data, "outputs", reader.tupleof(Output.from_json), default=()),
                   field(where, data, "draws", reader.tupleof(reader.string), default=()),
                   field(where, data, "state_file", optional(reader.string), default=None))

    def to_json(self) -> dict:
        return {"layers": list(self.layers), "shapes": [[list(s) for s in layer] for layer in self.shapes],
                "initial": [s.to_json() for s in self.initial],
                "start": [s.to_json() for s in self.start] if self.start is not None else None,
                "steps": [s.to_json() for s in self.steps], "outputs": [o.to_json() for o in self.outputs],
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
