"""The golden lifecycle through the real CLI: no golden -> fail (missing) -> bless
-> pass -> perturb -> fail (regression) -> bless -> pass."""

import json
import os

import pytest

from harness import cli
from tests import fakes

ENV = "tf2.15-keras2"


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    return tmp_path


def compare(*extra):
    return cli.main(["compare", "--tag", "default", "--report", "", *extra])


def test_lifecycle(dirs, capsys):
    doc = fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant([1.0, 0.5]), "b": fakes.variant([1.0, 0.5])},
                                                invariants=[fakes.SAME])})
    fakes.write(dirs / "results", doc)

    assert compare() == 5  # golden missing: not a pass
    out = capsys.readouterr().out
    assert "MISSING GOLDEN VALUES: 1" in out and f"nox -s bless -- {ENV} --case toy" in out

    assert cli.main(["bless", ENV]) == 0
    assert "toy: new golden values" in capsys.readouterr().out
    golden = json.loads((dirs / "golden" / f"{ENV}.json").read_text())
    assert golden["cases"]["toy"]["variants"]["a"]["observables"]["loss"]["values"] == [1.0, 0.5]

    assert compare() == 0
    assert "verdict: PASS" in capsys.readouterr().out

    # Perturb one value beyond tolerance in both variants (the invariant still holds).
    for v in ("a", "b"):
        doc["cases"]["toy"]["variants"][v]["observables"]["loss"]["values"][1] = 0.6
    fakes.write(dirs / "results", doc)
    assert compare() == 1
    out = capsys.readouterr().out
    assert "REGRESSIONS" in out and "loss: 1/2 values differ" in out and "first at epoch 1" in out
    assert "they part first in loss at epoch 1" in out

    assert cli.main(["bless", ENV, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "toy: drift" in out and "dry run: nothing written" in out
    assert compare() == 1  # a dry run changed nothing

    assert cli.main(["bless", ENV]) == 0
    assert compare() == 0


def test_broken_invariant_fails_and_known_failure_excuses_it(dirs, capsys):
    cases = {"toy": fakes.case({"a": fakes.variant([1.0, 0.5]), "b": fakes.variant([1.0, 0.9])},
                               invariants=[fakes.SAME])}
    fakes.write(dirs / "results", fakes.result(ENV, cases))
    assert cli.main(["bless", ENV]) == 0
    capsys.readouterr()
    assert compare() == 1
    assert "invariant 'a equals b' is broken" in capsys.readouterr().out

    (dirs / "known_failures.toml").write_text(
        f'[[failure]]\nenv = "{ENV}"\ncase = "toy"\ncheck = "invariant:a equals b"\nreason = "because"\n'
        '[[failure]]\nenv = "tf9.9-keras2"\ncase = "toy"\ncheck = "golden"\nreason = "not run here"\n'
        f'[[failure]]\nenv = "{ENV}"\ncase = "toy"\ncheck = "invariant:renamed"\nreason = "gone"\n')
    assert compare() == 0
    out = capsys.readouterr().out
    assert "KNOWN FAILURES" in out and "Known failure: because" in out
    # Stale: its environment and case ran, and no verdict matches; an entry for an
    # environment that did not run is no evidence of anything.
    assert "STALE KNOWN-FAILURE ENTRIES: 1" in out and "invariant:renamed" in out and "tf9.9" not in out

    # The known failure passes again: flagged as fixed; it fails only when asked.
    cases["toy"]["variants"]["b"] = fakes.variant([1.0, 0.5])
    fakes.write(dirs / "results", fakes.result(ENV, cases))
    assert cli.main(["bless", ENV]) == 0
    capsys.readouterr()
    assert compare() == 0
    assert "FIXED KNOWN FAILURES" in capsys.readouterr().out
    assert compare("--strict-known") == 1


def test_bless_refuses_errors_and_nondeterminism_unless_forced(dirs, capsys):
    broken = fakes.variant([1.0])
    broken.update(status="error", error={"type": "AttributeError", "message": "no such API", "traceback": []})
    cases = {"toy": fakes.case({"a": fakes.variant([1.0], nondeterministic=["loss"]), "b": broken})}
    fakes.write(dirs / "results", fakes.result(ENV, cases))
    assert cli.main(["bless", ENV]) == 1
    out = capsys.readouterr().out
    assert "refused: toy has errors (b)" in out and "refused: toy is nondeterministic (a)" in out
    assert not (dirs / "golden").exists()
    assert cli.main(["bless", ENV, "--force"]) == 0
    assert (dirs / "golden" / f"{ENV}.json").exists()


def test_nondeterminism_is_its_own_verdict(dirs, capsys):
    cases = {"toy": fakes.case({"a": fakes.variant([1.0], nondeterministic=["loss"])})}
    fakes.write(dirs / "results", fakes.result(ENV, cases))
    cli.main(["bless", ENV, "--force"])
    capsys.readouterr()
    assert compare() == 3
    out = capsys.readouterr().out
    assert "NONDETERMINISM: 1" in out and "REGRESSIONS" not in out


def test_orphan_golden_case_is_reported(dirs, capsys):
    cases = {"toy": fakes.case({"a": fakes.variant([1.0])}), "old": fakes.case({"a": fakes.variant([1.0])})}
    fakes.write(dirs / "results", fakes.result(ENV, cases))
    cli.main(["bless", ENV])
    del cases["old"]
    fakes.write(dirs / "results", fakes.result(ENV, cases))
    capsys.readouterr()
    assert cli.main(["bless", ENV, "--dry-run"]) == 0
    assert "old: orphan" in capsys.readouterr().out
    assert compare() == 0
    assert "holds old, which no case produces any more" in capsys.readouterr().out


def test_compare_asks_for_the_results_of_the_cases_it_is_given(dirs, capsys):
    """A case with golden values and a module but no results is missing (run it), unless
    --case names the others: `nox -s "matrix(<env>)" compare -- --case c` judges c only."""
    from harness.inenv.worker import source_digest

    folder = dirs / "cases"
    folder.mkdir()
    cases = {}
    for name in ("c", "c2"):
        (folder / f"{name}.py").write_text(f'"""Case {name}: compare reads its digest, never imports it."""\n')
        cases[name] = fakes.case({"a": fakes.variant([1.0, 0.5])})
        cases[name]["source_sha256"] = source_digest(str(folder / f"{name}.py"))
    fakes.write(dirs / "results", fakes.result(ENV, cases))
    assert cli.main(["bless", ENV]) == 0
    del cases["c2"]  # then only c is run, into a fresh results folder
    fakes.write(dirs / "results", fakes.result(ENV, cases))
    capsys.readouterr()

    assert compare("--cases-dir", str(folder)) == 4
    out = capsys.readouterr().out
    assert f"c2 has golden values in {ENV} and a module ({folder / 'c2.py'}), but no results" in out

    assert compare("--cases-dir", str(folder), "--case", "c") == 0
    out = capsys.readouterr().out
    assert "verdict: PASS" in out and "c2 has golden values" not in out
    assert "no case produces any more" not in out  # not asked for, and not an orphan either
    assert compare("--cases-dir", str(folder), "--case", "c2") == 4  # asked for, and not there


def test_bless_never_replaces_a_newer_harness_golden_file(dirs, capsys):
    from harness.core.documents.schema import GOLDEN_VERSION

    fakes.write(dirs / "results", fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant([1.0])})}))
    assert cli.main(["bless", ENV]) == 0
    path = dirs / "golden" / f"{ENV}.json"
    path.write_text(path.read_text().replace(f'"version": {GOLDEN_VERSION}', f'"version": {GOLDEN_VERSION + 1}', 1))
    before = path.read_bytes()
    capsys.readouterr()
    for forced in ([], ["--force"]):
        assert cli.main(["bless", ENV, *forced]) == 1
        out = capsys.readouterr().out
        assert (f"refused: golden/{ENV}.json: written by a newer harness (schema {GOLDEN_VERSION + 1}, this one reads "
                f"{GOLDEN_VERSION}); upgrade tfrepro (it is left as it is)") in out
        assert "--force" not in out and "not blessed" in out  # no advice that cannot work
        assert path.read_bytes() == before


