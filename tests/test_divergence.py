"""Where two runs part, by construction from the probes' records (harness.check.divergence)."""

from harness.check.divergence import locate
from harness.core.documents.probes import Probe
from harness.core.reader import Where
from harness.core.status import Status
from tests import fakes


def probe(loss, initial=(0.5, -0.25), **changes):
    data = fakes.probe(list(loss), initial)
    data["models"][0].update(changes)
    return Probe.from_json(Where("test"), data)


def where(before, after):
    return locate([], before, after, {}, Status.CLOSE)


def test_other_starting_weights_part_before_training():
    div = where(probe([1.0, 0.5]), probe([1.0, 0.5], initial=(0.5, -0.3)))
    assert div.stage == "initial" and div.where == {"model": 0, "layer": "Dense#1"}
    assert "they part before training: the weights of Dense#1" in div.describe()


def test_a_loss_that_differs_from_the_same_weights_is_the_forward_pass():
    div = where(probe([1.0, 0.5]), probe([1.0, 0.6]))
    assert (div.stage, div.where) == ("forward", {"model": 0, "step": 1})
    assert div.describe().startswith("they start from the same weights and part in the forward pass of step 1")
    first = where(probe([1.0, 0.5]), probe([1.1, 0.5]))
    assert "the forward pass of the first training step, before any update" in first.describe()


def test_the_same_loss_and_another_state_is_the_update_and_names_non_trainable_state():
    a, b = fakes.probe([1.0, 0.5]), fakes.probe([1.0, 0.5])
    b["models"][0]["steps"][0]["layers"][1] = [a["models"][0]["steps"][0]["layers"][1][0], "moving-stats"]
    div = where(Probe.from_json(Where("a"), a), Probe.from_json(Where("b"), b))
    assert (div.stage, div.where) == ("update", {"model": 0, "step": 0, "layer": "Dense#1"})
    assert "only its non-trainable state (BatchNormalization's moving statistics" in div.describe()


def test_identical_training_parts_after_training_or_in_a_case_without_training():
    loss = series = fakes.series([1.0, 2.0], axis="epoch")
    before = {"x": loss}
    after = {"x": dict(series, values=[1.0, 3.0])}
    from tests.test_compare import compare_observables, typed
    diffs = compare_observables(before, after)
    div = locate(diffs, probe([1.0, 0.5]), probe([1.0, 0.5]), {"x": typed(after["x"])}, Status.CLOSE)
    assert div.stage == "after-training" and "every one of the 2 training steps is the same bit for bit" in div.text
    assert "they part only in what is computed afterwards: x at epoch 1" in div.text
    still = locate(diffs, probe([]), probe([]), {"x": typed(after["x"])}, Status.CLOSE)
    assert still.stage == "no-training" and "the case trains nothing through the adapter" in still.text


def test_a_forward_pass_outside_training_shows_before_any_step():
    div = where(probe([1.0], outputs=[[0, "p1"]]), probe([1.0], outputs=[[0, "p2"]]))
    assert (div.stage, div.where) == ("forward", {"model": 0, "step": 0})
    assert "the forward pass outside training (k.predict) before any training step gives other outputs" in div.text


def test_a_forward_pass_on_weights_changed_outside_training_names_the_layer():
    """The injected twin reg_one_ulp: training agrees step for step, then a weight is set."""
    a = fakes.probe([1.0, 0.5])
    state = a["models"][0]["steps"][-1]["layers"]
    moved = [state[0], ["other-kernel", state[1][1]]]
    div = where(probe([1.0, 0.5], outputs=[[2, "p1", state]]), probe([1.0, 0.5], outputs=[[2, "p2", moved]]))
    assert (div.stage, div.where) == ("outside-training", {"model": 0, "step": 2, "layer": "Dense#1"})
    assert "every training step agrees, but after step 1 the weights of Dense#1 differ" in div.text
    same = where(probe([1.0, 0.5], outputs=[[2, "p1", state]]), probe([1.0, 0.5], outputs=[[2, "p2", state]]))
    assert same.stage == "forward" and same.text.startswith("from the same weights, the forward pass outside")


def test_a_forward_pass_after_the_last_step_is_after_training():
    # The probe records no state between the last step and a later k.predict: the weights may
    # have been set since, so other outputs there are not "from the same weights".
    from tests.test_compare import compare_observables, typed

    before, after = fakes.series([0.5, 0.25], axis="sample"), fakes.series([0.5, 0.75], axis="sample")
    diffs = compare_observables({"predictions": before}, {"predictions": after})
    div = locate(diffs, probe([1.0], outputs=[[1, "p1"]]), probe([1.0], outputs=[[1, "p2"]]),
                 {"predictions": typed(after)}, Status.CLOSE)
    assert div.stage == "after-training" and "every one of the 1 training steps is the same bit for bit" in div.text
    assert "they part only in what is computed afterwards: predictions at sample 1" in div.text


def test_other_weight_shapes_with_as_many_layers_name_the_layer_and_both_shapes():
    # use_bias=False drops a bias and keeps the number of layers: "6 vs 6 layers" said nothing.
    div = where(probe([1.0]), probe([1.0], shapes=[[[2, 2]], [[2, 2], [2]]]))
    assert div.stage == "initial"
    assert "other weight shapes in Dense#1 ((2, 2) vs (2, 2), (2,))" in div.describe()
    assert div.describe().endswith(": an architecture default changed")
    fewer = where(probe([1.0]), probe([1.0], layers=["Dense#0"], shapes=[[[2, 2]]]))
    assert "other weighted layers (2 vs 1)" in fewer.describe()
    # Two variants of one case (an invariant) may differ in architecture by design.
    variants = locate([], probe([1.0]), probe([1.0], shapes=[[[2, 2]], [[2, 2], [2]]]), {}, Status.CLOSE,
                      variants=True)
    assert variants.describe() == ("the models have other weight shapes in Dense#1 ((2, 2) vs (2, 2), (2,)): "
                                   "the two variants build other architectures")
