"""The CI files: the GitHub workflow is valid, pinned and free of injections; the GitLab
pipeline is generated from harness/matrix/envs.py; the CI's steps, run here in order (list, two
environments on two "machines", merge, compare), give the verdicts of one nox run; results
from another machine are compared within tolerance and the summary says the machines differ."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest
import yaml

from harness import cli
from harness.matrix import envs
from tests import fakes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "matrix.yml")
GITLAB = os.path.join(ROOT, "ci", "gitlab-ci.yml")
MATRIX_SCRIPT = os.path.join(ROOT, "ci", "matrix.py")
sys.path.insert(0, os.path.join(ROOT, "ci"))
import matrix as ci_matrix  # ci/matrix.py

CHECK_JSONSCHEMA = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]


def load(path: str) -> dict:
    with open(path) as fh:
        return yaml.load(fh, Loader=yaml.BaseLoader)  # BaseLoader: "on" stays a key, every value a string


def tool(name: str) -> list[str]:
    """A command-line tool of the test environment (zizmor is a binary, not a module)."""
    beside = os.path.join(sysconfig.get_path("scripts"), name)
    found = beside if os.path.exists(beside) else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extras (pip install -e '.[test]')")
    return [found]


def listing() -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "harness", "list", "--json"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def matrix_script(kind: str) -> str:
    """python -m harness list --json | python3 ci/matrix.py <kind>, as the CI runs it."""
    return subprocess.run([sys.executable, MATRIX_SCRIPT, kind], input=json.dumps(listing()), text=True,
                          capture_output=True, check=True).stdout


def steps(job: dict) -> list[dict]:
    return job["steps"]


# -- the GitHub workflow -------------------------------------------------------------------
def test_workflow_matches_githubs_schema():
    proc = subprocess.run([*CHECK_JSONSCHEMA, "vendor.github-workflows", WORKFLOW], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_passes_zizmor_offline():
    proc = subprocess.run([*tool("zizmor"), "--offline", "--no-progress", WORKFLOW], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_action_is_pinned_by_commit_with_its_version_named():
    with open(WORKFLOW) as fh:
        uses = re.findall(r"uses:\s*(\S+)(.*)", fh.read())
    assert {u.split("@")[0] for u, _ in uses} == {
        "actions/checkout", "astral-sh/setup-uv", "actions/setup-python", "actions/upload-artifact",
        "actions/download-artifact"}
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", comment), (ref, comment)
    # one version of each action
    assert len({u for u, _ in uses}) == 5


def test_workflow_reads_only_and_passes_matrix_values_through_env():
    wf = load(WORKFLOW)
    assert wf["permissions"] == {"contents": "read"}
    for name, job in wf["jobs"].items():
        assert "permissions" not in job, name
        for step in steps(job):
            if "run" in step:  # an expression inside a script is a template injection
                assert "${{" not in step["run"], (name, step.get("name"))
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] == "false"


def test_workflow_fans_out_from_the_listing_and_merges_into_one_report():
    jobs = load(WORKFLOW)["jobs"]
    assert list(jobs) == ["list", "run", "report"]
    listed = " ".join(s.get("run", "") for s in steps(jobs["list"]))
    assert "tfrepro list --json" in listed and "ci/matrix.py github" in listed and "GITHUB_OUTPUT" in listed

    run = jobs["run"]
    assert run["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.list.outputs.matrix) }}"
    assert run["strategy"]["fail-fast"] == "false"
    assert run["runs-on"] == "${{ matrix.runner }}"
    assert run["env"]["HARNESS_SKIP_COMPARE"] == "1"
    scripts = " ".join(s.get("run", "") for s in steps(run))
    assert 'nox -s "matrix($ENV_ID)"' in scripts and 'uv python install "$PYTHON_VERSION"' in scripts
    upload = next(s for s in steps(run) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "results-${{ matrix.env }}"  # one artifact per environment
    paths = upload["with"]["path"].splitlines()
    assert paths == ["results/${{ matrix.env }}.json", "results/${{ matrix.env }}.log"]
    assert upload["if"] == "${{ !cancelled() }}"

    report = jobs["report"]
    assert report["needs"] == ["list", "run"] and "!cancelled()" in report["if"]
    download = next(s for s in steps(report) if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"pattern": "results-*", "path": "results", "merge-multiple": "true"}
    scripts = "\n".join(s.get("run", "") for s in steps(report))
    assert "tfrepro compare --results results --report report" in scripts
    assert "report/report.md" in scripts and "$GITHUB_STEP_SUMMARY" in scripts
    assert 'exit "${EXIT_CODE:-4}"' in scripts  # the job fails with the harness's exit code
    uploads = [s for s in steps(report) if s.get("uses", "").startswith("actions/upload-artifact@")]
    uploaded = [s["with"]["path"] for s in uploads]
    assert uploaded == ["report/", "report/junit.xml"]


def test_github_matrix_names_every_environment_once_with_a_python_source():
    out = matrix_script("github")
    assert out.startswith("matrix=") and out.count("\n") == 1  # one line for $GITHUB_OUTPUT
    entries = json.loads(out[len("matrix="):])
    assert [e["env"] for e in entries] == [s.id for s in envs.select()]
    for entry in entries:
        spec = envs.by_id(entry["env"])
        assert entry["python"] == spec.python
        from_uv = ci_matrix.uv_has_build(spec.python)
        assert entry["python_from"] == ("uv" if from_uv else "setup-python")
        assert entry["runner"] == (ci_matrix.UV_RUNNER if from_uv else ci_matrix.SETUP_PYTHON_RUNNER)
    # uv has no Python 3.7 today; the 3.7 environments must still get one.
    assert {e["python_from"] for e in entries if e["python"] == "3.7"} <= {"setup-python", "uv"}


def test_github_matrix_asks_uv_once_per_python_version():
    asked = []

    def has_build(version):
        asked.append(version)
        return version != "3.7"

    entries = ci_matrix.github_matrix(listing(), has_build)
    assert sorted(asked) == sorted({s.python for s in envs.select()})
    assert {e["runner"] for e in entries if e["python"] == "3.7"} == {ci_matrix.SETUP_PYTHON_RUNNER}


# -- the GitLab example --------------------------------------------------------------------
def test_gitlab_pipeline_is_generated_from_the_environment_definition():
    generated = matrix_script("gitlab")
    with open(GITLAB) as fh:
        committed = fh.read()
    assert committed == generated, (
        "ci/gitlab-ci.yml is out of date; regenerate it: "
        "python -m harness list --json | python3 ci/matrix.py gitlab > ci/gitlab-ci.yml")


def test_gitlab_pipeline_matches_gitlabs_schema():
    proc = subprocess.run([*CHECK_JSONSCHEMA, "vendor.gitlab-ci", GITLAB], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gitlab_pipeline_runs_each_environment_on_its_python_then_one_report():
    pipeline = load(GITLAB)
    assert pipeline["stages"] == ["run", "report"]
    run = pipeline["run"]
    jobs = [(entry["PYTHON"], env) for entry in run["parallel"]["matrix"] for env in entry["ENV"]]
    assert sorted(jobs) == sorted((s.python, s.id) for s in envs.select())
    assert run["image"] == "python:$PYTHON" and run["variables"]["HARNESS_SKIP_COMPARE"] == "1"
    assert run["script"][0] == 'uvx --python "$HOST_PYTHON" --from "nox[uv]>=2026.8.17" nox -s "matrix($ENV)"'
    assert run["artifacts"]["paths"] == ["results/$ENV.json", "results/$ENV.log"]
    assert run["artifacts"]["when"] == "always"

    report = pipeline["report"]
    assert report["needs"] == ["run"] and report["when"] == "always"
    assert report["script"] == [
        'uvx --python "$HOST_PYTHON" --from . tfrepro compare --results results --report report']
    assert report["artifacts"]["reports"]["junit"] == "report/junit.xml"


# -- results from another machine ----------------------------------------------------------
def _other_machine(doc: dict) -> dict:
    other = json.loads(json.dumps(doc))
    other["fingerprint"]["cpu"] = {"model": "Intel Xeon", "flags": ["sse4_2", "avx", "avx2", "fma"]}
    return other


def test_results_from_another_machine_pass_within_tolerance_and_the_summary_says_so(tmp_path, monkeypatch,
                                                                                   capsys):
    monkeypatch.chdir(tmp_path)
    here = {"model": "AMD EPYC", "flags": ["sse4_2", "avx", "avx2", "fma", "avx512f"]}
    toy = {"toy": fakes.case({"a": fakes.variant([1.0, 0.5])})}
    for env in ("tf2.14-keras2", "tf2.15-keras2"):
        doc = fakes.result(env, toy)
        doc["fingerprint"]["cpu"] = here
        fakes.write(tmp_path / "results", doc)
        assert cli.main(["bless", env]) == 0

    # tf2.15-keras2 again, from a machine without AVX-512: the last bits of one value move.
    other = _other_machine(fakes.result("tf2.15-keras2", toy))
    other["cases"]["toy"]["variants"]["a"]["observables"]["loss"]["values"][1] = 0.5 * (1 + 2e-7)
    fakes.write(tmp_path / "results", other)
    capsys.readouterr()
    assert cli.main(["compare", "--tag", "default", "--report", "report"]) == 0
    out = capsys.readouterr().out
    assert "verdict: PASS" in out
    # The machine difference is said once, as the cause of what it moved.
    assert "SHARED CAUSES" in out and "cause: another machine: CPU AMD EPYC → Intel Xeon, CPU features -avx512f" in out
    # cross-version: tf2.14-keras2 (this machine) -> tf2.15-keras2 (the other one)
    assert "      packages: CPU AMD EPYC → Intel Xeon, CPU features -avx512f" in out

    verdicts = json.loads((tmp_path / "report" / "summary.json").read_text())["verdicts"]
    golden = [v for v in verdicts if (v["env"], v["case"], v["check"]) == ("tf2.15-keras2", "toy", "golden")]
    assert [(v["status"], v["outcome"]) for v in golden] == [("close", "pass")]
    drift = [v for v in verdicts if (v["env"], v["check"]) == ("tf2.15-keras2", "drift:previous")]
    assert drift[0]["against"] == "tf2.14-keras2" and "CPU features -avx512f" in drift[0]["packages"]


def test_the_same_machine_gets_no_note(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    doc = fakes.result("tf2.15-keras2", {"toy": fakes.case({"a": fakes.variant([1.0, 0.5])})})
    fakes.write(tmp_path / "results", doc)
    assert cli.main(["bless", "tf2.15-keras2"]) == 0
    capsys.readouterr()
    assert cli.main(["compare", "--tag", "default", "--report", ""]) == 0
    assert "another machine" not in capsys.readouterr().out


# -- the CI's steps, run here -----------------------------------------------------------------
PAIR = ["tf2.15-keras2", "tf2.21-keras3.13"]
CASE = "linear_autoencoder"


def nox(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nox", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=3000, env={**os.environ, **(env or {})}, check=False)


def verdicts_of(summary_path) -> tuple[dict, str, int]:
    summary = json.loads(summary_path.read_text())
    table = {(v["env"], v["case"], v["check"], v["variant"]): (v["status"], v["outcome"])
             for v in summary["verdicts"]}
    return table, summary["verdict"], summary["exit_code"]


@pytest.mark.envs
def test_ci_steps_in_sequence_give_the_verdicts_of_one_nox_run(tmp_path):
    from tests.realenv import env_python

    for env in PAIR:
        env_python(env)  # builds .nox/matrix-<env> from its lock (or skips: no such Python here)

    # 1. list: the matrix the workflow fans out over
    out = matrix_script("github")
    entries = {e["env"]: e for e in json.loads(out[len("matrix="):])}
    assert set(PAIR) <= set(entries)

    # 2. one job per environment, each on its own "machine" (results folder), compare skipped
    merged = tmp_path / "merged"
    merged.mkdir()
    for i, env in enumerate(PAIR):
        machine = tmp_path / f"machine{i}"
        proc = nox("-s", f"matrix({env})", "--", "--case", CASE, "--results", str(machine / "results"),
                   env={"HARNESS_SKIP_COMPARE": "1", "HARNESS_REPORT": str(machine / "report")})
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        assert "Running session compare" not in proc.stderr and not (machine / "report").exists()
        written = sorted(name for name in os.listdir(machine / "results") if not name.startswith("."))
        # The job uploads the results and the first worker's log; the determinism worker's log
        # (written where a variant was repeated) and the saved initial weights stay on the runner.
        doc = json.loads((machine / "results" / f"{env}.json").read_text())
        repeated = any(v["determinism"] == "repeated" for v in doc["cases"][CASE]["variants"].values())
        assert written == [f"{env}.json", f"{env}.log", *([f"{env}.repeat.log"] if repeated else []),
                           f"{env}.state"]
        assert (machine / "results" / f"{env}.state").is_dir()
        # 3. merge: download-artifact with merge-multiple puts every file in one folder
        for name in (f"{env}.json", f"{env}.log"):
            shutil.copy(machine / "results" / name, merged / name)

    # 4. the report job: compare the merged results (here through nox, as a user merges locally), for
    # the case the jobs ran
    proc = nox("-s", "compare", "--", "--case", CASE, "--results", str(merged), "--report", str(tmp_path / "report"))
    merged = verdicts_of(tmp_path / "report" / "summary.json")

    # 5. one nox run of both environments, then compare (an environment's session only runs)
    combined = tmp_path / "combined"
    single = nox("-s", *[f"matrix({e})" for e in PAIR], "compare", "--", "--case", CASE, "--results",
                 str(combined / "results"), "--report", str(combined / "report"))
    one_run = verdicts_of(combined / "report" / "summary.json")

    assert {key[0] for key in merged[0]} >= set(PAIR)
    assert merged == one_run  # every verdict, the verdict line and the exit code
    assert (proc.returncode == 0) == (single.returncode == 0) == (one_run[2] == 0)
