"""A determinism repeat where it tells something (issue 17, point 1), in a real
environment (harness.run.policy):

- no golden values: every variant runs twice, the second run beside the first;
- a bitwise match with golden values blessed here counts as the second run: no repeat,
  and the determinism verdict says where the golden values came from;
- a result that differs from its golden values runs again, which tells a real
  difference (the runs agree: drift) from nondeterminism;
- nondeterminism injected into a case (fault_cases/policy/flaky) is caught with golden
  values and without.
"""

from __future__ import annotations

import pytest

from harness.core.documents.results import Determinism
from tests.fault_cases import drive

pytestmark = pytest.mark.envs

ENV = drive.KERAS2
POLICY = drive.case_dir("policy")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("policy")
    out: dict = {"root": root}
    out["first"] = drive.run_env(ENV, [POLICY], root / "first")  # no golden values
    blessed = drive.bless(root / "first", root / "golden", ENV, "--case", "steady")
    assert blessed.returncode == 0, blessed.stdout + blessed.stderr
    # flaky's golden values come from one run, forced: a later run must still be caught.
    forced = drive.bless(root / "first", root / "golden", ENV, "--case", "flaky", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    out["again"] = drive.run_env(ENV, [POLICY], root / "again", golden=root / "golden")
    out["shifted"] = drive.run_env(ENV, [POLICY], root / "shifted", golden=root / "golden",
                                   environ={"TFREPRO_TEST_SHIFT": "0.5"}, only=("steady",))
    for name in ("first", "again", "shifted"):
        proc = drive.compare(root / name, root / "golden" if name != "first" else root / "none",
                             root / f"{name}-report")
        out[f"{name}-compare"] = proc
        out[f"{name}-summary"] = drive.load(root / f"{name}-report" / "summary.json")
    return out


def variants(doc, case):
    return doc.cases[case].variants


def test_without_golden_values_every_variant_runs_twice_beside_the_first(runs):
    doc = runs["first"]
    for v in variants(doc, "steady").values():
        assert v.determinism == Determinism.REPEATED and v.repeats == 1 and not v.nondeterministic
    assert doc.timing["repeats_beside"] and set(doc.timing["repeats"]) == {"steady", "flaky"}


def test_nondeterminism_is_caught_without_golden_values(runs):
    assert variants(runs["first"], "flaky")["noisy"].nondeterministic == ("value",)
    verdict = drive.verdict(runs["first-summary"], ENV, "flaky", "determinism")
    assert verdict["status"] == "nondeterministic" and verdict["outcome"] == "nondeterministic"


def test_a_bitwise_match_with_golden_values_is_the_second_run(runs):
    steady = variants(runs["again"], "steady")
    for v in steady.values():
        assert v.determinism == Determinism.MATCHES_GOLDEN and v.repeats == 0, v
        assert v.golden_from  # the run the golden values were blessed from
    assert "steady" not in runs["again"].timing.get("repeats", {})
    verdict = drive.verdict(runs["again-summary"], ENV, "steady", "determinism")
    assert verdict["outcome"] == "pass"
    assert "matches its golden values bit for bit (from run" in verdict["message"]
    assert "which came from two agreeing runs" in verdict["message"]
    assert drive.verdict(runs["again-summary"], ENV, "steady", "golden")["status"] == "identical"


def test_nondeterminism_is_caught_with_golden_values(runs):
    noisy = variants(runs["again"], "flaky")["noisy"]
    assert noisy.repeats == 1 and noisy.nondeterministic == ("value",)  # it differed, so it ran again
    assert runs["again-compare"].returncode == 3, runs["again-compare"].stdout[-3000:]
    verdict = drive.verdict(runs["again-summary"], ENV, "flaky", "determinism")
    assert verdict["status"] == "nondeterministic"
    # Its difference from golden is not called a regression: two runs here differ already.
    golden = drive.verdict(runs["again-summary"], ENV, "flaky", "golden")
    assert (golden["status"], golden["outcome"]) == ("nondeterministic", "nondeterministic"), golden["message"]


def test_a_result_that_differs_from_golden_runs_again_and_is_drift_not_nondeterminism(runs):
    steady = variants(runs["shifted"], "steady")
    for v in steady.values():
        assert v.determinism == Determinism.REPEATED and v.repeats == 1 and not v.nondeterministic, v
    golden = drive.verdict(runs["shifted-summary"], ENV, "steady", "golden")
    assert (golden["status"], golden["outcome"]) == ("drift", "regression"), golden["message"]
    assert drive.verdict(runs["shifted-summary"], ENV, "steady", "determinism")["status"] == "identical"
