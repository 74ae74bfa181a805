"""The field cases give the right classification and a true sentence (issue 14, first "Done when").

The five cases in tests/field_cases/reports/ are copies of ../shared/field-cases/,
written from public "my numbers changed when I upgraded" reports; that folder's README
says what is true of each, measured across the matrix. Here they run, as a user runs
them, in the environments their README names (only the cases each environment needs,
once per variant), then `tfrepro evidence` gathers the transplants and envelopes and
`tfrepro compare` classifies every cross-version difference. Each verdict must have the
right cause and a sentence that says what is true, not the false sentences the README
lists ("they part only in the final values … the training path matches", "the initial
weights differ").

Pairs (drift:previous is each environment against the one just before it in the tf.keras
lineage, where both have results; drift:between is asked for):

- lstm_default_activation: tf1.15 → tf2.0 (real change in the forward pass, from the same
  weights), tf2.0 vs tf2.6 (--between: round-off);
- he_normal_range: tf1.14 → tf1.15 (identical), tf1.15 → tf2.0 and tf2.6 → tf2.7 (random
  stream, said from the seed-shifted stream envelope: no model is built);
- seeded_init_instances: tf2.6 → tf2.7 and tf2.9 → tf2.10;
- dropout_seed_rerun: tf2.7 → tf2.8 (unknown: training draws random numbers), tf2.9 →
  tf2.10 (random stream), and its rerun invariant in tf2.7 … tf2.10;
- optimizer_from_config: tf2.10 → tf2.11 (real change).
"""

from __future__ import annotations

import os

import pytest

from tests.fault_cases import drive

pytestmark = pytest.mark.envs

REPORTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "field_cases", "reports")
LSTM, HE, SEEDED, DROPOUT, ADAM = ("lstm_default_activation", "he_normal_range", "seeded_init_instances",
                                   "dropout_seed_rerun", "optimizer_from_config")
# Each environment runs only the cases whose pairs need it.
ENVS = {
    "tf1.14-keras2": (HE,),
    "tf1.15-keras2": (HE, LSTM),
    "tf2.0-keras2": (HE, LSTM),
    "tf2.6-keras2": (HE, LSTM, SEEDED),
    "tf2.7-keras2": (HE, SEEDED, DROPOUT),
    "tf2.8-keras2": (DROPOUT,),
    "tf2.9-keras2": (SEEDED, DROPOUT),
    "tf2.10-keras2": (SEEDED, DROPOUT, ADAM),
    "tf2.11-keras2": (ADAM,),
}
BETWEEN = ("tf2.0-keras2", "tf2.6-keras2")
PREVIOUS = "drift:previous"
# What the README names as the harness's wrong sentences: none may come back.
FALSE_SENTENCES = ("they part only in", "the training path matches", "evaluation numerics differ",
                   "initial weights differ", "they part before training")


@pytest.fixture(scope="module")
def field(tmp_path_factory) -> dict:
    """Every environment runs its cases; evidence is gathered for the pairs; compare
    classifies (no golden values: only the cross-version comparisons and the checks
    within one run say anything)."""
    root = tmp_path_factory.mktemp("field")
    results = root / "results"
    out: dict = {"runs": {env: drive.run_env(env, [REPORTS], results, only=only, repeat=1, case_timeout=600)
                          for env, only in ENVS.items()}}
    # The evidence step runs the cases again (transplants, seed-shifted streams): it must
    # be told where they are, as the matrix session tells it with the same arguments
    # (without --cases-dir it looks in the built-in cases, gathers nothing for these and
    # still exits 0; compare then says the evidence is missing).
    out["evidence"] = drive.harness("evidence", "--results", results, "--known-failures", os.devnull,
                                    "--cases-dir", REPORTS, "--between", *BETWEEN, timeout=1800)
    out["compare"] = drive.compare(results, root / "no-golden", root / "report", "--between", *BETWEEN)
    out["summary"] = drive.load(root / "report" / "summary.json")
    out["results"], out["root"] = results, root
    return out


def rerun(variant: str) -> str:
    """The check id of the invariant "the rerun repeats the losses" of ``variant``."""
    return f"invariant:rerun from the same weights repeats the losses ({variant})"


def drift(field: dict, env: str, case: str, check: str = PREVIOUS) -> dict:
    return drive.verdict(field["summary"], env, case, check)


def causes(verdict: dict) -> dict[str, str]:
    """The cause of each differing variant."""
    return {v["variant"]: v["cause"] for v in verdict["cause"]["variants"]}


