"""Proof that tfrepro catches what it exists to catch (issue 4, point 8).

Historic regressions are re-created in a modern environment (TF 2.21 with Keras
3.13). Golden values are blessed from clean test cases (tests/fault_cases/
regressions/clean); then injected twins of the same names run
(tests/fault_cases/regressions/injected): they patch the adapter from outside,
through tests/fault_cases/injections.py, so the product code has no switch for any
of this. Each regression must be flagged with the right verdict and the right
first-divergence sentence:

(a) TF 1.x graph mode's op seeds (graph seed + number of ops so far): a no-op layer
    shifts every later initializer. Golden drift and the identity invariant broken,
    both parting before training.
(b) a layer that consumes one random draw when constructed: the same, and only in
    the variant that has the layer.
(c) BatchNormalization with another epsilon: drift, parting during training.
(d) one trained weight moved by one ULP: close (bits differ, within tolerance),
    1 ULP, parting only in the final values.
"""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.fault_cases import drive

pytestmark = pytest.mark.envs

ENV = drive.KERAS3
CASES = ("reg_bn_epsilon", "reg_draw", "reg_one_ulp", "reg_op_seed")
IDENTITY = "invariant:identity activation changes nothing"
BEFORE_TRAINING = ("they part before training, in initial_weight_sums: the initial weights differ "
                   "(an initializer or random-stream change)")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Clean and injected twins run at once; golden values blessed from the clean run;
    both compared with them. Returns the results, the summaries and compare's output."""
    root = tmp_path_factory.mktemp("regressions")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        clean = pool.submit(drive.run_env, ENV, [drive.case_dir("regressions/clean")], root / "clean",
                            repeat=2, case_timeout=300)  # two runs: the clean numbers are repeatable
        injected = pool.submit(drive.run_env, ENV, [drive.case_dir("regressions/injected")], root / "injected",
                               repeat=1, case_timeout=300)
        out = {"clean": clean.result(), "injected": injected.result()}
    blessed = drive.bless(root / "clean", root / "golden", ENV)
    assert blessed.returncode == 0, blessed.stdout + blessed.stderr
    for name in ("clean", "injected"):
        proc = drive.compare(root / name, root / "golden", root / f"{name}-report")
        out[f"{name}-compare"] = proc
        out[f"{name}-summary"] = drive.load(root / f"{name}-report" / "summary.json")
    out["golden"] = drive.load(root / "golden" / f"{ENV}.json")
    return out


def observables(doc: dict, case: str, variant: str) -> dict:
    return doc["cases"][case]["variants"][variant]["observables"]


def test_clean_twins_pass_bit_for_bit_and_keep_their_invariants(runs):
    assert runs["clean-compare"].returncode == 0, runs["clean-compare"].stdout[-3000:]
    summary = runs["clean-summary"]
    for case in CASES:
        assert drive.verdict(summary, ENV, case, "golden")["status"] == "identical"
        assert drive.verdict(summary, ENV, case, "determinism")["outcome"] == "pass"
    for case in ("reg_op_seed", "reg_draw"):
        assert drive.verdict(summary, ENV, case, IDENTITY)["outcome"] == "pass"
    assert all(case["status"] == "ok" for case in runs["injected"]["cases"].values())


def test_injected_run_fails_as_a_regression(runs):
    proc = runs["injected-compare"]
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "verdict: FAIL: regression" in proc.stdout


def test_a_op_seed_from_the_number_of_layers_built(runs):
    summary = runs["injected-summary"]
    golden = drive.verdict(summary, ENV, "reg_op_seed", "golden")
    assert (golden["status"], golden["outcome"]) == ("drift", "regression")
    assert golden["divergence"]["stage"] == "initial"
    assert BEFORE_TRAINING in golden["message"]
    invariant = drive.verdict(summary, ENV, "reg_op_seed", IDENTITY)
    assert (invariant["status"], invariant["outcome"]) == ("drift", "regression")
    assert invariant["divergence"] == {"stage": "initial", "observable": "initial_weight_sums",
                                       "where": {"layer": 1}}  # the Dense after the no-op layer
    assert "is broken in tf2.21-keras3.13: plain vs identity differ beyond tolerance" in invariant["message"]
    assert BEFORE_TRAINING in invariant["message"]


def test_b_a_layer_that_draws_once_when_constructed(runs):
    summary = runs["injected-summary"]
    golden = drive.verdict(summary, ENV, "reg_draw", "golden")
    assert (golden["status"], golden["outcome"], golden["variant"]) == ("drift", "regression", "identity")
    assert golden["divergence"]["stage"] == "initial" and BEFORE_TRAINING in golden["message"]
    # Only the variant with the layer moved: the other is its golden self, bit for bit.
    assert observables(runs["injected"], "reg_draw", "plain") == observables(runs["golden"], "reg_draw", "plain")
    invariant = drive.verdict(summary, ENV, "reg_draw", IDENTITY)
    assert invariant["outcome"] == "regression"
    assert invariant["divergence"] == {"stage": "initial", "observable": "initial_weight_sums",
                                       "where": {"layer": 1}}


def test_c_batchnorm_with_another_epsilon(runs):
    golden = drive.verdict(runs["injected-summary"], ENV, "reg_bn_epsilon", "golden")
    assert (golden["status"], golden["outcome"], golden["variant"]) == ("drift", "regression", "bn")
    assert golden["divergence"] == {"stage": "training", "observable": "loss", "where": {"epoch": 0}}
    assert "they part during training, first in loss at epoch 0" in golden["message"]
    # Same initial weights: the change is in what BN computes, not in how it starts.
    assert observables(runs["injected"], "reg_bn_epsilon", "bn")["initial_weight_sums"] == \
        observables(runs["golden"], "reg_bn_epsilon", "bn")["initial_weight_sums"]
    assert "initial_weight_sums" not in {d["observable"] for d in golden["diffs"]}


def test_d_one_ulp_in_one_weight(runs):
    golden = drive.verdict(runs["injected-summary"], ENV, "reg_one_ulp", "golden")
    assert (golden["status"], golden["outcome"]) == ("close", "pass")
    assert "within tolerance, but the bits differ" in golden["message"]
    assert golden["divergence"]["stage"] == "final" and golden["divergence"]["observable"] == "final_kernel"
    assert "they part only in the final values (final_kernel)" in golden["message"]
    diffs = {d["observable"]: d for d in golden["diffs"]}
    kernel = diffs["final_kernel"]
    assert (kernel["n_differ"], kernel["n_beyond"], kernel["max_ulps"]) == (1, 0, 1)
    assert kernel["first"] == {"input": 0, "unit": 0}
    assert diffs["final_weights_digest"]["note"] == "digest differs"
    assert all(d["n_beyond"] == 0 for d in diffs.values())
    assert "loss" not in diffs and "initial_weight_sums" not in diffs  # training itself did not change
