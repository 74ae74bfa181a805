"""Proof that tfrepro catches what it exists to catch, and says why (issues 4, 13 and 14).

Historic regressions are re-created in a modern environment (TF 2.21 with Keras
3.13). Golden values are blessed from clean test cases (tests/fault_cases/
regressions/clean, with their initial weights); then injected twins of the same
names run (regressions/injected): they patch the adapter from outside, through
tests/fault_cases/injections.py, so the product code has no switch for any of this.
Each must get the right verdict, the right cause and a true sentence of where the
runs part:

(a) TF 1.x graph mode's op seeds (graph seed + number of ops so far): a no-op layer
    shifts every later initializer. Golden drift, the identity invariant broken,
    both parting before training; a random stream (from the golden run's initial
    weights the injected twin trains bit for bit like it).
(b) a layer that consumes one random draw when constructed: the same, and only in
    the variant that has the layer.
(c) BatchNormalization with another epsilon: drift, a real change, first in the
    forward pass of step 0 from the same weights.
(d) one trained weight moved by one ULP after training: close, round-off.
(e) one initial weight moved by one ULP: round-off, though the starting weights differ.
"""

from __future__ import annotations

import pytest

from tests.fault_cases import drive

pytestmark = pytest.mark.envs

ENV = drive.KERAS3
CASES = ("reg_bn_epsilon", "reg_draw", "reg_one_ulp", "reg_op_seed", "reg_ulp_initial")
IDENTITY = "invariant:identity activation changes nothing"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Clean twins run and blessed; injected twins run against those golden values (which
    gives them their round-off members and their runs from the golden initial weights);
    both compared. Returns the results, the summaries and compare's output."""
    root = tmp_path_factory.mktemp("regressions")
    out: dict = {"clean": drive.run_env(ENV, [drive.case_dir("regressions/clean")], root / "clean",
                                        case_timeout=300)}  # no golden yet: every variant runs twice
    blessed = drive.bless(root / "clean", root / "golden", ENV)
    assert blessed.returncode == 0, blessed.stdout + blessed.stderr
    out["injected"] = drive.run_env(ENV, [drive.case_dir("regressions/injected")], root / "injected",
                                    golden=root / "golden", case_timeout=300)
    for name in ("clean", "injected"):
        proc = drive.compare(root / name, root / "golden", root / f"{name}-report")
        out[f"{name}-compare"] = proc
        out[f"{name}-summary"] = drive.load(root / f"{name}-report" / "summary.json")
    out["golden"] = drive.load(root / "golden" / f"{ENV}.json")
    return out


def observables(doc, case: str, variant: str) -> dict:
    return {k: o.to_json() for k, o in doc.cases[case].variants[variant].observables.items()}


def golden_observables(golden: dict, case: str, variant: str) -> dict:
    return golden["cases"][case]["variants"][variant]["observables"]


def test_clean_twins_pass_bit_for_bit_and_keep_their_invariants(runs):
    assert runs["clean-compare"].returncode == 0, runs["clean-compare"].stdout[-3000:]
    summary = runs["clean-summary"]
    for case in CASES:
        assert drive.verdict(summary, ENV, case, "golden")["status"] == "identical"
        assert drive.verdict(summary, ENV, case, "determinism")["outcome"] == "pass"
    for case in ("reg_op_seed", "reg_draw"):
        assert drive.verdict(summary, ENV, case, IDENTITY)["outcome"] == "pass"
    assert all(case.ok for case in runs["injected"].cases.values())


def test_injected_run_fails_as_a_regression(runs):
    proc = runs["injected-compare"]
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "verdict: FAIL: regression" in proc.stdout


def test_a_op_seed_from_the_number_of_layers_built_is_a_random_stream(runs):
    summary = runs["injected-summary"]
    golden = drive.verdict(summary, ENV, "reg_op_seed", "golden")
    assert (golden["status"], golden["outcome"]) == ("drift", "regression")
    assert golden["divergence"]["stage"] == "initial"
    assert golden["cause"]["kind"] == "random stream", golden["message"]
    assert "started from golden's initial weights" in golden["message"]
    invariant = drive.verdict(summary, ENV, "reg_op_seed", IDENTITY)
    assert (invariant["status"], invariant["outcome"]) == ("drift", "regression")
    assert invariant["divergence"]["stage"] == "initial"
    assert invariant["divergence"]["where"]["layer"] == "Dense#1"  # the Dense after the no-op layer
    assert "they part before training: the weights of Dense#1" in invariant["message"]


def test_b_a_layer_that_draws_once_when_constructed_is_a_random_stream(runs):
    summary = runs["injected-summary"]
    golden = drive.verdict(summary, ENV, "reg_draw", "golden")
    assert (golden["status"], golden["outcome"], golden["variant"]) == ("drift", "regression", "identity")
    assert golden["divergence"]["stage"] == "initial" and golden["cause"]["kind"] == "random stream"
    # Only the variant with the layer moved: the other is its golden self, bit for bit.
    assert observables(runs["injected"], "reg_draw", "plain") == golden_observables(runs["golden"], "reg_draw",
                                                                                     "plain")
    invariant = drive.verdict(summary, ENV, "reg_draw", IDENTITY)
    assert invariant["outcome"] == "regression" and invariant["divergence"]["stage"] == "initial"


def test_c_batchnorm_with_another_epsilon_is_a_real_change_at_step_0(runs):
    golden = drive.verdict(runs["injected-summary"], ENV, "reg_bn_epsilon", "golden")
    assert (golden["status"], golden["outcome"], golden["variant"]) == ("drift", "regression", "bn")
    assert golden["cause"]["kind"] == "real change", golden["message"]
    assert golden["divergence"]["stage"] == "forward" and golden["divergence"]["where"]["step"] == 0
    assert "from the same starting weights, beyond round-off" in golden["message"]
    assert "the forward pass of the first training step, before any update" in golden["message"]
    # Same initial weights: the change is in what BN computes, not in how it starts.
    assert observables(runs["injected"], "reg_bn_epsilon", "bn")["initial_weight_sums"] == \
        golden_observables(runs["golden"], "reg_bn_epsilon", "bn")["initial_weight_sums"]


def test_d_one_ulp_in_one_trained_weight_is_round_off(runs):
    golden = drive.verdict(runs["injected-summary"], ENV, "reg_one_ulp", "golden")
    assert (golden["status"], golden["outcome"]) == ("close", "pass")
    assert golden["cause"]["kind"] == "round-off", golden["message"]
    diffs = {d["observable"]: d for d in golden["diffs"]}
    kernel = diffs["final_kernel"]
    assert (kernel["n_differ"], kernel["n_beyond"], kernel["max_ulps"]) == (1, 0, 1)
    assert kernel["first"] == {"input": 0, "unit": 0} and kernel["variant"] == "plain"
    assert diffs["final_weights_digest"]["note"] == "digest differs"
    assert "loss" not in diffs and "initial_weight_sums" not in diffs  # training itself did not change
    # Training agreed step for step; the weight was set afterwards, and the forward pass outside
    # training that follows runs on it: the sentence says so, naming the layer.
    assert "every training step agrees, but after step" in golden["message"], golden["message"]
    assert "they were changed outside a training step" in golden["message"]


def test_e_one_ulp_in_one_initial_weight_is_round_off(runs):
    golden = drive.verdict(runs["injected-summary"], ENV, "reg_ulp_initial", "golden")
    assert golden["outcome"] == "pass" and golden["cause"]["kind"] == "round-off", golden["message"]
    assert "the starting weights differ in their last bits" in golden["message"]