def explained(verdict: dict, variant: str) -> dict[str, bool]:
    """Per observable of ``variant``: whether the envelope it was judged by explains it."""
    (found,) = [v for v in verdict["cause"]["variants"] if v["variant"] == variant]
    return {o["observable"]: o["explained"] for o in found["roundoff"]["observables"]}


def values(field: dict, env: str, case: str, variant: str, observable: str) -> list:
    return field["runs"][env].cases[case].variants[variant].observables[observable].to_json()["values"]


def assert_none_false(message: str, *allowed: str) -> None:
    for words in FALSE_SENTENCES:
        if words not in allowed:
            assert words not in message, (words, message)


def test_every_case_runs_and_the_only_failures_are_the_broken_rerun_invariant(field):
    for env, only in ENVS.items():
        doc = field["runs"][env]
        assert sorted(doc.cases) == sorted(only), env
        for case, entry in doc.cases.items():
            assert entry.ok, (env, case, entry.error)
    evidence = field["evidence"]
    assert evidence.returncode == 0, evidence.stdout + evidence.stderr
    assert "evidence not gathered" not in evidence.stdout, evidence.stdout
    proc, summary = field["compare"], field["summary"]
    assert proc.returncode == 1 and "verdict: FAIL: regression" in proc.stdout, proc.stdout[-3000:]
    failing = sorted((v["env"], v["case"], v["check"]) for v in summary["verdicts"]
                     if v["outcome"] in ("regression", "error", "nondeterministic"))
    assert failing == sorted((env, DROPOUT, rerun("seeded_dropout"))
                             for env in ("tf2.8-keras2", "tf2.9-keras2", "tf2.10-keras2"))


# -- lstm_default_activation -------------------------------------------------------------------
def test_lstm_the_starting_weights_are_the_same_in_all_three_environments(field):
    """Every weight is set from numpy: what the sentences below rest on."""
    for variant in ("default", "sigmoid", "hard_sigmoid"):
        sums = [values(field, env, LSTM, variant, "initial_weight_sums") for env in ("tf1.15-keras2", *BETWEEN)]
        assert sums[0] == sums[1] == sums[2], (variant, sums)


def test_lstm_tf1_15_to_tf2_0_is_a_real_change_in_the_forward_pass_before_training(field):
    verdict = drift(field, "tf2.0-keras2", LSTM)
    message = verdict["message"]
    assert verdict["cause"]["kind"] == "real change", message
    # Only the default changed its recurrent activation (hard_sigmoid -> sigmoid); the
    # variants that name it explicitly compute the same function, a few ULPs apart.
    assert causes(verdict) == {"default": "real change", "sigmoid": "round-off", "hard_sigmoid": "round-off"}
    assert verdict["variant"] == "default"
    assert verdict["divergence"]["stage"] == "forward" and verdict["divergence"]["where"]["step"] == 0
    assert "default: real change: from the same starting weights, beyond round-off (initial_predictions" \
        in message
    assert "from the same weights, the forward pass outside training (k.predict) before any training step " \
        "gives other outputs of model 0" in message
    assert_none_false(message)
    assert "random stream" not in message
    # The claims say which default each side has.
    summary = field["summary"]
    assert "holds in" in drive.verdict(summary, "tf1.15-keras2", LSTM, "claim:default is hard_sigmoid")["message"]
    assert "holds in" in drive.verdict(summary, "tf2.0-keras2", LSTM, "claim:default is sigmoid")["message"]


def test_lstm_tf2_0_vs_tf2_6_is_round_off_in_the_forward_pass(field):
    verdict = drift(field, "tf2.6-keras2", LSTM, "drift:between")
    message = verdict["message"]
    assert verdict["cause"]["kind"] == "round-off", message
    assert set(causes(verdict).values()) == {"round-off"}
    assert verdict["divergence"]["stage"] == "forward" and verdict["divergence"]["where"]["step"] == 0
    assert "round-off in every differing variant (default, sigmoid, hard_sigmoid): every value within 32 " \
        "times the envelope of 3 perturbed run(s)" in message
    assert "the forward pass outside training (k.predict) before any training step gives other outputs" \
        in message
    assert_none_false(message)


# -- he_normal_range -----------------------------------------------------------------------------
def test_he_normal_tf1_14_to_tf1_15_is_identical(field):
    verdict = drift(field, "tf1.15-keras2", HE)
    assert verdict["status"] == "identical" and verdict["cause"] is None
    assert verdict["message"] == f"{HE} in tf1.15-keras2 is bit for bit the same as in tf1.14-keras2."


