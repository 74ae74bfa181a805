"""Bisect: the index lookup, the candidate environments, and the search.

The search is tested with an injected runner that returns small results documents
(tests/fakes.py), so every path (skips, endpoints, tolerance) runs in milliseconds.
A real bisect over Keras 3 patch releases, building real environments, is marked
``envs`` like the other real-environment tests.
"""

import argparse
import datetime
import os
import subprocess
import sys

import pytest

from harness.bisect import candidates, releases
from harness.bisect import search as bisect
from harness.bisect.candidates import Attempt
from harness.bisect.search import Mark
from harness.core import store
from harness.core.status import Status
from harness.matrix import envs, locks
from harness.run import environment, supervise
from tests import fakes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = "tf2.16-keras3.0"
CASE = "toy"


# -- the index ---------------------------------------------------------------------
def pypi_document(files_by_version):
    return {"releases": {v: [{"upload_time_iso_8601": f"{day}T10:00:00.000000Z", "yanked": yanked}
                             for day, yanked in files] for v, files in files_by_version.items()}}


# Upload days and the yanked flag as https://pypi.org/pypi/<name>/json lists them.
KERAS = pypi_document({
    "3.0.5": [("2024-02-14", False)], "3.1.0": [("2024-03-18", False)], "3.1.1": [("2024-03-19", False)],
    "3.10.0": [("2025-05-19", False)], "3.2.0": [("2024-04-08", False)], "3.9.2": [("2025-04-02", False)],
})
TF_KERAS = pypi_document({
    "2.19.0": [("2025-03-03", False)], "2.20.0": [("2025-03-03", True), ("2025-03-03", True)],
    "2.20.1": [("2025-09-04", False)], "2.20.0rc0": [("2025-02-19", False)], "0.1.dev": [],
})


def test_releases_are_in_version_order_not_string_order():
    versions = [r.version for r in releases.parse_releases(KERAS)]
    assert versions == ["3.0.5", "3.1.0", "3.1.1", "3.2.0", "3.9.2", "3.10.0"]


def test_a_release_is_resolved_as_of_the_day_after_its_upload():
    release = {r.version: r for r in releases.parse_releases(KERAS)}["3.1.0"]
    assert release.uploaded == datetime.date(2024, 3, 18)
    assert release.exclude_newer() == "2024-03-19"


def test_between_keeps_endpoints_and_drops_prereleases_unless_asked():
    parsed = releases.parse_releases(TF_KERAS)
    assert [r.version for r in releases.between(parsed, "2.19.0", "2.20.1")] == ["2.19.0", "2.20.0", "2.20.1"]
    with_pre = releases.between(parsed, "2.19.0", "2.20.1", prereleases=True)
    assert [r.version for r in with_pre] == ["2.19.0", "2.20.0rc0", "2.20.0", "2.20.1"]
    assert [r.version for r in releases.between(parsed, "2.20.1", "2.19.0")] == ["2.20.1", "2.20.0", "2.19.0"]


def test_yanked_and_empty_releases_are_unusable():
    parsed = {r.version: r for r in releases.parse_releases(TF_KERAS)}
    assert parsed["2.20.0"].unusable == "yanked from the index"
    assert parsed["0.1.dev"].unusable == "the index has no files for it"
    assert parsed["2.20.1"].unusable is None


def test_an_unknown_endpoint_is_a_clear_error():
    with pytest.raises(releases.ReleaseLookupError, match="no release 3.99.0"):
        releases.between(releases.parse_releases(KERAS), "3.0.5", "3.99.0")


# -- candidate environments ------------------------------------------------------------
def release(version, day):
    return releases.Release(version, datetime.date.fromisoformat(day))


def test_a_candidate_changes_one_pin_of_its_base():
    base = envs.by_id(BASE)
    spec = candidates.candidate_spec(base, "keras", release("3.1.0", "2024-03-18"))
    assert spec.requirements == ("tensorflow-cpu==2.16.1", "keras==3.1.0")
    assert (spec.python, spec.flavour, spec.env_vars) == (base.python, base.flavour, base.env_vars)
    assert spec.id == "keras-3.1.0-tf2.16-keras3.0"
    assert store.safe_name(spec.id) == spec.id


