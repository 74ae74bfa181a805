"""A change of machine, made on this machine (issue 13, point 6).

Another CPU sums matrix products in another order (Eigen's blocking follows the cache
sizes it reads; oneDNN picks kernels by the instruction sets it finds). Real numerics
knobs do the same on one machine, and only that: they change the order of
floating-point work, and two runs under one setting agree bit for bit.

- TF 1.14 (Eigen, no oneDNN): ``TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL=0`` makes
  Eigen's own contraction kernel do the matrix products instead of TF's custom one.
- TF 2.21 with Keras 3 (oneDNN on by default): ``ONEDNN_MAX_CPU_ISA=AVX2`` keeps oneDNN
  off AVX-512.

In each environment, golden values are blessed under the default setting; the same
cases then run with the knob exported. A small deep tanh net (fault_cases/machine/
deep_small: its weight gradients sum 2500 products) moves in its last bits from the
first steps and by tens of percent by the last: it must pass as round-off, its chaotic
late steps set aside, and the verdict must name the knob as the machine difference,
once for every verdict it caused. The injected faults of test_injected_regressions
(a changed op seed, an extra draw, a BatchNormalization epsilon) run under the knob
against the same golden values and must still be flagged as drift, each with its
cause; the one-ULP injections stay round-off.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.fault_cases import drive

pytestmark = pytest.mark.envs

KNOBS = {
    "tf1.14-keras2": {"TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": "0"},
    drive.KERAS3: {"ONEDNN_MAX_CPU_ISA": "AVX2"},
}
# The injected twins that mean something in each environment: in TF 1.x graph mode an
# inserted layer really shifts the op seeds of every later initializer (the historic
# behaviour reg_op_seed re-creates), so there the identity twins break their invariant
# with or without a knob, and only the other injections tell anything.
ALL_TWINS = ("reg_bn_epsilon", "reg_draw", "reg_one_ulp", "reg_op_seed", "reg_ulp_initial")
TWINS = {
    "tf1.14-keras2": ("reg_bn_epsilon", "reg_one_ulp", "reg_ulp_initial"),
    drive.KERAS3: ALL_TWINS,
}
MACHINE = drive.case_dir("machine")
CLEAN = drive.case_dir("regressions/clean")
INJECTED = drive.case_dir("regressions/injected")


@pytest.fixture(scope="module", params=sorted(KNOBS))
def machine(request, tmp_path_factory) -> dict:
    """Bless deep_small and the clean regression twins under the default setting; run
    them, and the injected twins, with the knob exported; compare each."""
    env = request.param
    knob = KNOBS[env]
    root = tmp_path_factory.mktemp(env)
    only = ("deep_small", *TWINS[env])
    out: dict = {"env": env, "knob": knob}
    out["here"] = drive.run_env(env, [MACHINE, CLEAN], root / "here", case_timeout=300, only=only)
    blessed = drive.bless(root / "here", root / "golden", env)
    assert blessed.returncode == 0, blessed.stdout + blessed.stderr
    out["golden"] = drive.load(root / "golden" / f"{env}.json")
    for name, dirs in (("there", [MACHINE, CLEAN]), ("injected", [MACHINE, INJECTED])):
        out[name] = drive.run_env(env, dirs, root / name, golden=root / "golden", environ=knob, case_timeout=300,
                                 only=only)
        proc = drive.compare(root / name, root / "golden", root / f"{name}-report")
        out[f"{name}-compare"] = proc
        out[f"{name}-summary"] = drive.load(root / f"{name}-report" / "summary.json")
        out[f"{name}-md"] = (root / f"{name}-report" / "report.md").read_text()
    return out


def knob_words(machine: dict) -> str:
    ((name, value),) = machine["knob"].items()
    return name


def values(doc, case: str, variant: str, observable: str) -> np.ndarray:
    return np.asarray(doc.cases[case].variants[variant].observables[observable].to_json()["values"], dtype=float)


def test_the_knob_moves_the_bits_of_the_deep_net(machine):
    """Without this the rest proves nothing: the knob must really change the arithmetic."""
    here = values(machine["here"], "deep_small", "tanh", "cost")
    there = values(machine["there"], "deep_small", "tanh", "cost")
    assert (here != there).sum() > len(here) // 2, (here, there)
    # ... and it is deterministic under the knob: it differs from golden, so it ran again
    # after the first run (another machine repeats what differs), and the two agreed.
    summary = machine["there-summary"]
    assert drive.verdict(summary, machine["env"], "deep_small", "determinism")["outcome"] == "pass"
    assert machine["there"].cases["deep_small"].variants["tanh"].repeats == 1


def test_more_round_off_members_only_where_one_does_not_settle_it(machine):
    """One round-off member runs with each differing variant; the other two only where that
    one does not explain the difference as round-off (harness.run.members). So every
    injected fault was judged drift on all three, and a variant left at one member is
    round-off. Variants that match golden bit for bit run no member at all."""
    env = machine["env"]
    summaries = {name: machine[f"{name}-summary"] for name in ("there", "injected")}
    seen = set()
    for name in ("there", "injected"):
        for case, entry in machine[name].cases.items():
            for variant, v in entry.variants.items():
                verdict = drive.verdict(summaries[name], env, case, "golden")
                envelope = v.evidence.envelope if v.evidence is not None else None
                if verdict["status"] == "identical":
                    assert envelope is None, (name, case, variant)
                    continue
                if envelope is None:  # this variant is identical, another one of the case differs
                    continue
                seen.add(envelope.members)
                causes = {c["variant"]: c["cause"] for c in (verdict.get("cause") or {}).get("variants") or []}
                # A round-off verdict is round-off in every variant; a drift one says each variant's cause.
                cause = "round-off" if verdict["status"] == "round-off" else causes.get(variant)
                if cause != "round-off":
                    assert envelope.members == 3, (name, case, variant, cause, envelope.members)
                if envelope.members == 1:
                    assert cause == "round-off", (name, case, variant, verdict["message"])
    assert 3 in seen, seen  # the faults needed every member


def test_golden_values_blessed_under_one_setting_pass_as_round_off_under_another(machine):
    env, summary = machine["env"], machine["there-summary"]
    proc = machine["there-compare"]
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "verdict: PASS" in proc.stdout
    deep = drive.verdict(summary, env, "deep_small", "golden")
    assert (deep["status"], deep["outcome"]) == ("round-off", "pass"), deep["message"]
    assert deep["cause"]["kind"] == "round-off"
    assert knob_words(machine) in deep["message"], deep["message"]
    # Its late steps are chaotic: the verdict says so and rests on the steps before them.
    assert "chaotic" in deep["message"], deep["message"]
    for case in TWINS[env]:
        golden = drive.verdict(summary, env, case, "golden")
        assert golden["status"] in ("identical", "round-off") and golden["outcome"] == "pass", golden["message"]


def test_the_machine_difference_is_named_once(machine):
    summary = machine["there-summary"]
    knob = knob_words(machine)
    moved = [v for v in summary["verdicts"] if v["check"] == "golden" and v["status"] == "round-off"]
    assert moved
    groups = [g for g in summary["causes"] if any(knob in fact for fact in g["facts"])]
    assert len(groups) == 1, [g["summary"] for g in summary["causes"]]
    (group,) = groups
    assert group["kind"] == "round-off" and group["count"] == len(moved)
    assert "deep_small" in group["cases"]
    assert any(knob in fact for fact in group["facts"])
    # report.md shows it as one row of its shared causes, with the count, not one item per verdict.
    escaped = knob.replace("_", "\\_")
    rows = [line for line in machine["there-md"].splitlines() if line.startswith("| #") and escaped in line]
    assert len(rows) == 1, machine["there-md"][:4000]
    assert f"| {len(moved)} \\({len(moved)} pass\\) |" in rows[0], rows[0]


def test_injected_faults_are_still_drift_under_the_other_setting(machine):
    env, summary = machine["env"], machine["injected-summary"]
    proc = machine["injected-compare"]
    assert proc.returncode == 1 and "verdict: FAIL: regression" in proc.stdout, proc.stdout[-4000:]
    expected = {
        "reg_op_seed": ("random stream", "initial"),
        "reg_draw": ("random stream", "initial"),
        "reg_bn_epsilon": ("real change", "forward"),
    }
    for case, (kind, stage) in expected.items():
        if case not in TWINS[env]:
            continue
        golden = drive.verdict(summary, env, case, "golden")
        assert (golden["status"], golden["outcome"]) == ("drift", "regression"), (case, golden["message"])
        assert golden["cause"]["kind"] == kind, (case, golden["message"])
        assert golden["divergence"]["stage"] == stage, (case, golden["divergence"])
    # The deep net ran beside them under the same knob: still round-off.
    deep = drive.verdict(summary, env, "deep_small", "golden")
    assert (deep["status"], deep["outcome"]) == ("round-off", "pass"), deep["message"]


def test_one_ulp_injections_stay_round_off_under_the_other_setting(machine):
    env, summary = machine["env"], machine["injected-summary"]
    for case in ("reg_one_ulp", "reg_ulp_initial"):
        golden = drive.verdict(summary, env, case, "golden")
        assert golden["outcome"] == "pass" and golden["cause"]["kind"] == "round-off", (case, golden["message"])
