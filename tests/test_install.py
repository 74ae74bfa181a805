"""tfrepro as an installed tool, used from a project of its own (issue 16).

The wheel carries the environment definitions, locks, built-in cases and known
failures; `tfrepro init` lays out a project; the reusable GitHub workflow fans out a
project's own matrix. The `envs` test does it all for real: wheel built, installed
(not editable) into fresh virtualenvs on Python 3.10 and 3.12, a project folder
outside the checkout with one small case, `tfrepro init`, `nox -s "matrix(tf2.15-keras2)"`,
bless and compare to PASS, and nothing written into the installed package.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest
import yaml

from harness import cli, config, init, sessions
from harness.matrix import envs, interpreters

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "tfrepro.yml")
OURS = os.path.join(ROOT, ".github", "workflows", "matrix.yml")
ENV = "tf2.15-keras2"
VERBS = ("compare", "bless", "run", "bisect", "list", "init")

TINY_CASE = '''\
"""A tiny Dense regression, a few steps: the user's own case."""
import numpy as np

from harness.inenv import observe

VARIANTS = {"tanh": {"act": "tanh"}}


def run(k, workdir, act):
    x = np.random.normal(0, 1, (32, 3)).astype("float32")
    y = (x[:, :1] - x[:, 1:2]).astype("float32")
    model = k.sequential([k.layers.Dense(4, activation=act, input_shape=(3,)), k.layers.Dense(1)])
    model.compile(optimizer=k.optimizer("adam", learning_rate=0.01), loss="mse")
    history = k.fit(model, x, y, epochs=2, batch_size=16, shuffle=False)
    return {"loss": observe.series(history["loss"], dtype="float32"),
            "final_weight_sums": observe.series(k.weight_sums(model), axis="layer")}