@pytest.mark.parametrize(("before", "after"), [("tf1.15-keras2", "tf2.0-keras2"), ("tf2.6-keras2", "tf2.7-keras2")])
def test_he_normal_draws_change_by_a_random_stream(field, before, after):
    verdict = drift(field, after, HE)
    message = verdict["message"]
    assert verdict["cause"]["kind"] == "random stream", message
    assert verdict["divergence"]["stage"] == "no-training"
    assert message.startswith(f"{HE} changed from {before} to {after}: conv1x1_512_2048: random stream: the case "
                              "builds no model through the adapter; they part in he_std"), message
    # Judged on both sides' seed-shifted streams, and said so.
    assert f"no further than another random stream moves them in {after} and {before} (every value within 32 " \
        "times the envelope of 3 run(s) with every seed shifted" in message
    assert_none_false(message)
    # The law holds in every version; the report's own claim (±0.05) holds in none.
    for env in (before, after):
        for check in ("invariant:he_normal stays within its truncation bound",
                      "invariant:glorot_uniform stays within its limit"):
            assert drive.verdict(field["summary"], env, HE, check)["outcome"] == "pass"
        assert "does not hold" in drive.verdict(field["summary"], env, HE, "claim:new he_normal range")["message"]


# -- seeded_init_instances -----------------------------------------------------------------------
# What is true (README, and the claims below): two instances of one seeded initializer
# agree in 2.6, differ in 2.7 to 2.9 and agree again from 2.10; the values drawn change
# both at 2.6 -> 2.7 and at 2.9 -> 2.10. So each pair has two parts: the drawn values,
# which another random stream moves as far (a random stream), and the agreement of two
# instances (instances_max_abs_diff, same_instance_max_abs_diff exactly 0 on one side,
# not on the other), which no seed shift makes or breaks on the side where they agree:
# a real change of what a seed means, in both variants, at both pairs.
#
# The product says so at 2.9 -> 2.10, but at 2.6 -> 2.7 it says "random stream": it
# judges with the stream envelope of the newer environment only (harness/check/causes.py,
# _without_model), and in 2.7 a seed shift draws the two instances anew, so their
# difference counts as "drawn anew" whatever it was before. Compared the other way round
# (--between tf2.7-keras2 tf2.6-keras2, same results) the same difference is a real
# change. That half is asserted as an expected failure below, not as what the product says.
SEEDED_CLAIMS = ("claim:same seed, same values (uniform)", "claim:same seed, same values (normal)",
                 "claim:one instance twice, same values (normal)")
DRAWN = ("initial_first_instance", "initial_second_instance")
AGREEMENT = ("instances_max_abs_diff", "same_instance_max_abs_diff")


def test_seeded_instances_agree_before_2_7_and_from_2_10_only(field):
    for env, agree in (("tf2.6-keras2", True), ("tf2.7-keras2", False), ("tf2.9-keras2", False),
                       ("tf2.10-keras2", True)):
        for check in SEEDED_CLAIMS:
            message = drive.verdict(field["summary"], env, SEEDED, check)["message"]
            assert ("holds in" in message) == agree and ("does not hold" in message) != agree, message
        for variant in ("uniform", "normal"):
            diff = values(field, env, SEEDED, variant, "instances_max_abs_diff")
            assert (diff == [0.0]) == agree, (env, variant, diff)


def test_seeded_tf2_9_to_tf2_10_the_instances_agree_again_a_real_change(field):
    verdict = drift(field, "tf2.10-keras2", SEEDED)
    message = verdict["message"]
    assert verdict["cause"]["kind"] == "real change", message
    assert causes(verdict) == {"uniform": "real change", "normal": "real change"}
    assert verdict["divergence"]["stage"] == "no-training"
    assert "real change in every differing variant (uniform, normal): the case builds no model through the " \
        "adapter" in message
    # tf2.10's own stream never moves the agreement (0 under every seed): that side says no.
    assert "beyond what another random stream does in tf2.10-keras2 (instances_max_abs_diff at its only " \
        "value differs" in message
    assert "another stream draws these anew: initial_first_instance, initial_second_instance)" in message
    assert_none_false(message)
    for variant in ("uniform", "normal"):
        judged = explained(verdict, variant)
        assert all(judged[name] for name in DRAWN), judged  # the values: as another stream moves them
        assert not any(judged[name] for name in AGREEMENT), judged  # the agreement: no stream makes it


