"""Round-off members asked for lazily (harness.run.members) and the repeat policy on
another machine (harness.run.policy), without an environment; the real runs are in
test_machine_change.py and test_repeat_policy.py."""

from __future__ import annotations

import os

import numpy as np
import pytest

from harness import config
from harness.core import store
from harness.core.documents.evidence import Envelope
from harness.matrix import machine
from harness.run import members, policy
from tests import fakes

LOSS = [0.5, 0.25, 0.125]


def run(loss):
    doc = fakes.typed(fakes.result("tf2.15-keras2", {"c": fakes.case({"v": fakes.variant(loss, with_probe=True)})}))
    return doc.cases["c"].variants["v"]


def around(run_, gaps: dict[str, float], count: int = 1) -> Envelope:
    """An envelope of ``count`` members, each value's gap ``gaps[observable]``."""
    return Envelope(count, "test", {name: [gaps.get(name, 0.0)] * len(o.values)
                                    for name, o in run_.observables.items() if o.kind.numeric})


def test_widen_takes_the_larger_value_everywhere_and_adds_members():
    first = Envelope(1, "p", {"a": [1.0, 0.0, float("inf")], "b": [2.0]}, seconds=1.5)
    more = Envelope(2, "p", {"a": [0.5, 3.0, 0.0], "b": [2.5]}, seconds=2.0)
    wide = members.widen(first, more)
    assert (wide.members, wide.seconds, wide.perturbation) == (3, 3.5, "p")
    assert wide.values == {"a": [1.0, 3.0, float("inf")], "b": [2.5]}
    with pytest.raises(ValueError, match="not around the same run"):
        members.widen(first, Envelope(2, "p", {"a": [0.0, 0.0, 0.0]}))


def test_more_members_only_where_one_does_not_explain_the_difference_as_round_off():
    before = run(LOSS)
    moved = np.nextafter(np.float32(LOSS[-1]), np.float32(1), dtype=np.float32)
    after = run(LOSS[:-1] + [float(moved)])  # the last loss one float32 ULP up
    gap = float(moved) - LOSS[-1]
    wide = around(after, {"loss": gap})
    assert not members.needs_more(before, after, wide, 3, "golden")  # explained: round-off, settled
    far = run(LOSS[:-1] + [0.5])  # far beyond any envelope of this size: more members are run
    assert members.needs_more(before, far, around(far, {"loss": gap}), 3, "golden")
    assert not members.needs_more(before, far, around(far, {"loss": gap}, count=3), 3, "golden")  # has them all
    assert not members.needs_more(before, far, None, 3, "golden")  # --envelope 0: nothing to widen
    doc = fakes.typed(fakes.result("tf2.15-keras2", {"c": fakes.case({"v": fakes.variant(LOSS[:-1] + [0.5])})}))
    no_model = doc.cases["c"].variants["v"]  # nothing for a member to perturb: its envelope stays zero
    assert not members.needs_more(before, no_model, around(no_model, {}), 3, "golden")
    assert members.first_members(3) == 1 and members.first_members(0) == 0


def test_another_machine_repeats_only_what_differs_from_golden():
    """The committed golden values come from another machine than any test host that
    reports its caches (their fingerprint records none): a bitwise match with them is the
    second run; a difference is repeated afterwards."""
    golden = store.read_golden(os.path.join(config.ROOT, "golden", "tf1.14-keras2.json"))
    case = sorted(golden.cases)[0]
    same, _ = machine.blessed_here(golden.cases[case].fingerprint)
    assert not same
    decided = policy.decide([case, "new_case"], golden, None)
    assert (decided[case].repeat_beside, decided[case].repeat_differing) == (False, True)
    assert "another machine" in decided[case].why and "bitwise match" in decided[case].why
    assert (decided["new_case"].repeat_beside, decided["new_case"].repeat_differing) == (True, False)
    assert not any(d.repeat_beside or d.repeat_differing for d in policy.decide([case], golden, 1).values())
    assert all(d.repeat_beside for d in policy.decide([case], golden, 2).values())


def test_a_carried_transplant_counts_only_while_its_source_starts_from_the_same_weights():
    """Evidence carried with golden values (harness.run.environment) may hold a run from
    another environment's initial weights; the evidence step makes it again once that
    environment starts elsewhere (harness.run.evidence._current)."""
    from harness.core.documents.evidence import Transplant
    from harness.core.documents.probes import Probe
    from harness.core.reader import Where
    from harness.run.evidence import _current

    source = run(LOSS)
    made = Transplant("tf2.14-keras2", dict(source.observables), Probe.from_json(Where("t"), fakes.probe(LOSS)))
    assert _current(made, source)
    doc = fakes.result("tf2.15-keras2", {"c": fakes.case({"v": fakes.variant(LOSS, initial=(0.5, -0.5),
                                                                          with_probe=True)})})
    moved = fakes.typed(doc).cases["c"].variants["v"]  # the source now starts from other weights
    assert not _current(made, moved)
    assert not _current(None, source)
