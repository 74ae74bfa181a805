"""Where two runs of one variant first part, said only from what was recorded.

The probe (harness.inenv.probe) records, for every model a case builds through the
adapter, a digest of each weighted layer's state when the model is created and
after every training step, with the loss each step reported. Comparing two such
records says, bit for bit and by construction:

- "initial": the models start from different weights (a layer's initial state differs);
- "forward": the same weights, but the loss of step k differs: the forward pass (or
  the loss) changed before that step's update;
- "update": the same loss, but the state after step k differs: the update changed,
  first in layer L, in its trainable weights or only in its other state
  (BatchNormalization's moving statistics, which no observable need show);
- "outside-training": every step identical, but the weights a later forward pass outside
  training (k.predict) runs on differ: the case changed them outside a training step;
- "after-training": every step identical; they part in what is computed afterwards;
- "no-training": no step went through the adapter; they part in what the case computed.

Without a record on both sides (golden values blessed before records existed, or a
model built outside the adapter), the location comes from the observables alone: the
first index along a time axis where they differ, never from an observable's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from harness.check.diff import ObservableDiff
from harness.core.documents.observables import Observable
from harness.core.documents.probes import ModelTrace, Output, Probe
from harness.core.status import Status


@dataclasses.dataclass(frozen=True)
class Divergence:
    """Where two runs first part. ``stage``: none, initial, forward, update, after-training,
    no-training, models (a different number of models) or observables (no record)."""

    stage: str
    observable: str | None = None
    where: dict | None = None
    text: str = ""

    def describe(self) -> str:
        return self.text or "the runs do not part"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _where(where: Mapping | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in (where or {}).items())


def _first_in_observables(diffs: list[ObservableDiff], observables: Mapping[str, Observable],
                          threshold: Status) -> tuple[ObservableDiff | None, str]:
    """The differing observable whose first difference comes earliest along a time axis
    (observables without one come after those with one, in the case's order)."""
    parting = [d for d in diffs if d.status.rank >= threshold.rank and d.status != Status.MISSING]
    if not parting:
        return None, ""
    best = None
    for order, d in enumerate(parting):
        obs = observables.get(d.observable)
        axis = obs.time_axis if obs is not None else None
        index = (d.first or {}).get(axis) if axis else None
        key = (0, index, order) if isinstance(index, int) else (1, 0, order)
        if best is None or key < best[0]:
            best = (key, d)
    assert best is not None
    first = best[1]
    others = [d.observable for d in parting if d is not first]
    also = f" (also {', '.join(others[:4])}{' …' if len(others) > 4 else ''})" if others else ""
    return first, also


def locate(diffs: list[ObservableDiff], before: Probe | None, after: Probe | None,
           observables: Mapping[str, Observable], threshold: Status = Status.CLOSE,
           variants: bool = False) -> Divergence:
    """Where two runs part: from their probe records when both have one, else from the
    observables' ``diffs`` (``threshold``: CLOSE for any bit, DRIFT for beyond tolerance).
    ``variants``: the runs are two variants of one case in one environment (an invariant),
    whose architectures may differ by design, not two environments' runs of one variant."""
    first, also = _first_in_observables(diffs, observables, threshold)
    in_observables = (f"{first.observable}" + (f" at {_where(first.first)}" if first and first.first else "")
                      if first else "a value that is missing on one side")
    differ = any(d.status.rank >= threshold.rank for d in diffs)
    if before is not None and after is not None and before.models and after.models:
        if len(before.models) != len(after.models):
            return Divergence("models", None, None, f"they build {len(before.models)} and {len(after.models)} "
                              "models through the adapter: the case itself runs differently")
        for i, (a, b) in enumerate(zip(before.models, after.models)):
            found = _compare_models(i, a, b, len(before.models) > 1, variants)
            if found is not None:
                return found
        if not differ:
            return Divergence("none", text="the runs do not part")
        steps = sum(len(m.steps) for m in after.models)
        if steps == 0:
            return Divergence("no-training", first.observable if first else None, first.first if first else None,
                              f"the case trains nothing through the adapter; they part in {in_observables}{also}")
        return Divergence("after-training", first.observable if first else None, first.first if first else None,
                          f"every one of the {steps} training steps is the same bit for bit (weights, moving "
                          f"statistics and losses); they part only in what is computed afterwards: "
                          f"{in_observables}{also}")
    if not differ:
        return Divergence("none", text="the runs do not part")
    if before is not None and after is not None and not before.models and not after.models:
        return Divergence("no-training", first.observable if first else None, first.first if first else None,
                          f"the case builds no model through the adapter; they part in {in_observables}{also}")
    return Divergence("observables", first.observable if first else None, first.first if first else None,
                      f"they part first in {in_observables}{also} (no record of the training path on both sides "
                      "to say more)")


def _compare_models(index: int, a: ModelTrace, b: ModelTrace, several: bool,
                    variants: bool = False) -> Divergence | None:
    """The first recorded moment where two models differ: the state training starts
    from, then per step the forward passes outside training made before it (k.predict),
    the loss it reports, and the state after it."""
    model = f" of model {index}" if several else ""
    if len(a.initial) != len(b.initial) or a.shapes != b.shapes:
        subject = f"model {index} has" if several else "the models have"
        why = ("the two variants build other architectures" if variants else
               "an architecture default changed")
        return Divergence("initial", None, {"model": index}, f"{subject} {_other_layout(a, b)}: {why}")
    for layer, (was, now) in enumerate(zip(a.starting_state, b.starting_state)):
        if was != now:
            label = b.layers[layer] if layer < len(b.layers) else f"layer {layer}"
            part = "weights" if was.trainable != now.trainable else "non-trainable state"
            return Divergence("initial", None, {"model": index, "layer": label},
                              f"they part before training: the {part} of {label}{model} that training starts "
                              "from differ")
    trained = len(a.steps) == len(b.steps) > 0
    for step in range(max(len(a.steps), len(b.steps)) + 1):
        seen_a = [o for o in a.outputs if o.steps == step]
        seen_b = [o for o in b.outputs if o.steps == step]
        # After the last step, a probe that did not record the weights at k.predict (an older
        # runner's) cannot vouch for them: the case may have set them since. That is "after
        # training", told by the observables.
        unrecorded = any(o.state is None for o in seen_a + seen_b)
        if [o.digest for o in seen_a] != [o.digest for o in seen_b] and \
                not (unrecorded and trained and step == len(a.steps)):
            return _forward_outside_training(index, step, seen_a, seen_b, b.layers, model)
        if step >= len(a.steps) or step >= len(b.steps):
            break
        x, y = a.steps[step], b.steps[step]
        if x.loss != y.loss and not (x.loss != x.loss and y.loss != y.loss):
            when = "the first training step, before any update" if step == 0 else \
                f"step {step}, from weights that are the same bit for bit"
            return Divergence("forward", None, {"model": index, "step": step},
                              f"they start from the same weights and part in the forward pass of {when}{model}: "
                              f"the loss it reports differs ({x.loss!r} vs {y.loss!r})")
        for layer, (p, q) in enumerate(zip(x.layers, y.layers)):
            if p != q:
                label = b.layers[layer] if layer < len(b.layers) else f"layer {layer}"
                what = ("its trainable weights" if p.trainable != q.trainable else
                        "only its non-trainable state (BatchNormalization's moving statistics or the like), "
                        "its trainable weights being the same")
                return Divergence("update", None, {"model": index, "step": step, "layer": label},
                                  f"the forward pass of step {step}{model} is the same (same loss), but its "
                                  f"update differs, first in {label}: {what}")
    if len(a.steps) != len(b.steps):
        return Divergence("forward", None, {"model": index, "step": min(len(a.steps), len(b.steps))},
                          f"they train {len(a.steps)} and {len(b.steps)} steps{model}")
    return None


def _other_layout(a: ModelTrace, b: ModelTrace) -> str:
    """What differs in the weighted layers: their number, or the first layer whose weight
    shapes differ (a bias dropped by use_bias=False keeps the number of layers)."""
    if len(a.shapes) != len(b.shapes):
        return f"other weighted layers ({len(a.shapes)} vs {len(b.shapes)})"
    for layer, (x, y) in enumerate(zip(a.shapes, b.shapes)):
        if x != y:
            label = b.layers[layer] if layer < len(b.layers) else f"layer {layer}"
            return (f"other weight shapes in {label} ({', '.join(map(_shape, x)) or 'none'} vs "
                    f"{', '.join(map(_shape, y)) or 'none'})")
    return f"other weighted layers ({', '.join(a.layers)} vs {', '.join(b.layers)})"


def _shape(dims: tuple[int, ...]) -> str:
    return str(tuple(dims))  # as numpy prints shapes: (2,) and (2, 2)


def _forward_outside_training(index: int, step: int, seen_a: list[Output], seen_b: list[Output],
                              labels: tuple[str, ...], model: str) -> Divergence:
    """The first k.predict after ``step`` training steps whose outputs differ: on other
    weights (set outside training), or on the same ones (the forward pass changed)."""
    when = "before any training step" if step == 0 else f"after step {step - 1}"
    for x, y in zip(seen_a, seen_b):
        if x.digest == y.digest:
            continue
        if x.state is not None and y.state is not None:
            for layer, (p, q) in enumerate(zip(x.state, y.state)):
                if p != q:
                    label = labels[layer] if layer < len(labels) else f"layer {layer}"
                    return Divergence("outside-training", None, {"model": index, "step": step, "layer": label},
                                      f"every training step agrees, but {when} the weights of {label}{model} "
                                      "differ before a forward pass outside training (k.predict): they were "
                                      "changed outside a training step")
            return Divergence("forward", None, {"model": index, "step": step},
                              f"from the same weights, the forward pass outside training (k.predict) {when} "
                              f"gives other outputs{model}")
        break
    return Divergence("forward", None, {"model": index, "step": step},
                      f"the forward pass outside training (k.predict) {when} gives other outputs{model} (the "
                      "weights it ran on were not recorded: they agree at the last training step)")


def first_divergence(diffs: list[ObservableDiff], observables: Mapping[str, Observable],
                     threshold: Status = Status.CLOSE) -> Divergence:
    """Where two runs part when no probe record is at hand: from the observables alone."""
    return locate(diffs, None, None, observables, threshold)