def test_seeded_tf2_6_to_tf2_7_the_drawn_values_move_as_another_random_stream(field):
    verdict = drift(field, "tf2.7-keras2", SEEDED)
    assert verdict["divergence"]["stage"] == "no-training"
    assert "the case builds no model through the adapter; they part in initial_first_instance" \
        in verdict["message"]
    assert_none_false(verdict["message"])
    for variant in ("uniform", "normal"):
        judged = explained(verdict, variant)
        assert all(judged[name] for name in DRAWN), judged


def test_seeded_tf2_6_to_tf2_7_the_instances_stop_agreeing_a_real_change(field):
    """The mirror of 2.9 -> 2.10: here tf2.6's stream is the one that never moves the
    agreement, and the cause must not depend on which side comes first."""
    verdict = drift(field, "tf2.7-keras2", SEEDED)
    assert causes(verdict) == {"uniform": "real change", "normal": "real change"}, verdict["message"]
    assert "beyond what another random stream does in tf2.6-keras2 (instances_max_abs_diff" in verdict["message"]
    for variant in ("uniform", "normal"):
        judged = explained(verdict, variant)
        assert not any(judged[name] for name in AGREEMENT), judged


# -- dropout_seed_rerun ----------------------------------------------------------------------------
def test_dropout_tf2_7_to_tf2_8_is_unknown_because_training_draws_random_numbers(field):
    verdict = drift(field, "tf2.8-keras2", DROPOUT)
    message = verdict["message"]
    assert verdict["cause"]["kind"] == "unknown", message
    # Without Dropout nothing moved; the unseeded Dropout's masks are the same (last bits);
    # the seeded one's first step reports another loss, from the same weights.
    assert causes(verdict) == {"seeded_dropout": "unknown", "unseeded_dropout": "round-off"}
    assert verdict["variant"] == "seeded_dropout"
    assert verdict["divergence"]["stage"] == "forward" and verdict["divergence"]["where"]["step"] == 0
    assert "seeded_dropout: unknown: from the same starting weights, beyond round-off (loss_first at epoch 0" \
        in message
    assert "part in the forward pass of the first training step, before any update" in message
    assert "training draws random numbers (Dropout (dropout)): a change in those draws (a random stream) " \
        "cannot be told from a real change" in message
    assert_none_false(message)


def test_dropout_tf2_9_to_tf2_10_is_a_random_stream(field):
    verdict = drift(field, "tf2.10-keras2", DROPOUT)
    message = verdict["message"]
    assert verdict["cause"]["kind"] == "random stream", message
    assert set(causes(verdict)) == {"no_dropout", "seeded_dropout", "unseeded_dropout"}
    assert set(causes(verdict).values()) == {"random stream"}
    assert verdict["divergence"]["stage"] == "initial"
    assert "they part before training: the weights of Dense#0 that training starts from differ; started from " \
        "tf2.9-keras2's initial weights, tf2.10-keras2 trains bit for bit like tf2.9-keras2" in message
    assert_none_false(message, "they part before training")  # true here: the transplant shows it


def test_dropout_rerun_repeats_itself_until_tf2_8_only_with_a_seeded_dropout(field):
    summary = field["summary"]
    for env in ("tf2.7-keras2", "tf2.8-keras2", "tf2.9-keras2", "tf2.10-keras2"):
        for variant in ("no_dropout", "unseeded_dropout"):
            assert drive.verdict(summary, env, DROPOUT, rerun(variant))["outcome"] == "pass", (env, variant)
        seeded = drive.verdict(summary, env, DROPOUT, rerun("seeded_dropout"))
        if env == "tf2.7-keras2":
            assert (seeded["status"], seeded["outcome"]) == ("identical", "pass"), seeded["message"]
            continue
        message = seeded["message"]
        assert (seeded["status"], seeded["outcome"]) == ("drift", "regression"), message
        assert f"is broken in {env}: seeded_dropout:loss_first vs seeded_dropout:loss_rerun differ beyond " \
            "tolerance" in message
        assert "first at epoch 0" in message and "they part first in loss_first at epoch 0" in message
        assert seeded["divergence"]["where"] == {"epoch": 0}
        assert_none_false(message)