def test_a_candidate_is_resolved_as_of_the_later_of_its_upload_and_its_base():
    base = envs.by_id(BASE)  # its date: 2024-03-10
    older = candidates.candidate_spec(base, "keras", release("3.0.2", "2023-12-21"))
    newer = candidates.candidate_spec(base, "keras", release("3.3.3", "2024-04-26"))
    assert older.exclude_newer == base.exclude_newer  # the base's pins must exist
    assert newer.exclude_newer == "2024-04-27"  # the candidate must exist


def test_tensorflow_replaces_tensorflow_cpu_and_new_pins_are_added():
    reqs = envs.by_id("tf2.4-keras2").requirements
    assert candidates.requirements_with(reqs, "tensorflow", "2.3.1") == ("tensorflow==2.3.1",)
    assert candidates.requirements_with(reqs, "numpy", "1.19.2") == ("tensorflow-cpu==2.4.0", "numpy==1.19.2")


def test_a_cached_result_is_reused_until_the_case_changes(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / f"{CASE}.py").write_text("VARIANTS = {'a': {}}\n")
    workspace = candidates.Workspace(envs.by_id(BASE), "keras", CASE, case_dirs=(str(cases),),
                                      cache=str(tmp_path / "cache"), progress=lambda _: None)
    rel = release("3.1.0", "2024-03-18")
    spec = candidates.candidate_spec(workspace.base, "keras", rel)
    lock = locks.lock_path(spec, workspace.cache)
    os.makedirs(os.path.dirname(lock))
    with open(lock, "w") as fh:
        fh.write("keras==3.1.0\n")
    if candidates.interpreters.resolve(spec.python) is None:
        pytest.skip(f"no Python {spec.python} here")
    # What an earlier run of this candidate left: its results with the digests it ran with.
    options = workspace.run_options(spec)
    inputs = environment.plan_environment(spec, options).inputs
    doc = result(1.0)
    doc["env"] = inputs.env
    doc["cases"][CASE].update(source_sha256=workspace.case_digest(), **inputs.stamp())
    store.write_json(store.document_path(options.results_dir, spec.id), doc)

    attempt = workspace.attempt(rel)  # no virtualenv is built: the results are reused
    assert attempt.cached and attempt.skipped is None and attempt.document.cases == fakes.typed(doc).cases
    assert not os.path.exists(workspace.venv_dir(spec))

    (cases / f"{CASE}.py").write_text("VARIANTS = {'a': {}, 'b': {}}\n")  # the case changed: run it again
    assert workspace._cached(spec, options) is None


def test_a_failed_case_makes_the_version_untestable():
    doc = result(1.0)
    doc["cases"][CASE]["variants"]["a"] = {"status": "error", "error": {"type": "AttributeError",
                                                                        "message": "no attribute 'float_'"}}
    assert candidates.untestable(fakes.typed(doc), CASE) == "a raised AttributeError: no attribute 'float_'"
    assert candidates.untestable(supervise.unavailable_document(envs.by_id(BASE), "no wheel"), CASE) == \
        "environment unavailable: no wheel"


# -- the search ------------------------------------------------------------------------
VERSIONS = ["3.0.5", "3.1.0", "3.1.1", "3.2.0", "3.2.1", "3.3.0", "3.3.1", "3.3.2", "3.3.3", "3.4.0", "3.4.1"]


def result(final_loss, initial=(0.5, -0.25)):
    variant = fakes.variant([1.0, final_loss], initial=initial, with_probe=True)
    return fakes.result(BASE, {CASE: fakes.case({"a": variant})},
                        packages={"keras": "?", "tensorflow-cpu": "2.16.1"})


