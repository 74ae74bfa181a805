"""The benchmark's pieces (bench/), each on a small real input. Nothing here is timed:
the benchmark prints figures, it does not assert them."""

import json
import os
import sys

import pytest

from bench import breakdown, floor, harness_runs, scaling, selection
from bench.measure import children_peak_mb, run_measured
from harness.inenv.cases import discover, source_digest
from harness.matrix import envs
from harness.run import options

ENV = "tf2.15-keras2"
CASE = "samplewise_normalization"  # the cheapest case: a few layer calls, no training loop


def test_measure_sees_the_time_and_memory_of_the_process_tree(tmp_path):
    # A grandchild holds 200 MB for a moment: peak memory covers the whole tree.
    inner = "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.3)"
    outer = f"import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', {inner!r}]).returncode + 3)"
    measured = run_measured([sys.executable, "-c", outer], str(tmp_path / "log"))
    assert measured.returncode == 3
    assert measured.seconds >= 0.3
    assert 200 <= measured.max_rss_mb < 400
    assert children_peak_mb() >= measured.max_rss_mb


def test_a_measured_command_keeps_its_temporary_files_to_itself(tmp_path):
    # TensorFlow writes autograph sources to the temporary folder and never removes them.
    script = "import tempfile; fd, path = tempfile.mkstemp(suffix='.py'); print(path)"
    measured = run_measured([sys.executable, "-c", script], str(tmp_path / "log"))
    assert measured.returncode == 0
    left = (tmp_path / "log").read_text().strip()
    assert os.path.basename(os.path.dirname(left)).startswith("tfrepro-bench-tmp-")
    assert not os.path.exists(os.path.dirname(left))


def test_fit_line_tells_a_line_from_a_curve():
    line = scaling.fit_line([1, 2, 3], [12.0, 15.0, 18.0])
    assert (round(line.intercept, 9), round(line.slope, 9), line.worst_residual) == (9.0, 3.0, 0.0)
    assert line.linear()
    assert not scaling.fit_line([1, 2, 4], [1.0, 4.0, 16.0]).linear()
    with pytest.raises(ValueError):
        scaling.fit_line([2, 2], [1.0, 1.0])


def test_additive_growth_is_told_from_environments_slowing_each_other():
    steady = [(1, 12.0, {"a": 10.0, "compare": 1.5}), (2, 32.1, {"a": 10.2, "b": 20.0, "compare": 1.5})]
    assert "linear (time" in scaling.render_additive(steady)[0]
    slower = [(1, 12.0, {"a": 10.0, "compare": 1.5}), (2, 36.0, {"a": 14.0, "b": 20.0, "compare": 1.5})]
    assert "not linear" in scaling.render_additive(slower)[0]


def test_copies_of_a_case_differ_only_in_name(tmp_path):
    path = options.selected_cases(options.RunOptions(only=(CASE,)))[CASE]
    folder = scaling.copies_of_case(path, 3, str(tmp_path / "cases"))
    found = discover([folder])
    assert sorted(found) == [f"{CASE}_1", f"{CASE}_2", f"{CASE}_3"]
    assert {source_digest(p) for p in found.values()} == {source_digest(path)}


def test_selection_and_phases_from_the_command_line():
    args = selection.parse_args(["--envs", f"{ENV},jax-keras3.15", "--cases", CASE])
    chosen = selection.select(args)
    assert chosen.env_ids == [ENV, "jax-keras3.15"] and list(chosen.cases) == [CASE]
    assert chosen.case_args() == ["--case", CASE] and not chosen.full
    everything = selection.select(selection.parse_args([]))
    assert everything.full and everything.case_args() == []
    assert everything.env_ids == [s.id for s in envs.select(tags=["default"])]
    with pytest.raises(SystemExit):
        selection.parse_args(["--phases", "cold,lukewarm"])


def test_nox_command_runs_the_aggregate_matrix_with_jobs(tmp_path):
    noxfile = harness_runs.write_noxfile(str(tmp_path), ["a", "b"])
    cmd = harness_runs.nox_command(noxfile, "/tmp/e", 2, "/tmp/r.json", ["--force"])
    # The aggregate session runs the environments' sessions (-j at a time), then evidence and compare.
    assert cmd[cmd.index("-s") + 1: cmd.index("--")] == ["matrix"]
    assert cmd[cmd.index("-j") + 1] == "2" and cmd[-1] == "--force"
    assert "matrix_sessions(envs=['a', 'b'])" in read(noxfile)


def test_an_up_to_date_environment_is_told_skipped_from_its_log(tmp_path):
    # nox reports an up-to-date environment's session as a success; its log line says it skipped.
    log = tmp_path / "unchanged.log"
    log.write_text(f"nox > Running session matrix({ENV})\n"
                   f"nox > {ENV}: up to date, skipped: lock, runner and 1 case unchanged since 2026-11-29T10:00:00Z\n"
                   "nox > Running session matrix(tf2.21-keras3.13)\n"
                   "nox > tf2.21-keras3.13: running 1 case: source changed\n")
    outcomes = {ENV: "success", "tf2.21-keras3.13": "success", "tf1.14-keras2": "failed", "compare": "success"}
    assert harness_runs.skips(outcomes, str(log), [ENV, "tf2.21-keras3.13", "tf1.14-keras2"]) == {
        ENV: "skipped", "tf2.21-keras3.13": "success", "tf1.14-keras2": "failed", "compare": "success"}