'''


def uv() -> list[str]:
    found = shutil.which("uv") or os.path.join(sysconfig.get_path("scripts"), "uv")
    if not os.path.exists(found):
        pytest.fail("uv is not installed: install the test extras (pip install -e '.[test]')")
    return [found]


def clean_environment(**extra: str) -> dict:
    """The environment without this checkout's virtualenv or HARNESS_* settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "NOX_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(extra)
    return env


SOURCES = ("pyproject.toml", "README.md", "known_failures.toml", "harness", "tfrepro", "cases", "locks")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    """The wheel, built from a copy of what it is made of: setuptools reuses a build/
    folder, where a module deleted since the last build would still be, and the
    checkout stays as it is."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = os.path.join(ROOT, name)
        if os.path.isdir(path):
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, source / name)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([*uv(), "build", "--wheel", "--out-dir", str(out), str(source)], capture_output=True,
                          text=True, timeout=600, check=False, env=clean_environment())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (found,) = glob.glob(str(out / "tfrepro-*.whl"))
    return found


# -- the wheel ----------------------------------------------------------------------------------
def test_pyproject_names_every_package_of_the_checkout():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        listed = set(tomllib.load(fh)["tool"]["setuptools"]["packages"])
    on_disk = {os.path.relpath(folder, ROOT).replace(os.sep, ".")
               for folder, _, files in os.walk(ROOT)
               if "__init__.py" in files and os.path.relpath(folder, ROOT).split(os.sep)[0] in ("harness", "tfrepro")}
    assert listed == on_disk | {"harness.data.cases", "harness.data.locks"}


def test_the_wheel_carries_the_tools_data_and_nothing_of_the_checkout(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    expected = {"harness/matrix/envs.py", "harness/data/known_failures.toml", "harness/init.py", "tfrepro/nox.py",
                "tfrepro/ci.py", "tfrepro/__main__.py"}
    expected |= {"harness/data/cases/" + n for n in os.listdir(os.path.join(ROOT, "cases")) if n.endswith(".py")}
    expected |= {"harness/data/locks/" + n for n in os.listdir(os.path.join(ROOT, "locks")) if n.endswith(".txt")}
    expected |= {"harness/inenv/" + n for n in os.listdir(os.path.join(ROOT, "harness", "inenv")) if n.endswith(".py")}
    assert expected <= names, sorted(expected - names)
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"harness", "tfrepro"}
    assert not [n for n in names if re.search(r"(noxfile|toxfile)\.py$|^golden/|^tests/", n)]
    for n in ("known_failures.toml", "cases/tanh_mlp.py", "locks/tf2.15-keras2.txt"):
        with zipfile.ZipFile(wheel) as zf, open(os.path.join(ROOT, n), "rb") as fh:
            assert zf.read("harness/data/" + n) == fh.read(), n
    assert "Requires-Python: >=3.10" in metadata
    assert re.search(r"Requires-Dist: tomli>=1\.1; python_version < \"3\.11\"", metadata), metadata
    assert re.search(r"Requires-Dist: nox\[uv\]>=2026\.8\.17", metadata)
    assert re.search(r"Classifier: Programming Language :: Python :: 3\.13", metadata)


def test_uvx_runs_the_wheel(wheel, tmp_path):
    run = [*uv(), "tool", "run", "--isolated", "--from", wheel, "tfrepro"]
    env = clean_environment()
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
                            check=False)
    assert helped.returncode == 0, helped.stderr[-3000:]
    for verb in VERBS:
        assert verb in helped.stdout
    listed = subprocess.run([*run, "list", "--json"], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=600, check=False)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert [e["id"] for e in json.loads(listed.stdout)] == [s.id for s in envs.select()]
    made = subprocess.run([*run, "init", "project"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=600, check=False)
    assert made.returncode == 0, made.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "project")) == [".gitignore", "cases", "noxfile.py"]


def test_an_older_nox_without_parallel_sessions_still_lists_and_runs_them_one_at_a_time(tmp_path):
    # nox runs sessions side by side from 2026.8.17 on; with an older nox already installed the
    # noxfile once died on nox.options.parallel. It must define every session, without the keyword.
    venv = tmp_path / "old-nox"
    subprocess.run([*uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=600)
    subprocess.run([*uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "nox==2025.2.9",
                    "numpy", "matplotlib", "packaging"], check=True, timeout=600)
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "nox", "-l"], capture_output=True, text=True,
                            cwd=ROOT, env=clean_environment(), timeout=600, check=False)
    assert listed.returncode == 0, listed.stderr[-3000:]
    for name in ("matrix", f"matrix({ENV})", "compare", "bless", "tests"):
        assert re.search(rf"^\* {re.escape(name)} ", listed.stdout, re.M) or \
            re.search(rf"^- {re.escape(name)} ", listed.stdout, re.M), (name, listed.stdout[-3000:])
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import nox, harness.sessions as s; "
                            "print(s.PARALLEL_NOX, s._parallel(True))"], capture_output=True, text=True, cwd=ROOT,
                           env=clean_environment(PYTHONPATH=ROOT), timeout=600, check=False)
    assert probe.stdout.split() == ["False", "{}"], probe.stderr[-3000:]
    assert sessions.PARALLEL_NOX and sessions._parallel(True) == {"allow_parallel": True}  # the nox we run on


# -- tfrepro init ---------------------------------------------------------------------------------
def test_init_writes_a_project_and_never_overwrites_a_file(tmp_path, capsys):
    project = tmp_path / "project"
    assert cli.main(["init", str(project)]) == 0
    out = capsys.readouterr().out
    assert "wrote noxfile.py" in out and "wrote cases/example.py" in out and "wrote .gitignore" in out
    noxfile = (project / "noxfile.py").read_text()
    assert 'tfrepro.nox.matrix_sessions(cases="cases/")' in noxfile
    compile(noxfile, "noxfile.py", "exec")
    compile((project / "cases" / "example.py").read_text(), "example.py", "exec")
    assert (project / ".gitignore").read_text().splitlines()[1:] == ["/results/", "/report/", "/.nox/"]

    (project / "noxfile.py").write_text("# mine\n")
    (project / ".gitignore").write_text("results/\n")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert cli.main(["init", str(project)]) == 0
    out = capsys.readouterr().out
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before  # nothing rewritten
    assert "kept  noxfile.py (exists; it does not call tfrepro.nox.matrix_sessions" in out
    assert "kept  cases/example.py (exists)" in out
    assert "kept  .gitignore (exists; it lacks /report/ /.nox/)" in out


def test_init_adds_no_example_beside_cases_of_your_own(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "mine.py").write_text(TINY_CASE)
    assert cli.main(["init", "--cases", "checks"]) == 0
    out = capsys.readouterr().out
    assert "kept  checks/example.py (not written: checks/ already holds 1 case(s))" in out
    assert sorted(os.listdir(tmp_path / "checks")) == ["mine.py"]
    assert 'matrix_sessions(cases="checks/")' in (tmp_path / "noxfile.py").read_text()
    assert "cd " not in out  # the project is the current folder


def test_init_refuses_a_file_or_a_cases_folder_outside_the_project(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    assert cli.main(["init", str(tmp_path / "a-file")]) == 2
    assert cli.main(["init", str(tmp_path / "p"), "--cases", "../elsewhere"]) == 2
    assert "must be a folder inside the project" in capsys.readouterr().err


# -- the nox plugin in a project ------------------------------------------------------------------
def test_a_project_with_its_own_cases_uses_its_own_known_failures(tmp_path):
    theirs = tmp_path / "known_failures.toml"
    assert sessions._known_failures(str(tmp_path), "known_failures.toml", builtin_cases=False) == str(theirs)
    assert sessions._known_failures(str(tmp_path), "known_failures.toml", builtin_cases=True) == \
        config.BUILTIN_KNOWN_FAILURES
    theirs.write_text("")
    assert sessions._known_failures(str(tmp_path), "known_failures.toml", builtin_cases=True) == str(theirs)


def _noxfile_listing(project, noxfile: str) -> list[dict]:
    (project / "noxfile.py").write_text(f"import sys\nsys.path.insert(0, {ROOT!r})\n" + noxfile)
    proc = subprocess.run([sys.executable, "-m", "nox", "-l", "--json"], cwd=project, capture_output=True, text=True,
                          timeout=300, check=False, env=clean_environment())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_the_plugin_defines_the_projects_sessions(tmp_path):
    from tfrepro import ci

    listing = _noxfile_listing(tmp_path, 'import tfrepro.nox\ntfrepro.nox.matrix_sessions(cases="cases/", '
                                         'envs=["tf2.15-keras2", "tf2.16-keras3.1"])\n')
    # `nox -l --json` lists what `nox` alone runs: the aggregate and the environments it requires
    assert [s["name"] for s in listing] == ["matrix(tf2.15-keras2)", "matrix(tf2.16-keras3.1)", "matrix"]
    every = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300, check=True, env=clean_environment()).stdout
    for name in ("compare", "report", "bless", "bisect"):
        assert re.search(rf"^[-*] {name} ", every, flags=re.MULTILINE), every
    assert ci.environments(listing, []) == ["tf2.15-keras2", "tf2.16-keras3.1"]
    assert ci.environments(listing, ["tf2.16-keras3.1"]) == ["tf2.16-keras3.1"]
    with pytest.raises(SystemExit, match="runs no environment tf1.14-keras2"):
        ci.environments(listing, ["tf1.14-keras2"])


def test_the_ci_matrix_of_a_project_is_chosen_as_ours():
    sys.path.insert(0, os.path.join(ROOT, "ci"))
    try:
        import matrix as ci_matrix  # ci/matrix.py
    finally:
        sys.path.pop(0)
    from tfrepro import ci

    listing = [s.to_json() for s in envs.all_envs()]
    for has_build in (lambda v: v != "3.7", lambda v: True, lambda v: False):
        assert ci.github_matrix(listing, has_build) == ci_matrix.github_matrix(listing, has_build)
    assert (ci.UV_RUNNER, ci.SETUP_PYTHON_RUNNER) == (ci_matrix.UV_RUNNER, ci_matrix.SETUP_PYTHON_RUNNER)


# -- the reusable workflow ------------------------------------------------------------------------------
def load(path: str) -> dict:
    with open(path) as fh:
        return yaml.load(fh, Loader=yaml.BaseLoader)  # BaseLoader: "on" stays a key, every value a string


def tool(name: str) -> list[str]:
    beside = os.path.join(sysconfig.get_path("scripts"), name)
    found = beside if os.path.exists(beside) else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extras (pip install -e '.[test]')")
    return [found]


def test_the_reusable_workflow_matches_githubs_schema():
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           WORKFLOW], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_reusable_workflow_passes_zizmor_offline():
    proc = subprocess.run([*tool("zizmor"), "--offline", "--no-progress", WORKFLOW], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_reusable_workflow_pins_the_actions_ours_pins():
    def pins(path):
        with open(path) as fh:
            return set(re.findall(r"uses:\s*(\S+ # v[\d.]+)", fh.read()))

    assert pins(WORKFLOW) == pins(OURS)


def test_the_reusable_workflow_is_called_with_the_projects_settings():
    wf = load(WORKFLOW)
    assert list(wf["on"]) == ["workflow_call"]
    inputs = wf["on"]["workflow_call"]["inputs"]
    assert {"tfrepro", "project", "cases", "envs", "tags", "case", "results", "python"} == set(inputs)
    assert all(spec["type"] == "string" for spec in inputs.values())
    assert wf["permissions"] == {"contents": "read"}
    # every input reaches a script through the environment, never as an expression inside it
    for name, job in wf["jobs"].items():
        assert "permissions" not in job, name
        for step in job["steps"]:
            if "run" in step:
                assert "${{" not in step["run"], (name, step.get("name"))
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] == "false"


def test_the_reusable_workflow_fans_out_the_noxfiles_matrix_into_one_report():
    jobs = load(WORKFLOW)["jobs"]
    assert list(jobs) == ["list", "run", "report"]
    scripts = {name: "\n".join(s.get("run", "") for s in job["steps"]) for name, job in jobs.items()}
    assert "nox -l --json | python -m tfrepro.ci github --envs \"$ENVS\"" in scripts["list"]
    assert 'uv pip install --python "$RUNNER_TEMP/tfrepro/bin/python" "$TFREPRO"' in scripts["run"]
    run = jobs["run"]
    assert run["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.list.outputs.matrix) }}"
    assert run["strategy"]["fail-fast"] == "false" and run["env"]["HARNESS_SKIP_COMPARE"] == "1"
    assert 'nox -s "matrix($ENV_ID)"' in scripts["run"] and 'export HARNESS_CASES_DIR="$CASES"' in scripts["run"]
    upload = next(s for s in run["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "results-${{ matrix.env }}"
    report = jobs["report"]
    assert report["needs"] == ["list", "run"] and "!cancelled()" in report["if"]
    download = next(s for s in report["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["merge-multiple"] == "true"
    assert download["with"]["path"] == "${{ inputs.project }}/${{ inputs.results }}"
    assert "nox -s compare" in scripts["report"] and 'exit "${EXIT_CODE:-4}"' in scripts["report"]
    assert load(WORKFLOW)["on"]["workflow_call"]["outputs"]["exit-code"]["value"] == \
        "${{ jobs.report.outputs.exit-code }}"


# -- installed, in a project of its own -------------------------------------------------------------------
def _tree(folder: str) -> dict[str, str]:
    out = {}
    for base, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.mark.envs
@pytest.mark.parametrize("python", ["3.10", "3.12"])
def test_the_installed_wheel_runs_blesses_and_passes_a_project_of_its_own(python, wheel, tmp_path):
    base = interpreters.resolve(python)
    if base is None:
        pytest.skip(interpreters.explain_missing(python))
    if interpreters.resolve(envs.by_id(ENV).python) is None:
        pytest.skip(interpreters.explain_missing(envs.by_id(ENV).python))
    venv = tmp_path / "venv"
    subprocess.run([*uv(), "venv", "--quiet", "--python", base, str(venv)], check=True, env=clean_environment())
    subprocess.run([*uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(venv / "bin" / "python"),
                    wheel], check=True, env=clean_environment(), timeout=900)
    where = "import harness, os; print(os.path.dirname(os.path.dirname(harness.__file__)))"
    site = subprocess.run([str(venv / "bin" / "python"), "-c", where], capture_output=True, text=True, check=True,
                          cwd=tmp_path, env=clean_environment()).stdout.strip()  # no PYTHONPATH to the checkout
    installed = {name: _tree(os.path.join(site, name)) for name in ("harness", "tfrepro")}
    assert "data/locks/tf2.15-keras2.txt" in installed["harness"]
    assert os.path.commonpath([site, ROOT]) != ROOT  # not the checkout, not editable

    project = tmp_path / "my-project"  # outside the checkout
    (project / "cases").mkdir(parents=True)
    (project / "cases" / "tiny_dense.py").write_text(TINY_CASE)
    env = clean_environment(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")

    def run(*cmd: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(cmd), cwd=project, capture_output=True, text=True, env=env, timeout=1800,
                              check=False)
        return proc

    helped = run("tfrepro", "--help")
    assert helped.returncode == 0 and all(verb in helped.stdout for verb in VERBS), helped.stderr
    made = run("tfrepro", "init")
    assert made.returncode == 0, made.stderr
    assert "wrote noxfile.py" in made.stdout and "not written: cases/ already holds 1 case(s)" in made.stdout

    steps = [("nox", "-s", f"matrix({ENV})"), ("nox", "-s", "bless", "--", ENV), ("nox", "-s", "compare")]
    outputs = []
    for cmd in steps:
        proc = run(*cmd)
        outputs.append(proc.stdout + proc.stderr)
        assert proc.returncode == 0, f"{' '.join(cmd)}: exit {proc.returncode}\n{outputs[-1][-6000:]}"
    assert "verdict: PASS" in outputs[-1]

    # Everything of the project's is in the project folder ...
    assert (project / "results" / f"{ENV}.json").exists() and (project / "golden" / f"{ENV}.json").exists()
    summary = json.loads((project / "report" / "summary.json").read_text())
    golden = [v for v in summary["verdicts"] if (v["env"], v["case"], v["check"]) == (ENV, "tiny_dense", "golden")]
    assert [(v["status"], v["outcome"]) for v in golden] == [("identical", "pass")]
    assert summary["exit_code"] == 0
    with open(project / "results" / f"{ENV}.json") as fh:
        assert list(json.load(fh)["cases"]) == ["tiny_dense"]  # the project's case alone, not the built-in ones
    # ... and nothing was written into the installed package.
    assert {name: _tree(os.path.join(site, name)) for name in ("harness", "tfrepro")} == installed


# -- the README -----------------------------------------------------------------------------------------
def test_the_readme_shows_the_project_path_first_and_the_clone_path_second():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings[:2] == ["Use it in your project", "Two commands (in a clone of this repository)"]
    section = text[text.index("## Use it in your project"):text.index("## Two commands")]
    assert "tfrepro init my-project" in section and f'nox -s "matrix({ENV})"' in section
    assert f"nox -s bless -- {ENV}" in section and "nox -s compare" in section
    (noxfile,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    written = init.NOXFILE.format(env=ENV, cases="cases", golden="golden", report="report")
    assert written.endswith(noxfile)  # the lines init writes
    (caller,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    called = yaml.safe_load(caller)["jobs"]["tfrepro"]
    assert called["uses"].endswith("/.github/workflows/tfrepro.yml@<ref>")
    assert set(called["with"]) <= set(load(WORKFLOW)["on"]["workflow_call"]["inputs"])
    for name in load(WORKFLOW)["on"]["workflow_call"]["inputs"]:
        assert f"`{name}`" in section or f"{name}:" in caller, name
    # the first two commands of the clone path are still the README's two commands
    clone = text[text.index("## Two commands"):text.index("## What a run does")]
    assert re.findall(r"^    (python3 .*)$", clone, flags=re.MULTILINE) == [
        "python3 -m pip install 'nox[uv]>=2026.8.17' && nox -s matrix",
        "python3 -m pip install 'nox[uv]>=2026.8.17' && nox -s tests"]