class Runner:
    """Results per version: ``loss_of(version)``; ``skip`` lists versions that cannot be installed."""

    def __init__(self, loss_of, skip=(), initial_of=lambda v: (0.5, -0.25)):
        self.loss_of, self.skip, self.initial_of = loss_of, set(skip), initial_of
        self.ran = []

    def __call__(self, version):
        self.ran.append(version)
        if version in self.skip:
            return Attempt(version, f"keras-{version}", skipped="cannot be installed: no wheel")
        doc = result(self.loss_of(version), self.initial_of(version))
        doc["fingerprint"]["packages"]["keras"] = version
        return Attempt(version, f"keras-{version}", document=fakes.typed(doc))


def changes_at(first_changed, before=0.5, after=0.75):
    return lambda v: after if VERSIONS.index(v) >= VERSIONS.index(first_changed) else before


def search(runner, threshold=Status.CLOSE, versions=VERSIONS):
    return bisect.search(versions, runner, CASE, threshold, package="keras", progress=lambda _: None)


@pytest.mark.parametrize("first_changed", VERSIONS[1:])
def test_binary_search_finds_every_position(first_changed):
    runner = Runner(changes_at(first_changed))
    outcome = search(runner)
    assert outcome.first_changed == first_changed
    assert outcome.last_same == VERSIONS[VERSIONS.index(first_changed) - 1]
    assert runner.ran[:2] == ["3.0.5", "3.4.1"]  # both endpoints first: good != bad is confirmed
    assert len(runner.ran) <= 2 + 4  # ceil(log2(9 versions in between)) more
    assert outcome.exit_code == bisect.EXIT_FOUND
    assert outcome.packages == (f"keras {outcome.last_same} → {first_changed}",)


def test_the_change_is_described_with_its_size_and_where_it_starts():
    outcome = search(Runner(changes_at("3.3.0")))
    assert outcome.status == Status.DRIFT
    assert outcome.change.startswith("a: loss: 1/2 values differ (1 beyond tolerance), max |Δ| 0.25")
    assert outcome.divergence.stage == "forward" and outcome.divergence.where == {"model": 0, "step": 1}
    text = bisect.render(outcome, BASE)
    assert "FIRST CHANGED: keras 3.3.0 (last same: 3.2.1; drift against 3.0.5)" in text
    assert "where: they start from the same weights and part in the forward pass of step 1" in text


def test_a_changed_initializer_is_found_before_training():
    runner = Runner(lambda v: 0.5, initial_of=changes_at("3.2.0", (0.5, -0.25), (0.5, -0.3)))
    outcome = search(runner)
    assert outcome.first_changed == "3.2.0" and outcome.divergence.stage == "initial"


def test_versions_that_cannot_be_installed_are_skipped_and_the_neighbours_tried():
    runner = Runner(changes_at("3.3.0"), skip={"3.2.0", "3.3.1"})
    outcome = search(runner)
    assert outcome.first_changed == "3.3.0"
    assert {t.version for t in outcome.trials if t.mark == Mark.SKIPPED} <= {"3.2.0", "3.3.1"}
    assert outcome.untested_between == ()


def test_when_the_culprit_cannot_be_installed_the_answer_is_a_range():
    runner = Runner(changes_at("3.3.0"), skip={"3.2.1", "3.3.0"})
    outcome = search(runner)
    assert (outcome.last_same, outcome.first_changed, outcome.untested_between) == ("3.2.0", "3.3.1",
                                                                                   ("3.2.1", "3.3.0"))
    assert "or one of 3.2.1, 3.3.0, which could not be tested" in bisect.render(outcome, BASE)


def test_bitwise_finds_round_off_and_tolerance_steps_over_it():
    def loss(v):
        i = VERSIONS.index(v)
        return 0.5 if i < 3 else (0.5 + 1e-7 if i < 7 else 0.75)  # round-off at 3.2.0, drift at 3.3.2

    bitwise = search(Runner(loss))
    assert bitwise.first_changed == "3.2.0" and bitwise.status == Status.CLOSE
    assert search(Runner(loss), threshold=Status.DRIFT).first_changed == "3.3.2"