def test_nox_report_is_read_per_environment(tmp_path):
    report = tmp_path / "nox-report.json"
    report.write_text(json.dumps({"result": 1, "sessions": [
        {"args": {}, "name": f"matrix({ENV})", "result": "success", "duration": 5.0},
        {"args": {}, "name": "compare", "result": "failed", "duration": 1.25}]}))
    assert harness_runs.read_nox_report(str(report)) == ({ENV: 5.0, "compare": 1.25},
                                                         {ENV: "success", "compare": "failed"})
    assert harness_runs.read_nox_report(str(tmp_path / "none.json")) == ({}, {})


def read(path):
    with open(path) as fh:
        return fh.read()


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """The floor and a cold then an unchanged `nox -s matrix` (-j 2), one environment, one case."""
    from harness.matrix import interpreters

    spec = envs.by_id(ENV)
    if interpreters.resolve(spec.python) is None:
        pytest.skip(interpreters.explain_missing(spec.python))
    work = str(tmp_path_factory.mktemp("bench"))
    case_file = options.selected_cases(options.RunOptions(only=(CASE,)))[CASE]
    floored = floor.run_floor([spec], [case_file], os.path.join(work, "floor"))
    results, envdir = os.path.join(work, "results"), os.path.join(work, "nox")
    # --repeat 2, as the bench passes its own default: a repeat beside the first run whatever golden/
    # holds for this machine (the harness's auto policy would decide from that).
    args = ["--case", CASE, "--repeat", "2"]
    cold = harness_runs.run_matrix("cold", [ENV], work, envdir, 2, results, args)
    unchanged = harness_runs.run_matrix("unchanged", [ENV], work, envdir, 2, results, args)
    return floored, cold, unchanged


@pytest.mark.envs
def test_floor_builds_with_uv_and_trains_once(measured):
    floored, _, _ = measured
    (env,) = floored.envs
    assert env.run is not None and env.run.returncode == 0, read(env.run.log)[-3000:]
    assert env.build_seconds > 0 and env.import_seconds > 0
    assert list(env.case_seconds) == [CASE]
    assert env.run.seconds > env.import_seconds + env.case_seconds[CASE]  # the interpreter's start is outside
    assert env.run.max_rss_mb > 100  # TensorFlow was imported


@pytest.mark.envs
def test_parallel_matrix_runs_compare_once_after_the_environment(measured):
    _, cold, unchanged = measured
    log = read(cold.measured.log)
    assert cold.outcomes[ENV] == "success", log[-4000:]
    # The aggregate session "matrix" gathers evidence and compares, once, after the environment
    # (with no golden values here compare's verdict is "missing golden values": the session fails).
    assert "matrix" in cold.outcomes and cold.evidence_seconds is not None
    # The evidence step's last line, in either form (done, or nothing to run), as the bench reads it.
    ends = [m for m in (harness_runs.EVIDENCE_LINE.search(line) for line in log.splitlines()) if m]
    assert len(ends) == 1 and log.count("verdict:") == 1
    assert log.index("Running session matrix(tf2.15-keras2)") < log.index(ends[0].group(0)) < log.index("verdict:")
    assert unchanged.outcomes[ENV] == "skipped" and "matrix" in unchanged.outcomes


@pytest.mark.envs
def test_breakdown_accounts_for_the_session(measured):
    floored, cold, _ = measured
    (cost,) = breakdown.env_costs(cold, floored)
    timing = cold.results[ENV]["timing"]
    assert cost.session == cold.sessions[ENV]
    assert cost.framework_import == timing["imports"][0] > 0
    assert 0 < cost.worker_start < cost.framework_import
    assert cost.repeat == timing["second_process"]["cases"][CASE] > 0 and cost.repeat_beside
    assert cost.setup > 0 and cost.supervisor_rest >= 0 and cost.write > 0
    # The repeat ran in a second worker at the same time: it takes nothing off the session.
    assert cost.overhead == pytest.approx(cost.session - floored.envs[0].seconds)
    assert cost.own < cost.framework_import  # the harness's own share is small beside TensorFlow's import
    assert "tf2.15-keras2" in "\n".join(breakdown.render([cost]))


@pytest.mark.envs
def test_the_pairs_line_sets_the_cold_run_against_bare_runs_side_by_side(measured, tmp_path):
    from bench import matrix_bench

    floored, cold, _ = measured
    args = selection.parse_args(["--envs", ENV, "--cases", CASE, "--workdir", str(tmp_path)])
    bench = matrix_bench.Bench(args, selection.select(args))
    bench.floor, bench.runs["cold"] = floored, cold
    assert not bench._pairs_lines(floored)  # no pairs phase: no line
    bench.pairs = floored  # the same bare run standing for both: side by side as fast as alone
    pairs, against = bench._pairs_lines(floored)
    assert "= 1.00 x floor (each bare run 1.00 x as long as alone, 1 environment(s))" in pairs
    expected = cold.measured.seconds / floored.wall_seconds
    assert against.endswith(f"= {expected:.2f} x") and bench.figures["cold_over_pairs"] == pytest.approx(expected)
