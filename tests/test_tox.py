"""tox: the matrix environments come from harness/matrix/envs.py through toxfile.py, named as nox
names them; each installs its lock on its own Python and runs the harness's supervisor;
`tox -e` and `tox p` write results that one `compare` turns into one report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from harness.matrix import envs, interpreters, locks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAIR = ["tf2.15-keras2", "tf2.21-keras3.13"]
CASE = "linear_autoencoder"


def tox(*args: str, timeout: float = 120, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    # `tox -e tests` sets TOX_* variables that would steer the inner tox
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOX_")}
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "tox", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def listed(*args: str) -> list[str]:
    proc = tox("l", "--no-desc", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def test_tox_and_nox_name_the_same_environments():
    proc = subprocess.run([sys.executable, "-m", "nox", "-l", "--json"], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    nox_envs = [s["name"][len("matrix("):-1] for s in json.loads(proc.stdout) if s["name"].startswith("matrix(")]
    assert nox_envs == [s.id for s in envs.select()]
    assert listed("-m", "matrix") == nox_envs
    assert set(listed()) == set(nox_envs) | {"tests"}


def test_the_tests_are_the_default_tox_environment():
    assert listed("-d") == ["tests"]


def config(env_id: str, *keys: str, extra_env: dict | None = None) -> dict[str, str]:
    proc = tox("c", "-e", env_id, "-k", *keys, "--", "--case", CASE, extra_env=extra_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            out[key] = value
    return out


def test_a_matrix_environment_installs_its_lock_on_its_python_and_runs_the_supervisor():
    spec = envs.by_id("tf2.15-keras2")
    conf = config(spec.id, "base_python", "deps", "commands", "package", "runner", "labels", "change_dir")
    python = interpreters.resolve(spec.python)
    assert conf["base_python"] == (python or f"python{spec.python}")
    assert conf["deps"] == f"-r {locks.lock_path(spec, ROOT)}"
    assert conf["package"] == "skip" and conf["runner"] == "uv-venv-runner" and conf["labels"] == "matrix"
    assert conf["change_dir"] == ROOT
    host, *rest = conf["commands"].split(" ")
    # The supervisor runs on tox's own Python (>= 3.10, numpy); the worker on the environment's.
    assert rest == ["-m", "harness", "run", spec.id, "--python",
                    os.path.join(ROOT, ".tox", spec.id, "bin", "python"), "--case", CASE]
    check = subprocess.run([host, "-c", "import numpy, packaging, sys; print(sys.version_info >= (3, 10))"],
                           capture_output=True, text=True, check=False)
    assert check.stdout.strip() == "True", check.stderr


def test_an_environment_without_its_python_names_the_missing_version():
    # A broken override is how harness.interpreters finds no Python 3.7 on any machine.
    conf = config("tf1.14-keras2", "base_python", extra_env={"HARNESS_PYTHON_3_7": "/nonexistent/python3.7"})
    assert conf["base_python"] == "python3.7"  # tox then reports it missing, or skips it when asked to


@pytest.mark.envs
def test_tox_e_and_tox_p_feed_one_report(tmp_path):
    from tests.realenv import env_python

    for env in PAIR:
        env_python(env)  # skips when the environment's Python is missing here; warms uv's cache

    one = tmp_path / "one"
    proc = tox("-e", PAIR[0], "--", "--case", CASE, "--results", str(one), timeout=3000)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    doc = json.loads((one / f"{PAIR[0]}.json").read_text())
    assert doc["status"] == "ok", doc.get("reason")
    assert doc["fingerprint"]["executable"] == os.path.join(ROOT, ".tox", PAIR[0], "bin", "python")
    assert doc["versions"]["tensorflow"] == envs.by_id(PAIR[0]).pin("tensorflow-cpu")

    both = tmp_path / "both"
    proc = tox("p", "-e", ",".join(PAIR), "--", "--case", CASE, "--results", str(both), timeout=3000)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for env in PAIR:
        assert json.loads((both / f"{env}.json").read_text())["status"] == "ok"
    # tox -e and tox p ran the same bits
    again = json.loads((both / f"{PAIR[0]}.json").read_text())
    def observables(d: dict) -> dict:
        return {name: v["observables"] for name, v in d["cases"][CASE]["variants"].items()}

    assert observables(again) == observables(doc)

    # what tox wrote, merged, makes one report
    merged = tmp_path / "merged"
    merged.mkdir()
    shutil.copy(one / f"{PAIR[0]}.json", merged)
    shutil.copy(both / f"{PAIR[1]}.json", merged)
    report = tmp_path / "report"
    subprocess.run([sys.executable, "-m", "harness", "compare", "--results", str(merged), "--report",
                    str(report)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    summary = json.loads((report / "summary.json").read_text())
    ran = {v["env"] for v in summary["verdicts"] if v["check"] == "run" and v["outcome"] == "pass"}
    assert ran == set(PAIR)
