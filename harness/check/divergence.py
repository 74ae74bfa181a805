"""Where two runs of one case first part: before training, during training, or at the end."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from harness.check.diff import ObservableDiff
from harness.core.documents import Observable
from harness.core.status import Status


@dataclasses.dataclass(frozen=True)
class Divergence:
    """Where two runs first part: before training, at a training step, or at the end."""

    stage: str  # "initial", "training", "final" or "none"
    observable: str | None = None
    where: dict | None = None

    def describe(self) -> str:
        if self.stage == "none":
            return "the runs do not part"
        where = ", ".join(f"{k} {v}" for k, v in (self.where or {}).items())
        if self.stage == "initial":
            return (f"they part before training, in {self.observable}: the initial weights differ "
                    "(an initializer or random-stream change)")
        if self.stage == "training":
            return f"they part during training, first in {self.observable} at {where}"
        return (f"they part only in the final values ({self.observable}): "
                "the training path matches, evaluation numerics differ")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def first_divergence(diffs: list[ObservableDiff], observables: Mapping[str, Observable],
                     threshold: Status = Status.CLOSE) -> Divergence:
    """The earliest stage at which ``diffs`` reach ``threshold`` (CLOSE: any bit;
    DRIFT: beyond tolerance). Observables named initial* come before training;
    those with a "step" or "epoch" axis locate the training step; the rest are final."""
    parting = [d for d in diffs if d.status.rank >= threshold.rank]
    if not parting:
        return Divergence("none")
    initial = [d for d in parting if d.observable.startswith("initial")]
    if initial:
        return Divergence("initial", initial[0].observable, initial[0].first)
    best = None
    for d in parting:
        obs = observables.get(d.observable)
        axes = obs.axes if obs is not None else ()
        if d.first and axes and axes[0] in ("step", "epoch"):
            key = (0 if axes[0] == "step" else 1, d.first.get(axes[0], 0))
            if best is None or key < best[0]:
                best = (key, d)
    if best is not None:
        return Divergence("training", best[1].observable, best[1].first)
    return Divergence("final", parting[0].observable, parting[0].first)
