"""The README's "Your own cases" walk-through, done exactly as written.

The test reads the section from README.md: it saves the Python block where the
text says to, then runs every line of the shell block, unchanged, in one bash
shell in the project folder. Only HOME points at a temporary folder (the example
lives under ~/gru-check); the uv cache and the Pythons stay where they are, so the
real pinned environments are used.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.realenv import env_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENVS = ["tf2.15-keras2", "tf2.21-keras3.13"]


def readme_section(title: str) -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start: end if end != -1 else len(text)]


def blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def shell_commands(block: str) -> list[str]:
    """The block's commands: comments and blank lines dropped, continuations joined."""
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_the_section_shows_a_case_of_the_users_own_and_the_commands_to_run_it():
    section = readme_section("Your own cases")
    target = re.search(r"Save it as `(~/[^`]+\.py)`", section).group(1)
    (case,) = blocks(section, "python")
    assert target == "~/gru-check/cases/gru_regression.py"
    assert "GRU" in case and "INVARIANTS" in case and "linear_autoencoder" not in case
    commands = shell_commands(blocks(section, "sh")[0])
    assert commands[0].startswith("export HARNESS_CASES_DIR=~/gru-check/cases")
    # An environment's session only runs its cases: `compare` after them gives the verdict.
    assert commands[1:] == [
        f'nox -s "matrix({ENVS[0]})" "matrix({ENVS[1]})" compare',
        f"nox -s bless -- {ENVS[0]} {ENVS[1]}",
        f'nox -s "matrix({ENVS[0]})" "matrix({ENVS[1]})" compare',
    ]
    for name in ("--cases-dir", "HARNESS_CASES_DIR", "--with-builtin-cases", "--golden", "HARNESS_GOLDEN"):
        assert name in section, name


def _pinned_tool_dirs() -> dict:
    """Where uv keeps its cache and Pythons, and pyenv its versions, before HOME moves."""
    uv = shutil.which("uv")
    out = {"PYENV_ROOT": os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")}
    if uv:
        for key, query in (("UV_CACHE_DIR", ["cache", "dir"]), ("UV_PYTHON_INSTALL_DIR", ["python", "dir"])):
            out[key] = subprocess.run([uv, *query], capture_output=True, text=True, check=True).stdout.strip()
    return {k: v for k, v in out.items() if v}


@pytest.mark.envs
def test_the_walk_through_runs_as_written(tmp_path):
    for env in ENVS:
        env_python(env)  # built and synced from the lock, as the first nox run would
    section = readme_section("Your own cases")
    target = re.search(r"Save it as `(~/[^`]+\.py)`", section).group(1)
    case_file = tmp_path / target[2:]
    case_file.parent.mkdir(parents=True)
    case_file.write_text(blocks(section, "python")[0])

    commands = shell_commands(blocks(section, "sh")[0])
    script = "".join(f'echo "@@@ {i}"\n{cmd}\necho "@@@ rc=$?"\n' for i, cmd in enumerate(commands))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    env.update(_pinned_tool_dirs(), HOME=str(tmp_path))
    # nox logs to stderr: one stream keeps each command's output between its markers.
    proc = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=3000, check=False)
    parts = re.split(r"^@@@ \d+\n", proc.stdout + "\n", flags=re.MULTILINE)[1:]
    outputs = [p.rsplit("@@@ rc=", 1) for p in parts]
    assert len(outputs) == len(commands), proc.stdout[-6000:]
    (_, rc_export), (first, rc_first), (bless, rc_bless), (again, rc_again) = [(o, int(rc)) for o, rc in outputs]
    log = proc.stdout[-8000:]

    # 1. the first run: both environments run the user's case, golden values are missing (exit code 5)
    assert rc_export == 0
    assert rc_first != 0 and "MISSING GOLDEN VALUES: 2" in first and "failed with exit code 5" in first, log
    for env in ENVS:
        assert f"{env}: running 1 case: no previous result" in first
    # 2. bless writes the user's golden folder, not the project's
    assert rc_bless == 0 and bless.count("gru_regression: new golden values") == 2, log
    golden = tmp_path / "gru-check" / "golden"
    for env in ENVS:
        assert "gru_regression" in json.loads((golden / f"{env}.json").read_text())["cases"]
        project_golden = os.path.join(ROOT, "golden", f"{env}.json")
        if os.path.exists(project_golden):
            with open(project_golden) as fh:
                assert "gru_regression" not in json.load(fh)["cases"]
    # 3. nothing changed: both environments are skipped, and the comparison passes
    assert rc_again == 0 and "verdict: PASS" in again, log
    for env in ENVS:
        assert f"nox > {env}: up to date, skipped: lock, runner and 1 case unchanged since " in again, log
        assert f"Session matrix({env}) was successful" in again

    summary = json.loads((tmp_path / "gru-check" / "report" / "summary.json").read_text())
    assert summary["cases"] == ["gru_regression"]  # the user's case replaced ours
    for env in ENVS:
        found = {(v["check"], v["outcome"]) for v in summary["verdicts"] if v["env"] == env}
        assert ("golden", "pass") in found and ("determinism", "pass") in found
        assert ("invariant:unrolling the GRU changes nothing", "pass") in found
    results = json.loads((tmp_path / "gru-check" / "results" / f"{ENVS[1]}.json").read_text())
    assert results["versions"]["keras"].startswith("3.13")