def test_compare_judges_only_the_environments_named(dirs, capsys):
    # A project's noxfile with envs=[...] passes them as --env: the other environments of the
    # default matrix are neither listed as "not run" nor required.
    doc = fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant([1.0, 0.5])})})
    fakes.write(dirs / "results", doc)
    assert cli.main(["bless", ENV, "--force"]) == 0
    capsys.readouterr()
    assert cli.main(["compare", "--env", ENV, "--report", ""]) == 0
    out = capsys.readouterr().out
    assert "has not been run" not in out and "tf1.14-keras2" not in out, out
    assert cli.main(["compare", "--report", "", "--tag", "default"]) == 0  # the default matrix: 32 not run
    out = capsys.readouterr().out
    # Many environments not run: one line under the grid, not a row and a note each.
    line = "not run: 32 environments: tf1.14-keras2 … "
    assert out.count(line) == 1 and "has not been run" not in out and "NOTES" not in out, out
    assert "`nox -s matrix` runs every one" in out.split(line)[1].splitlines()[0]
    assert cli.main(["compare", "--report", "", "--env", f"{ENV},tf1.14-keras2"]) == 0  # a few: each named
    out = capsys.readouterr().out
    assert "tf1.14-keras2 has not been run" in out and "not run: " not in out, out
    assert cli.main(["compare", "--env", "tf9.99-keras9", "--report", ""]) == 2
    assert "unknown environment(s): tf9.99-keras9 (known: " in capsys.readouterr().err


