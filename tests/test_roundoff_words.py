"""The round-off clause where the members leave a value exactly where it was (harness.check.roundoff)."""

from harness.check.roundoff import ObservableRoundOff, RoundOff


def test_a_difference_where_the_members_do_not_move_the_value_is_said_without_inf():
    row = ObservableRoundOff("loss", explained=False, ratio=float("inf"), worst={"step": 3}, chaotic_from=None,
                             rows=10, time_axis="step")
    text = RoundOff(explained=False, observables=(row,), members=3).describe()
    assert text == "loss at step 3 differs where 3 perturbed run(s) leave it unmoved, bit for bit"
    finite = RoundOff(explained=False, observables=(ObservableRoundOff(
        "loss", False, 40.0, {"step": 3}, None, 10, "step"),), members=3).describe()
    assert finite.startswith("loss at step 3 differs 40 times as much as 3 perturbed run(s) explain")