def test_endpoints_that_agree_leave_nothing_to_bisect():
    outcome = search(Runner(lambda v: 0.5 + (1e-7 if v == "3.4.1" else 0)), threshold=Status.DRIFT)
    assert outcome.first_changed is None and outcome.exit_code == bisect.EXIT_NO_CHANGE
    assert "agree within tolerance" in outcome.problem and "without --tolerance" in outcome.problem


@pytest.mark.parametrize("endpoint", ["3.0.5", "3.4.1"])
def test_an_endpoint_that_cannot_be_tested_stops_the_bisect(endpoint):
    runner = Runner(changes_at("3.3.0"), skip={endpoint})
    outcome = search(runner)
    assert outcome.exit_code == bisect.EXIT_ENDPOINT_FAILED
    assert f"version {endpoint} could not be tested: cannot be installed: no wheel" in outcome.problem
    assert len(runner.ran) <= 2


# -- the command line ---------------------------------------------------------------------
def args(*argv):
    parser = argparse.ArgumentParser()
    bisect.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_default_base_pins_the_package_to_an_endpoint():
    assert bisect.default_base("keras", "3.0.5", "3.4.1").id == "tf2.17-keras3.4"
    assert bisect.default_base("tensorflow-cpu", "2.3.0", "2.3.4").id == "tf2.3-keras2"
    with pytest.raises(KeyError, match="--base"):
        bisect.default_base("numpy", "1.19.2", "1.19.5")


@pytest.mark.parametrize("argv, message", [
    (["linear_autoencoder", "keras", "3.0.5", "3.99.0", "--base", BASE], "no release 3.99.0"),
    (["linear_autoencoder", "keras", "3.0.5", "3.1.0", "--base", "tf9.9"], "unknown environment"),
    (["no_such_case", "keras", "3.0.5", "3.1.0", "--base", BASE], "no case 'no_such_case'"),
])
def test_usage_errors(argv, message, capsys, tmp_path):
    code = bisect.run(args(*argv, "--cache", str(tmp_path)), fetch=lambda name: releases.parse_releases(KERAS))
    assert code == 2 and message in capsys.readouterr().err


# -- a real bisect ------------------------------------------------------------------------
def real_bisect(*extra):
    proc = subprocess.run([sys.executable, "-m", "harness", "bisect", "linear_autoencoder", "keras", "3.0.5",
                           "3.2.0", "--base", BASE, *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=3600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.envs
def test_real_bisect_over_keras_patch_releases():
    """Four Keras releases on TF 2.16.1 (small wheels beside one TF install; the
    candidates are cached in .nox/bisect-candidates, so a second run takes seconds).

    Keras 3.1.0 moved the last bits of the train_on_batch trajectory (fit's results
    stayed bitwise equal); Keras 3.2.0 changed the loss that fit reports per epoch
    beyond tolerance while the weights, val_loss and predictions stayed as they were."""
    bitwise = real_bisect()
    assert "FIRST CHANGED: keras 3.1.0 (last same: 3.0.5; close against 3.0.5)" in bitwise
    # where, from the probe records: the same initial weights, parting in a training step
    assert "where: they start from the same weights and part in the forward pass of step " in bitwise
    assert "keras 3.0.5 → 3.1.0" in bitwise
    beyond = real_bisect("--tolerance")
    assert "FIRST CHANGED: keras 3.2.0 (last same: 3.1.1; drift against 3.0.5)" in beyond
    assert "size: plain: loss: 20/20 values differ (20 beyond tolerance)" in beyond
    # the loss reported differs while the weights it came from are the same bit for bit
    where = next(line for line in beyond.splitlines() if line.startswith("  where: "))
    assert where.startswith("  where: they start from the same weights and part in the forward pass of step ")
    assert "from weights that are the same bit for bit" in where and "the loss it reports differs" in where