def test_a_projects_noxfile_passes_its_environments_to_compare(monkeypatch):
    import nox

    from harness import sessions

    seen: dict[str, list[str]] = {}
    monkeypatch.setattr(sessions, "_harness_sessions", lambda compare_args, bisect_args: seen.update(c=compare_args))
    monkeypatch.setattr(sessions, "_environment_session", lambda spec: None)
    monkeypatch.setattr(sessions, "_aggregate_session", lambda specs, compare_args: None)
    # matrix_sessions sets the project's folders in os.environ and nox's options: keep them here.
    monkeypatch.setattr(os, "environ", os.environ.copy())
    for name in ("parallel", "sessions", "default_venv_backend"):
        monkeypatch.setattr(nox.options, name, getattr(nox.options, name))
    monkeypatch.setattr(nox.options, "parallel", 1)
    sessions.matrix_sessions(envs=[ENV, "tf2.21-keras3.13"])
    assert [seen["c"][i + 1] for i, a in enumerate(seen["c"]) if a == "--env"] == [ENV, "tf2.21-keras3.13"]
    assert "--tag" not in seen["c"]


def test_a_deleted_case_is_not_judged_and_its_results_stay(dirs, capsys, monkeypatch):
    from harness.check import evaluate

    # The user deleted cases/gone.py after a run and a bless: its results are kept in the file
    # but no longer judged (they used to fail compare with "no golden values … fix the case").
    doc = fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant([1.0, 0.5])}),
                             "gone": fakes.case({"a": fakes.variant([2.0, 0.5])})})
    fakes.write(dirs / "results", doc)
    assert cli.main(["bless", ENV, "--force"]) == 0
    (dirs / "cases").mkdir()
    (dirs / "cases" / "toy.py").write_text("VARIANTS = {'a': {}}\n\ndef run(k, workdir):\n    return {}\n")
    fakes.write(dirs / "results", fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant([1.0, 0.5])}),
                                                     "gone": fakes.case({"a": fakes.variant([3.0, 0.5])})}))
    capsys.readouterr()
    monkeypatch.setattr(evaluate, "_digests", lambda cases: {})  # the fake results have no real source digest
    assert cli.main(["compare", "--env", ENV, "--report", "", "--cases-dir", str(dirs / "cases")]) == 0
    out = capsys.readouterr().out
    assert "holds gone, which no case produces any more (orphan" in out and "PASS" in out, out
    assert "gone" in json.loads((dirs / "results" / f"{ENV}.json").read_text())["cases"]  # nothing dropped
    # With folders that hold none of the file's cases (a forgotten --cases-dir) every case is judged.
    (dirs / "other").mkdir()
    assert cli.main(["compare", "--env", ENV, "--report", "", "--cases-dir", str(dirs / "other")]) == 1
    assert "tf2.15-keras2   D   =" in capsys.readouterr().out  # gone judged: it moved from 2.0 to 3.0


def test_a_regression_after_an_edit_of_the_case_says_the_source_changed(dirs, capsys):
    fakes.write(dirs / "results", fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant([1.0, 0.5])})}))
    assert cli.main(["bless", ENV, "--force"]) == 0
    edited = fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant([1.0, 0.75])})})
    edited["cases"]["toy"]["source_sha256"] = "1" * 64
    fakes.write(dirs / "results", edited)
    capsys.readouterr()
    assert compare() == 1
    assert "Since blessing: the case's source (its module or a helper beside it)." in capsys.readouterr().out


def test_a_missing_host_dependency_is_an_infrastructure_error_not_a_regression(dirs):
    """`python -m harness compare` from a bare clone, without the tool's dependencies
    (matplotlib here): exit 4 (infrastructure) with what to do, never 1 (which means a
    regression) and no traceback."""
    import subprocess
    import sys

    blocker = ("import runpy, sys\n"
               "class NoMatplotlib:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] == 'matplotlib':\n"
               "            raise ModuleNotFoundError(\"No module named 'matplotlib'\", name='matplotlib')\n"
               "sys.meta_path.insert(0, NoMatplotlib())\n"
               "sys.argv = ['harness'] + sys.argv[1:]\n"
               "runpy.run_module('harness', run_name='__main__', alter_sys=True)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", blocker, "compare", "--report", ""], cwd=str(dirs),
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=root), check=False)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "No module named 'matplotlib'" in proc.stderr and "pip install -e ." in proc.stderr
    assert "Traceback" not in proc.stderr
