"""Incremental runs: what is re-run, what is kept, and why (harness.incremental).

The plan is pure: it reads results/<env>.json and the digests of the case files,
the lock and the runner. The last test runs a real environment through nox three
times: everything, nothing (skipped before any sync), then the one changed case.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from harness import config
from harness.core.documents.results import Results
from harness.core.documents.schema import RESULTS_VERSION
from harness.core.errors import InfrastructureError
from harness.core.reader import Where
from harness.matrix import envs, locks
from harness.run import incremental
from harness.run import options as run_options
from tests import fakes

ENV = "tf2.15-keras2"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASE_A = '"""Case a."""\ndef run(k, workdir):\n    return {}\n'
CASE_B = '"""Case b."""\ndef run(k, workdir):\n    return {}\n'


@pytest.fixture
def cases(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "a.py").write_text(CASE_A)
    (folder / "b.py").write_text(CASE_B)
    return folder


def inputs_for(folder, repeat=2):
    files = run_options.selected_cases(run_options.RunOptions(case_dirs=(str(folder),)))
    return incremental.collect_inputs(envs.by_id(ENV), files, repeat, ROOT)


def typed(doc):
    return Results.from_json(Where("test results"), json.loads(json.dumps(doc)))


def previous_for(inputs, broken=()):
    """The results document a run with ``inputs`` leaves behind, typed."""
    return typed(previous_json(inputs, broken))


def previous_json(inputs, broken=()):
    """The results document a run with ``inputs`` leaves behind, as JSON."""
    doc = fakes.result(ENV, {})
    doc["env"] = inputs.env
    for name, digest in inputs.cases:
        entry = fakes.case({"v": fakes.variant([1.0, 0.5])})
        entry.update(source_sha256=digest, **inputs.stamp())
        if name in broken:
            entry["variants"]["v"] = {"status": "error", "error": {"type": "X", "message": "boom"}, "seconds": 0}
        doc["cases"][name] = entry
    return doc


def test_inputs_are_content_digests(cases):
    inputs = inputs_for(cases)
    assert dict(inputs.cases)["a"] == incremental.file_digest(str(cases / "a.py"))
    assert inputs.lock_sha256 == locks.lock_digest(envs.by_id(ENV), ROOT)
    assert inputs.runner_sha256 == incremental.runner_digest()
    assert inputs.numerics_sha256 == incremental.numerics_digest(envs.by_id(ENV))
    assert inputs.stamp() == {"lock_sha256": inputs.lock_sha256, "runner_sha256": inputs.runner_sha256,
                              "numerics_sha256": inputs.numerics_sha256, "repeat": 2}


def test_numerics_digest_follows_the_watched_variables_only():
    spec = envs.by_id(ENV)
    plain = incremental.numerics_digest(spec, {})
    assert incremental.numerics_digest(spec, {"HOME": "/elsewhere", "PATH": "/bin"}) == plain
    capped = incremental.numerics_digest(spec, {"ONEDNN_MAX_CPU_ISA": "AVX2"})  # a pattern of the watch list
    threads = incremental.numerics_digest(spec, {"TF_NUM_INTRAOP_THREADS": "2"})  # a harness default, overridden
    assert len({plain, capped, threads}) == 3


def test_runner_digest_follows_content_not_timestamps(tmp_path):
    (tmp_path / "worker.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("not code")
    before = incremental.runner_digest(str(tmp_path))
    os.utime(tmp_path / "worker.py", (1, 1))
    (tmp_path / "notes.txt").write_text("changed, but not a source")
    assert incremental.runner_digest(str(tmp_path)) == before
    (tmp_path / "worker.py").write_text("x = 2\n")
    assert incremental.runner_digest(str(tmp_path)) != before


def test_no_previous_result_runs_everything(cases):
    plan = incremental.plan(inputs_for(cases), None, "no previous result")
    assert plan.run == (("a", "no previous result"), ("b", "no previous result"))
    assert plan.describe() == "running 2 cases: no previous result"


def test_unchanged_inputs_skip_the_environment(cases):
    inputs = inputs_for(cases)
    plan = incremental.plan(inputs, previous_for(inputs), None)
    assert plan.up_to_date and plan.keep == ("a", "b") and not plan.others
    assert plan.describe().startswith("up to date, skipped: lock, runner and 2 cases unchanged since ")
    assert "--force or HARNESS_FORCE=1" in plan.describe()


def test_a_changed_case_reruns_only_that_case(cases):
    previous = previous_for(inputs_for(cases))
    (cases / "b.py").write_text(CASE_B + "# tuned\n")
    os.utime(cases / "a.py", (1, 1))  # a timestamp alone changes nothing
    plan = incremental.plan(inputs_for(cases), previous, None)
    assert plan.run == (("b", "source changed"),) and plan.keep == ("a",)
    assert plan.describe() == "running 1 of 2 cases: b (source changed); keeping a"


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"lock_sha256": "0" * 64}, "lock changed"),
        ({"runner_sha256": "1" * 64}, "runner changed"),
        ({"numerics_sha256": "2" * 64}, "the variables that change numerics changed"),
        ({"repeat": 1}, "runs per variant changed (2 -> 1)"),
    ],
)
def test_lock_runner_numerics_or_repeat_change_reruns_every_case(cases, change, reason):
    inputs = inputs_for(cases)
    plan = incremental.plan(dataclasses.replace(inputs, **change), previous_for(inputs), None)
    assert plan.run == (("a", reason), ("b", reason)) and not plan.keep
    assert plan.describe() == f"running 2 cases: {reason}"


def test_results_without_digests_are_rerun(cases):
    inputs = inputs_for(cases)
    doc = previous_json(inputs)
    for entry in doc["cases"].values():
        del entry["runner_sha256"]
    previous = typed(doc)
    assert incremental.plan(inputs, previous, None).run[0] == ("a", "no runner digest recorded")
    doc = previous_json(inputs)
    for entry in doc["cases"].values():
        del entry["numerics_sha256"]
    assert incremental.plan(inputs, typed(doc), None).run[0] == ("a", "no numerics digest recorded")


def test_a_case_with_errors_is_rerun(cases):
    inputs = inputs_for(cases)
    plan = incremental.plan(inputs, previous_for(inputs, broken=("a",)), None)
    assert plan.run == (("a", "it had errors"),) and plan.keep == ("b",)


def test_changed_environment_definition_reruns_everything(cases):
    inputs = inputs_for(cases)
    doc = previous_json(inputs)
    doc["env"] = dict(doc["env"], env_vars={"TF_ENABLE_ONEDNN_OPTS": "0"})
    plan = incremental.plan(inputs, typed(doc), None)
    assert plan.whole == "the environment's definition changed (harness/matrix/envs.py)" and len(plan.run) == 2
    retagged = typed(dict(previous_json(inputs), env=dict(inputs.env, tags=["default", "nightly"])))
    assert incremental.plan(inputs, retagged, None).up_to_date  # tags select, they change no number


@pytest.mark.parametrize(
    "doc, reason",
    [
        ({"status": "unavailable", "reason": "no Python 3.7"}, "the previous result was unavailable (no Python 3.7)"),
        ({"version": 1}, "written with schema 1"),
        ({"version": 0}, "is older than"),
    ],
)
def test_unavailable_or_older_results_rerun_everything(tmp_path, cases, doc, reason):
    inputs = inputs_for(cases)
    fakes.write(tmp_path, dict(previous_json(inputs), **doc))
    previous, unusable = incremental.read_previous(str(tmp_path), ENV)
    assert reason in unusable
    plan = incremental.plan(inputs, previous, unusable)
    assert [c for c, _ in plan.run] == ["a", "b"] and reason in plan.describe()


def test_results_of_a_newer_harness_are_never_run_over(tmp_path, cases):
    inputs = inputs_for(cases)
    fakes.write(tmp_path, dict(previous_json(inputs), version=RESULTS_VERSION + 1))
    with pytest.raises(InfrastructureError, match="written by a newer harness"):
        incremental.read_previous(str(tmp_path), ENV)


def test_force_reruns_and_a_forced_partial_run_keeps_the_others(cases):
    inputs = inputs_for(cases)
    previous = previous_for(inputs)
    assert incremental.plan(inputs, previous, None, force=True).describe() == "running 2 cases: forced"
    only_a = dataclasses.replace(inputs, cases=inputs.cases[:1])
    plan = incremental.plan(only_a, previous, None, force=True)
    assert plan.run == (("a", "forced"),) and plan.others == ("b",)


def test_a_case_that_is_gone_keeps_its_results(cases):
    inputs = inputs_for(cases)
    previous = previous_for(inputs)
    (cases / "b.py").unlink()
    plan = incremental.plan(inputs_for(cases), previous, None)
    assert plan.up_to_date and plan.others == ("b",) and "dropping" not in plan.describe()
    new = typed(fakes.result(ENV, {"a": fakes.case({"v": fakes.variant([2.0, 1.0])})}))
    assert list(incremental.merge(new, previous, plan).cases) == ["a", "b"]


def test_merge_keeps_the_unchanged_cases_in_case_order(cases):
    previous = previous_for(inputs_for(cases))
    (cases / "a.py").write_text(CASE_A + "# tuned\n")
    plan = incremental.plan(inputs_for(cases), previous, None)
    new = typed(fakes.result(ENV, {"a": fakes.case({"v": fakes.variant([2.0, 1.0])})}))
    merged = incremental.merge(new, previous, plan)
    assert list(merged.cases) == ["a", "b"]
    assert merged.cases["b"] == previous.cases["b"]
    assert merged.cases["a"].variants["v"].observables["loss"].values == [2.0, 1.0]
    # An environment that fails as a whole says so, and loses no earlier result.
    failed = typed(dict(fakes.result(ENV, {}), status="unavailable", reason="no interpreter"))
    kept = incremental.merge(failed, previous, plan)
    assert not kept.ok and kept.cases == previous.cases


# -- the user's cases folder -------------------------------------------------

def test_a_users_folder_replaces_the_builtin_cases(cases, monkeypatch):
    monkeypatch.delenv("HARNESS_CASES_DIR", raising=False)
    monkeypatch.delenv("HARNESS_WITH_BUILTIN_CASES", raising=False)
    assert run_options.parse_run_args([]).case_dirs == (config.BUILTIN_CASES,)
    assert run_options.parse_run_args(["--cases-dir", str(cases)]).case_dirs == (str(cases),)
    both = run_options.parse_run_args(["--cases-dir", str(cases), "--with-builtin-cases"])
    assert both.case_dirs == (config.BUILTIN_CASES, str(cases))
    assert {"a", "b", "linear_autoencoder"} <= set(run_options.selected_cases(both))


def test_cases_folder_and_force_from_the_environment(cases, tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.py").write_text(CASE_A)
    monkeypatch.setenv("HARNESS_CASES_DIR", f"{cases}{os.pathsep}{other}")
    monkeypatch.setenv("HARNESS_FORCE", "1")
    options = run_options.parse_run_args(["--results", "x"])
    assert options.case_dirs == (str(cases), str(other)) and options.force
    assert list(run_options.selected_cases(options)) == ["a", "b", "c"]
    assert run_options.parse_run_args(["--cases-dir", str(other)]).case_dirs == (str(other),)  # the flag wins
    monkeypatch.setenv("HARNESS_WITH_BUILTIN_CASES", "1")
    monkeypatch.setenv("HARNESS_FORCE", "0")
    options = run_options.parse_run_args([])
    assert options.case_dirs[0] == config.BUILTIN_CASES and not options.force


def test_ambiguous_or_missing_case_folders_are_usage_errors(cases, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.py").write_text(CASE_B)
    with pytest.raises(run_options.UsageError, match="two cases are named 'a'"):
        run_options.selected_cases(run_options.RunOptions(case_dirs=(str(cases), str(tmp_path / "mine"))))
    with pytest.raises(run_options.UsageError, match="does not exist"):
        run_options.selected_cases(run_options.RunOptions(case_dirs=(str(tmp_path / "nowhere"),)))
    with pytest.raises(run_options.UsageError, match="no case named c in"):
        run_options.selected_cases(run_options.RunOptions(case_dirs=(str(cases),), only=("a", "c")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(run_options.UsageError, match="no case modules"):
        run_options.selected_cases(run_options.RunOptions(case_dirs=(str(tmp_path / "empty"),)))


# -- a real environment through nox --------------------------------------------

QUICK_CASE = '''"""{doc}"""
import numpy as np
from harness.inenv import observe

def run(k, workdir):
    x = np.random.normal(0, 1, (32, 4))
    model = k.sequential([k.layers.Dense({units}, input_shape=(4,)), k.layers.Dense(1)])
    model.compile(optimizer=k.adam(), loss="mse")
    history = k.fit(model, x, x[:, :1], epochs=2)
    return {{"loss": observe.series(history["loss"], dtype="float32")}}
'''


@pytest.mark.envs
def test_nox_skips_an_unchanged_environment_before_syncing_and_reruns_one_changed_case(tmp_path):
    from tests.realenv import env_python

    env_python(ENV)  # built and synced from its lock, as nox -s matrix would
    folder = tmp_path / "cases"
    folder.mkdir()
    for name, units in (("first", 3), ("second", 5)):
        (folder / f"{name}.py").write_text(QUICK_CASE.format(doc=f"{name} quick case", units=units))
    results = tmp_path / "results"
    path = results / f"{ENV}.json"

    def matrix(*extra):
        cmd = [sys.executable, "-m", "nox", "-s", f"matrix({ENV})", "--", "--cases-dir", str(folder),
               "--results", str(results), "--golden", str(tmp_path / "golden"), "--report", "", "--repeat", "1",
               *extra]  # one run per variant: what is re-run is the point here, not determinism
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
        return proc.stdout + proc.stderr, time.monotonic() - started

    out, _ = matrix()
    assert "running 2 cases: no previous result" in out, out[-3000:]
    first = json.loads(path.read_text())
    assert [first["cases"][c]["status"] for c in ("first", "second")] == ["ok", "ok"]
    assert first["cases"]["first"]["runner_sha256"] == incremental.runner_digest()

    out, seconds = matrix()
    # A skip is a success (the aggregate `matrix` requires every environment session), logged with why.
    assert f"nox > {ENV}: up to date, skipped: lock, runner and 2 cases unchanged since " in out, out
    assert f"Session matrix({ENV}) was successful" in out, out
    assert "uv pip sync" not in out and json.loads(path.read_text()) == first
    assert seconds < 20, f"the skip path took {seconds:.1f} s"

    (folder / "second.py").write_text(QUICK_CASE.format(doc="second quick case, wider", units=6))
    out, _ = matrix()
    assert "running 1 of 2 cases: second (source changed); keeping first" in out, out[-3000:]
    third = json.loads(path.read_text())
    assert third["cases"]["first"] == first["cases"]["first"]  # kept as it was, timestamp and all
    assert third["cases"]["second"]["created"] > first["cases"]["second"]["created"]
    assert third["cases"]["second"]["source_sha256"] == incremental.file_digest(str(folder / "second.py"))

    out, _ = matrix("--force")
    assert "running 2 cases: forced" in out, out[-3000:]
    shutil.rmtree(results)