# -- optimizer_from_config -------------------------------------------------------------------------
def test_optimizer_tf2_10_to_tf2_11_is_a_real_change(field):
    verdict = drift(field, "tf2.11-keras2", ADAM)
    message = verdict["message"]
    assert verdict["cause"]["kind"] == "real change", message
    # Adam() and compile("adam") get the new optimizer class; Adam from a config stays the
    # legacy one and trains bit for bit as in 2.10.
    assert causes(verdict) == {"class": "real change", "string": "real change"}
    assert verdict["divergence"]["stage"] == "update" and verdict["divergence"]["where"]["step"] == 0
    assert "real change in every differing variant (class, string): from the same starting weights, beyond " \
        "round-off (legacy_optimizer at its only value" in message
    assert "the forward pass of step 0 is the same (same loss), but its update differs, first in Dense#0: its " \
        "trainable weights" in message
    assert_none_false(message)
    for env, legacy in (("tf2.10-keras2", {"class": 1.0, "string": 1.0, "config": 1.0}),
                        ("tf2.11-keras2", {"class": 0.0, "string": 0.0, "config": 1.0})):
        assert {v: values(field, env, ADAM, v, "legacy_optimizer")[0] for v in legacy} == legacy, env
        for check in ("invariant:Adam from a config trains as Adam()",
                      "invariant:compile('adam') trains as Adam() (lr 0.01 set afterwards)"):
            assert drive.verdict(field["summary"], env, ADAM, check)["outcome"] == "pass", (env, check)


def test_round_off_members_beyond_the_first_only_where_one_does_not_settle_it(field):
    """The evidence step runs one round-off member per starting state, then the other two
    for every envelope that leaves a difference short of round-off (harness.run.members):
    the LSTM's real change (tf1.15 -> tf2.0) is judged on all three, its round-off variants
    on one."""
    assert "widened by more round-off members" in field["evidence"].stdout, field["evidence"].stdout
    causes: dict[tuple[str, str], set[str]] = {}
    for v in field["summary"]["verdicts"]:
        for c in (v.get("cause") or {}).get("variants") or []:
            causes.setdefault((v["case"], c["variant"]), set()).add(c["cause"])
    real = [variant for (case, variant), found in causes.items() if case == LSTM and "real change" in found]
    assert real, causes
    lstm = drive.results_of(field["results"], "tf2.0-keras2")["cases"][LSTM]["variants"]
    assert all(lstm[variant]["evidence"]["envelope"]["members"] == 3 for variant in real), real
    # Its variants whose only difference anywhere is round-off were settled by one member.
    settled = [variant for (case, variant), found in causes.items() if case == LSTM and found == {"round-off"}]
    assert settled, causes
    assert all(lstm[variant]["evidence"]["envelope"]["members"] == 1 for variant in settled), settled
    for env in ENVS:
        for case, entry in drive.results_of(field["results"], env)["cases"].items():
            for variant, v in entry["variants"].items():
                envelope = (v.get("evidence") or {}).get("envelope")
                assert envelope is None or envelope["members"] in (1, 3), (env, case, variant, envelope["members"])


def test_a_run_that_reproduces_golden_values_blessed_here_takes_their_evidence(field):
    """Bless every environment's results, evidence included; run them again against those
    golden values, on this machine: every variant reproduces its golden bits, so it takes
    the evidence blessed with them, the evidence step has nothing left to run, and the
    comparison classifies every difference as before (issue 14, point 4: evidence costs
    nothing where it is known)."""
    root = field["root"]
    for env in ENVS:  # the field runs ran once each: --force (golden values want two agreeing runs)
        blessed = drive.bless(field["results"], root / "golden", env, "--force")
        assert blessed.returncode == 0, blessed.stdout + blessed.stderr
    golden = drive.load(root / "golden" / "tf2.0-keras2.json")
    assert any("evidence" in v for c in golden["cases"].values() for v in c["variants"].values())
    again = root / "again"
    for env, only in ENVS.items():
        doc = drive.run_env(env, [REPORTS], again, golden=root / "golden", only=only, case_timeout=600)
        for case, entry in doc.cases.items():
            for variant, v in entry.variants.items():
                before = drive.results_of(field["results"], env)["cases"][case]["variants"][variant]
                assert v.determinism.value == "matches-golden", (env, case, variant, v.determinism)
                assert (v.evidence.to_json() if v.evidence else None) == before.get("evidence"), (env, case, variant)
    evidence = drive.harness("evidence", "--results", again, "--known-failures", os.devnull, "--cases-dir", REPORTS,
                             "--between", *BETWEEN, timeout=1800)
    assert evidence.returncode == 0 and "evidence: nothing to gather" in evidence.stdout, evidence.stdout
    drive.compare(again, root / "no-golden", root / "again-report", "--between", *BETWEEN)
    summary = drive.load(root / "again-report" / "summary.json")

    def causes(s: dict) -> dict:
        return {(v["env"], v["case"], v["check"]): (v.get("cause") or {}).get("variants") for v in s["verdicts"]
                if v["check"].startswith("drift")}

    assert causes(summary) == causes(field["summary"])
