"""The optional environment sets: selected by tag only, complete, and locked."""

import os
import re
import subprocess
import sys

import pytest
from packaging.version import Version

from harness import cli
from harness.matrix import envs, locks, sweeps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sweeps_stay_out_of_the_default_matrix():
    default = {e.id for e in envs.select()}
    assert not default & {e.id for e in sweeps.SWEEPS}
    ids = [e.id for e in envs.all_envs()]
    assert len(ids) == len(set(ids))


def test_each_sweep_tag_selects_its_set():
    assert envs.select(tags=[sweeps.KERAS3_SWEEP]) == list(sweeps.KERAS3_LINE)
    assert envs.select(tags=[sweeps.TFKERAS_SWEEP]) == list(sweeps.TF_KERAS_LINE)
    assert envs.select(tags=[sweeps.BACKENDS_SWEEP]) == list(sweeps.BACKENDS)
    assert envs.select(tags=[sweeps.SWEEP]) == list(sweeps.SWEEPS)


def test_keras3_sweep_has_every_minor_on_one_tensorflow():
    line = envs.select(tags=["default", sweeps.KERAS3_SWEEP])
    on_216 = [e for e in line if e.pin("tensorflow-cpu") == sweeps.SWEEP_TF and e.flavour == envs.KERAS3]
    minors = sorted(Version(e.pin("keras")).minor for e in on_216)
    assert minors == list(range(minors[-1] + 1))  # 3.0 (the default tf2.16-keras3.0) ... the newest, no gap
    newest_default = max(Version(e.pin("keras")) for e in envs.select() if e.pin("keras"))
    assert minors[-1] >= newest_default.minor


def test_tfkeras_sweep_fills_in_the_releases_before_2_16():
    releases = sorted(Version(e.pin("tf-keras")) for e in envs.select(tags=["default", sweeps.TFKERAS_SWEEP])
                      if e.pin("tf-keras"))
    assert {str(v) for v in releases} >= {"2.14.1", "2.15.0", "2.15.1", "2.16.0", "2.21.0"}
    for env in sweeps.TF_KERAS_LINE:  # tf-keras X.Y runs on TensorFlow X.Y
        assert Version(env.pin("tensorflow")).release[:2] == Version(env.pin("tf-keras")).release[:2]


def test_backends_sweep_runs_the_reference_keras_on_another_backend():
    reference = envs.by_id(envs.REFERENCE_ENV)
    for env in sweeps.BACKENDS:
        assert env.backend != "tensorflow" and env.pin("keras") == reference.pin("keras")
        assert ("KERAS_BACKEND", env.backend) in env.env_vars


@pytest.mark.parametrize("env", sweeps.SWEEPS, ids=lambda e: e.id)
def test_every_sweep_environment_has_a_lock_made_for_it(env):
    with open(locks.lock_path(env, ROOT)) as fh:
        text = fh.read()
    assert f"# Lock for environment {env.id}:" in text
    assert f"resolved as of {env.exclude_newer}" in text
    for req in env.requirements:
        name, version = req.split("==")
        assert re.search(rf"^{re.escape(name)}=={re.escape(version)} ", text, re.MULTILINE), (env.id, req)
    assert "--hash=sha256:" in text


def test_harness_tags_picks_the_set_for_the_cli(monkeypatch, capsys):
    monkeypatch.setenv("HARNESS_TAGS", sweeps.KERAS3_SWEEP)
    assert cli.main(["list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [e.id for e in sweeps.KERAS3_LINE]


def test_harness_tags_picks_the_matrix_sessions():
    env = dict(os.environ, HARNESS_TAGS=sweeps.BACKENDS_SWEEP)
    proc = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sessions = re.findall(r"^[*-] matrix\(([^)]+)\)", proc.stdout, re.MULTILINE)
    assert sessions == [e.id for e in sweeps.BACKENDS]
