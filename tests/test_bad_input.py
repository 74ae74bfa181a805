"""Bad input (issue 15): every input a new user tried that once crashed, passed silently,
lost data or misled, one row each. A row sets up a small project folder (results, golden
values, cases, known failures), runs the real command line (`python -m harness ...`, or
nox) as a subprocess in it, and asserts three things: the exit code, the message (a
phrase naming the file, option or variable, and one naming the fix) and that no file
that was there before was lost or changed.

The rows that need the worker (what a case's run() returns, a 10-million-value
observable, a misspelt variant in an invariant) share one real run in tf2.15-keras2 and
are marked ``envs``; every other row is one or two commands of a second or two each.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.core import store
from harness.core.documents.results import Results
from harness.core.reader import Where
from harness.inenv.cases import source_digest
from harness.matrix import envs
from tests import fakes
from tests.fault_cases import drive

ROOT = drive.ROOT
ENV = "tf2.15-keras2"
SELECTED = len(envs.select(tags=["default"]))  # what compare selects without --tag


# -- the project folder ------------------------------------------------------------
@dataclasses.dataclass
class Project:
    """A user's project folder: results/, golden/ (blessed from the results), report/,
    cases/ (the case modules, never imported here) and an empty known_failures.toml."""

    root: Path

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def golden(self) -> Path:
        return self.root / "golden"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def cases(self) -> Path:
        return self.root / "cases"

    @property
    def known(self) -> Path:
        return self.root / "known_failures.toml"

    def path(self, folder: str) -> Path:
        return self.root / folder / f"{ENV}.json"

    def read(self, folder: str) -> dict:
        return drive.load(self.path(folder))

    def write(self, folder: str, doc: dict) -> None:
        store.write_json(str(self.path(folder)), doc)

    def fill(self, text: str) -> str:
        return text.format(root=self.root, results=self.results, golden=self.golden, report=self.report,
                           cases=self.cases, env=ENV)


CASE_SOURCE = '"""A stand-in for a case module: compare reads its name and digest, never imports it."""\n'


def results_doc(project: Project, cases: dict) -> dict:
    """Results of ``cases`` in ENV, each recorded as made from its module in project.cases."""
    doc = fakes.result(ENV, cases)
    for name, entry in doc["cases"].items():
        module = project.cases / f"{name}.py"
        entry["source_sha256"] = source_digest(str(module)) if module.exists() else "0" * 64
    return doc


def two_variants(loss=(1.0, 0.5)) -> dict:
    return {"a": fakes.variant(list(loss)), "b": fakes.variant(list(loss))}


@pytest.fixture
def project(tmp_path) -> Project:
    """A project where `compare` passes: case c (variants a and b, one invariant) ran in
    ENV and is blessed."""
    p = Project(tmp_path)
    p.cases.mkdir()
    (p.cases / "c.py").write_text(CASE_SOURCE)
    p.known.write_text("")
    doc = results_doc(p, {"c": fakes.case(two_variants(), invariants=[fakes.SAME])})
    p.write("results", doc)
    p.write("golden", fakes.golden(doc))
    return p


# -- running the real command line -----------------------------------------------------
def _environ(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "NOX_"))}
    env["PYTHONPATH"] = ROOT
    return dict(env, **(extra or {}))


def harness(project: Project, *args, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m harness ARGS` with the project folder as the current folder."""
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=project.root, check=False,
                          capture_output=True, text=True, timeout=timeout, env=_environ(env))


def nox(*args, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """nox with this checkout's noxfile (which defines the matrix through harness.sessions)."""
    return subprocess.run([sys.executable, "-m", "nox", "-f", os.path.join(ROOT, "noxfile.py"), *args], cwd=ROOT,
                          check=False, capture_output=True, text=True, timeout=120, env=_environ(env))


def compare(project: Project, *extra, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return harness(project, "compare", "--results", project.results, "--golden", project.golden, "--report",
                   project.report, "--known-failures", project.known, "--cases-dir", project.cases, *extra, env=env)


def bless(project: Project, *extra) -> subprocess.CompletedProcess:
    return harness(project, "bless", ENV, "--results", project.results, "--golden", project.golden, *extra)


def hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in drive.snapshot(root).items()}


def lost_or_changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files that were there before and are gone or differ now (new files, such as a lock
    or a run's log, are allowed)."""
    return sorted(rel for rel, digest in before.items() if after.get(rel) != digest)


# -- the table ------------------------------------------------------------------------
class Stage:
    """What the project held when the command started: a row's ``given`` puts its bad
    input in place, then calls ``mark()``; only the command's own changes count."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.before: dict[str, str] | None = None
        self.docs: dict[str, dict] = {}

    def mark(self) -> None:
        self.before = hashes(self.project.root)
        self.docs = {folder: self.project.read(folder) for folder in ("results", "golden")
                     if self.project.path(folder).exists()}


Given = Callable[[Project, Stage], subprocess.CompletedProcess]


@dataclasses.dataclass(frozen=True)
class Row:
    """One bad input: ``given`` puts it in the project and runs the command, which must
    exit with ``code``, print every phrase of ``says`` (formatted with the project's
    folders) and none of ``never_says``. Every file there before the command ran stays as
    it was, except ``rewrites`` (files the command exists to write), which ``then`` checks."""

    id: str
    given: Given
    code: int
    says: tuple[str, ...]
    never_says: tuple[str, ...] = ("Traceback",)
    rewrites: tuple[str, ...] = ()
    then: Callable[[Project, Stage], None] | None = None


def _broken(folder: str, change: Callable[[dict], None]) -> Given:
    """``change`` made to the project's results or golden document, then compare."""

    def given(project: Project, stage: Stage) -> subprocess.CompletedProcess:
        doc = project.read(folder)
        change(doc)
        project.write(folder, doc)
        stage.mark()
        return compare(project)

    return given


def _then_compare(prepare: Callable[[Project], None] = lambda p: None, *extra: str,
                  env: dict[str, str] | None = None) -> Given:
    def given(project: Project, stage: Stage) -> subprocess.CompletedProcess:
        prepare(project)
        stage.mark()
        return compare(project, *extra, env=env)

    return given


def _then_harness(*args: str, env: dict[str, str] | None = None,
                  prepare: Callable[[Project], None] = lambda p: None) -> Given:
    """`python -m harness ARGS` (formatted with the project's folders) after ``prepare``."""

    def given(project: Project, stage: Stage) -> subprocess.CompletedProcess:
        prepare(project)
        stage.mark()
        return harness(project, *(project.fill(a) for a in args), env=env)

    return given


def _then_nox(*args: str, env: dict[str, str]) -> Given:
    def given(project: Project, stage: Stage) -> subprocess.CompletedProcess:
        stage.mark()
        return nox(*args, env=env)

    return given


def _loss(doc: dict) -> dict:
    return doc["cases"]["c"]["variants"]["a"]["observables"]["loss"]


def _results_with(**case_kwargs) -> Callable[[Project], None]:
    def prepare(project: Project) -> None:
        project.write("results", results_doc(project, {"c": fakes.case(two_variants(), **case_kwargs)}))

    return prepare


def _known_failures(text: str) -> Callable[[Project], None]:
    return lambda project: project.known.write_text(text)


# Crashes with a traceback ----------------------------------------------------------------
def _report_under_a_file(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    (project.root / "not-a-folder").write_text("a file where the report folder would go\n")
    stage.mark()
    return harness(project, "compare", "--results", project.results, "--golden", project.golden, "--known-failures",
                   project.known, "--cases-dir", project.cases, "--report", project.root / "not-a-folder" / "report")


def _float_observable(doc: dict) -> None:
    """What an older worker stored as ok when run() returned {"loss": 0.5}."""
    doc["cases"]["c"]["variants"]["a"]["observables"]["loss"] = 0.5


def _bless_float_observable(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    doc = project.read("results")
    _float_observable(doc)
    project.write("results", doc)
    stage.mark()
    return bless(project)


# Passes silently -------------------------------------------------------------------------
def _empty_results(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    (project.root / "empty").mkdir()
    stage.mark()
    return harness(project, "compare", "--results", project.root / "empty", "--golden", project.golden,
                   "--report", project.report, "--known-failures", project.known)


def _mistyped_results(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    stage.mark()
    return harness(project, "compare", "--results", project.root / "resuls", "--golden", project.golden,
                   "--report", project.report, "--known-failures", project.known)


def _case_missing_from_results(project: Project) -> None:
    """c2 has golden values and a module, but the last run's results lack it."""
    (project.cases / "c2.py").write_text(CASE_SOURCE + "# c2\n")
    both = results_doc(project, {"c": fakes.case(two_variants(), invariants=[fakes.SAME]),
                                 "c2": fakes.case(two_variants())})
    project.write("golden", fakes.golden(both))
    del both["cases"]["c2"]
    project.write("results", both)


def _edited_case(project: Project) -> None:
    (project.cases / "c.py").write_text(CASE_SOURCE + "# edited after the run\n")


def _goldn(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    """--goldn (a typo) once fell back to the project's own golden/ folder."""
    (project.root / "mine").mkdir()
    stage.mark()
    return harness(project, "compare", "--results", project.results, "--goldn", project.root / "mine", "--report",
                   project.report, "--known-failures", project.known)


INVARIANT_OBSERVABLE = dict(fakes.SAME, observables=["los"])
INVARIANT_REFERENCE = dict(fakes.SAME, a="a:los", b="b:loss")
INVARIANT_VARIANT = dict(fakes.SAME, a="aa")
CLAIM_OBSERVABLE = {"name": "lower", "text": "a ends lower than b", "op": "<=", "tolerance": 0,
                    "lhs": {"variant": "a", "observable": "los", "pick": "last"},
                    "rhs": {"variant": "b", "observable": "loss", "pick": "last"}}


# Loses or damages data ---------------------------------------------------------------------
NO_PYTHON = "{root}/no-such-python"


def _with_builtin_results(project: Project) -> None:
    """Results of a built-in case (linear_autoencoder) beside the user's c."""
    doc = project.read("results")
    doc["cases"]["linear_autoencoder"] = fakes.case({"plain": fakes.variant([2.0, 1.0])})
    project.write("results", doc)


def _results_kept(project: Project, stage: Stage) -> None:
    """Every case of the earlier results is still there, as it was."""
    before = Results.from_json(Where("before"), stage.docs["results"]).cases
    after = store.read_results(str(project.path("results"))).cases
    assert {name: after.get(name) for name in before} == before


def _newer_schema(project: Project) -> None:
    doc = project.read("results")
    doc["version"] = 99
    project.write("results", doc)


def _two_cases(project: Project, machine: str = "here") -> dict:
    (project.cases / "c2.py").write_text(CASE_SOURCE + "# c2\n")
    doc = results_doc(project, {"c": fakes.case(two_variants()), "c2": fakes.case(two_variants((3.0, 2.0)))})
    doc["fingerprint"]["cpu"] = {"model": machine}
    project.write("results", doc)
    return doc


def _two_blesses_at_once(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    """Two blesses of one environment, of different cases, started together (three times);
    then one that finds the lock taken for a second and a half."""
    _two_cases(project)
    for _ in range(3):
        project.path("golden").unlink()
        procs = [subprocess.Popen([sys.executable, "-m", "harness", "bless", ENV, "--case", case, "--results",
                                   str(project.results), "--golden", str(project.golden)], cwd=project.root,
                                  env=_environ(None), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for case in ("c", "c2")]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, out + err
        assert sorted(project.read("golden")["cases"]) == ["c", "c2"], "a concurrent bless lost a case"
    stage.mark()
    held = threading.Event()

    def hold() -> None:
        with store.exclusive(str(project.path("golden")), what="bless"):
            held.set()
            time.sleep(1.5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        return bless(project, "--case", "c")
    finally:
        holder.join()


def _both_cases_blessed(project: Project, stage: Stage) -> None:
    assert project.read("golden")["cases"] == stage.docs["golden"]["cases"]  # the same results, blessed again


def _partial_bless(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    """Both cases blessed on one machine, then only c2 from another."""
    _two_cases(project, "the blessing machine")
    assert bless(project).returncode == 0
    doc = _two_cases(project, "another machine")
    doc["cases"]["c2"]["variants"]["a"]["observables"]["loss"]["values"] = [3.0, 1.5]
    project.write("results", doc)
    stage.mark()
    return bless(project, "--case", "c2")


def _fingerprints_kept(project: Project, stage: Stage) -> None:
    after = project.read("golden")
    assert after["cases"]["c"] == stage.docs["golden"]["cases"]["c"]
    assert after["cases"]["c2"]["fingerprint"]["cpu"] == {"model": "another machine"}


# Misleads ------------------------------------------------------------------------------
def _new_variant(project: Project) -> None:
    doc = project.read("results")
    doc["cases"]["c"]["variants"]["new"] = fakes.variant([1.0, 0.25])
    doc["cases"]["c"]["declaration"]["variants"].append("new")
    project.write("results", doc)


def _failed_case_without_golden(project: Project) -> None:
    """c2 raised in every variant and was never blessed."""
    (project.cases / "c2.py").write_text(CASE_SOURCE + "# c2\n")
    doc = project.read("results")
    failed = {"status": "error", "seconds": 0.1,
              "error": {"type": "ValueError", "message": "shapes do not match", "traceback": []}}
    doc["cases"]["c2"] = dict(fakes.case({"a": failed}), source_sha256=source_digest(str(project.cases / "c2.py")))
    project.write("results", doc)


FAKE_WORKER = """#!{python}
# A stand-in interpreter: answers the worker protocol with one huge event line per case.
import json, os, sys, time
args = sys.argv[1:]
job = json.load(open(args[args.index("--job") + 1]))
out = os.fdopen(int(args[args.index("--fd") + 1]), "w")
def send(event, **fields):
    fields.update(event=event, time=time.time())
    out.write(json.dumps(fields) + "\\n")
    out.flush()
send("ready", protocol=job["protocol"], fingerprint={{}}, versions={{}}, determinism={{}}, import_seconds=0.0)
for task in job["tasks"]:
    case = task["case"]
    send("case_start", case=case, mode=task["mode"], source_sha256=None)
    send("case_declared", case=case, declaration={{"variants": ["default"]}})
    send("run_start", case=case, variant="default", what=task["mode"])
    send("variant_done", case=case, variant="default", mode=task["mode"], seconds=0.0,
         observables={{"log": {{"kind": "text", "value": "x" * {size}}}}})
    send("case_end", case=case)
send("done")
"""
LINE_MB = 48  # the old reader took 8 s over such a line, more than the case timeout below


def _huge_event_line(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    fake = project.root / "fake-python"
    fake.write_text(FAKE_WORKER.format(python=sys.executable, size=LINE_MB * 1024 * 1024))
    fake.chmod(0o755)
    (project.cases / "big_line.py").write_text(CASE_SOURCE)
    stage.mark()
    return harness(project, "run", ENV, "--python", fake, "--cases-dir", project.cases, "--results",
                   project.results, "--case", "big_line", "--repeat", "1", "--case-timeout", "4")


def _huge_line_read(project: Project, stage: Stage) -> None:
    _results_kept(project, stage)
    entry = project.read("results")["cases"]["big_line"]
    assert entry["status"] == "ok", entry["error"]
    assert len(entry["variants"]["default"]["observables"]["log"]["value"]) == LINE_MB * 1024 * 1024


def _user_report_with_project_known_failures(project: Project, stage: Stage) -> subprocess.CompletedProcess:
    """The project's own known_failures.toml (entries about tf1.x and the built-in cases)
    applied to a user's case that ran in one environment: no --known-failures, and none
    in the user's folder."""
    project.known.unlink()
    stage.mark()
    return harness(project, "compare", "--results", project.results, "--golden", project.golden, "--report",
                   project.report, "--cases-dir", project.cases)


def _no_stale_entries(project: Project, stage: Stage) -> None:
    summary = drive.load(project.report / "summary.json")
    assert [v for v in summary["verdicts"] if v["outcome"] == "stale"] == []


RESULTS_FILE = f"results/{ENV}.json"
GOLDEN_FILE = f"golden/{ENV}.json"

ROWS = [
    Row("baseline: the project passes", _then_compare(), 0, ("verdict: PASS",)),
    # -- crashes with a traceback --
    Row("golden: cases is a string", _broken("golden", lambda d: d.update(cases="x")), 4,
        ("{golden}/{env}.json: cases: expected a mapping, got 'x'", "bless the environment again with --force",
         "nothing was overwritten")),
    Row("golden: values are not numbers", _broken("golden", lambda d: _loss(d).update(values=["abc"])), 4,
        ("{golden}/{env}.json: cases.c.variants.a.observables.loss.values[0]: expected a number, got 'abc'",
         "restore it from version control")),
    Row("golden: values are null", _broken("golden", lambda d: _loss(d).update(values=None)), 4,
        ("{golden}/{env}.json: cases.c.variants.a.observables.loss.values: expected a list of numbers, got null",)),
    Row("golden: a fingerprint is a string", _broken("golden", lambda d: d["cases"]["c"].update(fingerprint="x")), 4,
        ("{golden}/{env}.json: cases.c.fingerprint: expected a mapping, got 'x'",)),
    Row("results: cases is a string", _broken("results", lambda d: d.update(cases="x")), 4,
        ("{results}/{env}.json: cases: expected a mapping, got 'x'", "re-run the environment")),
    Row("results: values are not numbers", _broken("results", lambda d: _loss(d).update(values=["abc"])), 4,
        ("{results}/{env}.json: cases.c.variants.a.observables.loss.values[0]: expected a number, got 'abc'",)),
    Row("results: variants are null", _broken("results", lambda d: d["cases"]["c"].update(variants=None)), 4,
        ("{results}/{env}.json: cases.c.variants: expected a mapping, got null",)),
    Row("results: the fingerprint is a string", _broken("results", lambda d: d.update(fingerprint="x")), 4,
        ("{results}/{env}.json: fingerprint: expected a mapping, got 'x'",)),
    Row("results: run() returned a float, stored as ok (compare)", _broken("results", _float_observable), 4,
        ("{results}/{env}.json: cases.c.variants.a.observables.loss: expected a mapping, got 0.5",
         "re-run the environment")),
    Row("results: run() returned a float, stored as ok (bless)", _bless_float_observable, 1,
        ("{results}/{env}.json: cases.c.variants.a.observables.loss: expected a mapping, got 0.5", "not blessed")),
    Row("known_failures.toml: env = 5",
        _then_compare(_known_failures('[[failure]]\nenv = 5\ncase = "c"\ncheck = "golden"\nreason = "r"\n')), 2,
        ("{root}/known_failures.toml: failure[0].env: expected a string, got 5",
         "see the comment at the top of known_failures.toml")),
    Row("HARNESS_CASE_TIMEOUT is garbage (run)",
        _then_harness("run", ENV, "--python", NO_PYTHON, "--results", "{results}",
                      env={"HARNESS_CASE_TIMEOUT": "ten minutes"}), 2,
        ("HARNESS_CASE_TIMEOUT='ten minutes' is not a number of seconds",)),
    Row("HARNESS_MEMORY_LIMIT_MB is garbage (run)",
        _then_harness("run", ENV, "--python", NO_PYTHON, "--results", "{results}",
                      env={"HARNESS_MEMORY_LIMIT_MB": "8G"}), 2,
        ("HARNESS_MEMORY_LIMIT_MB='8G' is not a number of megabytes",)),
    Row("HARNESS_CASE_TIMEOUT and HARNESS_MEMORY_LIMIT_MB are garbage (nox -l)",
        _then_nox("-l", env={"HARNESS_CASE_TIMEOUT": "x", "HARNESS_MEMORY_LIMIT_MB": "y"}), 0,
        (f"matrix({ENV})", "compare ->")),
    Row("the report folder cannot be written", _report_under_a_file, 4,
        ("verdict: PASS", "report: not written", "{root}/not-a-folder/report")),
    # -- passes silently --
    Row("an empty results folder", _empty_results, 4,
        (f"nothing to compare: {{root}}/empty has no results for any of the {SELECTED} selected environment(s) "
         "(it is empty)", "check --results / HARNESS_RESULTS"), ("verdict: PASS", "Traceback")),
    Row("a mistyped results folder", _mistyped_results, 2,
        ("the results folder {root}/resuls does not exist", "check --results / HARNESS_RESULTS"),
        ("verdict: PASS", "Traceback")),
    Row("HARNESS_TAGS names no tag (compare)", _then_compare(env={"HARNESS_TAGS": "nonexistent"}), 2,
        ("no environment has the tag 'nonexistent'", "tags: backends-sweep, default")),
    Row("HARNESS_TAGS names no tag (nox -l)", _then_nox("-l", env={"HARNESS_TAGS": "nonexistent"}), 0,
        ("matrix -> cannot run: HARNESS_TAGS='nonexistent' selects no environment", "compare ->")),
    Row("HARNESS_TAGS names no tag (nox -s matrix)", _then_nox("-s", "matrix", env={"HARNESS_TAGS": "nonexistent"}),
        1, ("Session matrix aborted: HARNESS_TAGS='nonexistent' selects no environment",
            "no environment has the tag nonexistent", "fix or unset HARNESS_TAGS")),
    Row("a case missing from the results file", _then_compare(_case_missing_from_results), 4,
        ("c2 has golden values in {env} and a module ({cases}/c2.py), but no results in {results}/{env}.json",
         f'run it: `nox -s "matrix({ENV})" -- --case c2`'), ("--prune", "Traceback")),
    Row("a misspelt compare flag (--fail-on-drfit)", _then_compare(lambda p: None, "--fail-on-drfit"), 2,
        ("unrecognized arguments: --fail-on-drfit", "did you mean --fail-on-drift?")),
    Row("a misspelt compare option (--goldn)", _goldn, 2,
        ("unrecognized arguments: --goldn {root}/mine", "did you mean --golden?"), ("verdict:", "Traceback")),
    Row("known_failures.toml: [[failures]]",
        _then_compare(_known_failures('[[failures]]\nenv = "*"\ncase = "c"\ncheck = "golden"\nreason = "r"\n')), 2,
        ("{root}/known_failures.toml: failures: unknown field (known: failure)",)),
    Row("an invariant's observables=[...] misspelt", _then_compare(_results_with(invariants=[INVARIANT_OBSERVABLE])),
        4, ("invariant 'a equals b' names the observable 'los', which variant 'a' does not return (it returns: "
            "initial_weight_sums, loss, trajectory, final_weights_digest)", "fix the name in c's INVARIANTS"),
        ("REGRESSIONS", "Traceback")),
    Row("an invariant's variant:observable misspelt", _then_compare(_results_with(invariants=[INVARIANT_REFERENCE])),
        4, ("invariant 'a equals b' names the observable 'los', which variant 'a' does not return",
            "fix the name in c's INVARIANTS"), ("REGRESSIONS", "Traceback")),
    Row("an invariant's variant misspelt (results of an older runner)",
        _then_compare(_results_with(invariants=[INVARIANT_VARIANT])), 4,
        ("invariant 'a equals b' names the variant 'aa', which c does not have (its variants: a, b)",
         "fix the name in c's INVARIANTS"), ("see the run verdict", "Traceback")),
    Row("a claim's observable misspelt", _then_compare(_results_with(claims=[CLAIM_OBSERVABLE])), 4,
        ("claim 'a ends lower than b' names the observable 'los', which variant 'a' does not return",
         "fix the name in c's CLAIMS"), ("cannot be measured in {env}", "does not hold in {env}", "Traceback")),
    Row("results of an edited case", _then_compare(_edited_case), 4,
        ("the results of c in {env} are stale: {cases}/c.py (or a helper beside it) changed since they were made",
         f'run it again: `nox -s "matrix({ENV})" -- --case c`')),
    # -- loses or damages data --
    Row("--cases-dir without --results",
        _then_harness("run", ENV, "--python", NO_PYTHON, "--cases-dir", "{cases}", prepare=_with_builtin_results), 4,
        ("cannot start the interpreter {root}/no-such-python",), rewrites=(RESULTS_FILE,), then=_results_kept),
    Row("an interpreter that will not start, in a --case run",
        _then_harness("run", ENV, "--python", NO_PYTHON, "--cases-dir", "{cases}", "--results", "{results}",
                      "--case", "c", prepare=_with_builtin_results), 4,
        (f"{ENV}: environment unavailable", "cannot start the interpreter {root}/no-such-python"),
        rewrites=(RESULTS_FILE,), then=_results_kept),
    Row("a bad memory limit in a --case run",
        _then_harness("run", ENV, "--python", NO_PYTHON, "--results", "{results}", "--case", "c", "--cases-dir",
                      "{cases}", env={"HARNESS_MEMORY_LIMIT_MB": "lots"}, prepare=_with_builtin_results), 2,
        ("HARNESS_MEMORY_LIMIT_MB='lots' is not a number of megabytes",)),
    Row("results written by a newer schema (run)",
        _then_harness("run", ENV, "--python", NO_PYTHON, "--cases-dir", "{cases}", "--results", "{results}",
                      prepare=_newer_schema), 4,
        ("{results}/{env}.json was written by a newer harness (schema 99)", "upgrade tfrepro")),
    Row("results written by a newer schema (compare)", _then_compare(_newer_schema), 4,
        ("{results}/{env}.json: written by a newer harness (schema 99, this one reads 2); upgrade tfrepro",),
        ("re-run the environment", "Traceback")),
    Row("two blesses of one environment at once", _two_blesses_at_once, 0, ("blessed -> {golden}/{env}.json",),
        rewrites=(GOLDEN_FILE,), then=_both_cases_blessed),
    Row("a partial bless", _partial_bless, 0, ("c2: drift", "blessed -> {golden}/{env}.json"),
        rewrites=(GOLDEN_FILE,), then=_fingerprints_kept),
    # -- misleads --
    Row("a new variant in an existing case", _then_compare(_new_variant), 5,
        (f"c has new variant(s) new with no golden values in {ENV}", f"nox -s bless -- {ENV} --case c"),
        ("infrastructure", "Traceback")),
    Row("a case that failed in every variant, never blessed", _then_compare(_failed_case_without_golden), 4,
        ("c2/a raised ValueError: shapes do not match", f"c2 has no golden values in {ENV}, and nothing to bless"),
        (f"nox -s bless -- {ENV} --case c2", "Traceback")),
    Row("HARNESS_MEMORY_LIMIT_MB=-1",
        _then_harness("run", ENV, "--python", NO_PYTHON, "--results", "{results}",
                      env={"HARNESS_MEMORY_LIMIT_MB": "-1"}), 2,
        ("HARNESS_MEMORY_LIMIT_MB='-1': a number of megabytes greater than 0 is needed",),
        ("could not start", "Traceback")),
    Row(f"a {LINE_MB} MB event line, read within a 4 s case timeout", _huge_event_line, 0, (f"{ENV}: wrote",),
        ("timed out", "Traceback"), rewrites=(RESULTS_FILE,), then=_huge_line_read),
    Row("the project's known failures in a user's report", _user_report_with_project_known_failures, 0,
        ("verdict: PASS",), ("STALE", "Traceback"), then=_no_stale_entries),
    Row("harness run --help", _then_harness("run", "--help"), 0,
        ("--cases-dir DIR", "--case-timeout SECONDS", "--results DIR", "--repeat auto|N")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(project, row):
    stage = Stage(project)
    proc = row.given(project, stage)
    assert stage.before is not None, "the row never marked its input as in place"
    output = proc.stdout + proc.stderr
    assert proc.returncode == row.code, output[-4000:]
    for phrase in row.says:
        assert project.fill(phrase) in output, (project.fill(phrase), output[-4000:])
    for phrase in row.never_says:
        assert project.fill(phrase) not in output, (phrase, output[-4000:])
    changed = [rel for rel in lost_or_changed(stage.before, hashes(project.root))
               if rel not in row.rewrites and not rel.startswith("report/")]
    assert changed == [], f"lost or changed: {changed}"
    if row.then is not None:
        row.then(project, stage)


def test_every_row_is_distinct():
    assert len({r.id for r in ROWS}) == len(ROWS)
    assert len(ROWS) >= 23


# -- inputs that need the worker: one real run in tf2.15-keras2 ---------------------------------
WORKER_CASES = {
    "returns_float": '''
        def run(k, workdir):
            return {"loss": 0.5}
    ''',
    "returns_string": '''
        def run(k, workdir):
            return "done"
    ''',
    "returns_list": '''
        def run(k, workdir):
            return [0.5]
    ''',
    "returns_none": '''
        def run(k, workdir):
            pass
    ''',
    "ten_million": '''
        import numpy as np
        from harness.inenv import observe

        def run(k, workdir):
            return {"big": observe.array(np.zeros(10000000, dtype="float32"))}
    ''',
    "misspelt_variant": '''
        from harness.inenv import observe
        from harness.inenv.declare import same

        VARIANTS = {"a": {}, "b": {}}
        INVARIANTS = [same("a equals b", "aa", "b")]

        def run(k, workdir):
            return {"x": observe.scalar(1.0)}
    ''',
    "fine": '''
        from harness.inenv import observe

        def run(k, workdir):
            return {"x": observe.scalar(1.0)}
    ''',
}
# case -> what its variant's error (or the case's) says
WORKER_ERRORS = {
    "returns_float": "observable 'loss' is float; make it with observe.scalar/series/table/array/digest/text",
    "returns_string": "run() must return a dict {name: observable} made with harness.inenv.observe, not str",
    "returns_list": "run() must return a dict {name: observable} made with harness.inenv.observe, not list",
    "returns_none": "run() must return a dict {name: observable} made with harness.inenv.observe, not NoneType",
    "ten_million": "observable 'big' holds 10000000 values, more than the limit of 1000000",
    "misspelt_variant": "a declaration names the variant 'aa', which VARIANTS does not have (a, b)",
}


@pytest.fixture(scope="module")
def worker_run(tmp_path_factory):
    """The cases above run for real, from a project folder whose results/ already holds a
    built-in case's results, with --cases-dir and without --results; then the cases that
    worked blessed (--force: they ran once), so that compare's verdict is the errors'."""
    python = drive.python_of(ENV)
    project = Project(tmp_path_factory.mktemp("worker"))
    project.cases.mkdir()
    for name, source in WORKER_CASES.items():
        (project.cases / f"{name}.py").write_text(f'"""{name}"""\n' + textwrap.dedent(source))
    builtin = fakes.result(ENV, {"linear_autoencoder": fakes.case({"plain": fakes.variant([2.0, 1.0])})})
    project.write("results", builtin)
    started = time.time()
    proc = harness(project, "run", ENV, "--python", python, "--cases-dir", project.cases, "--repeat", "1",
                   "--envelope", "0", timeout=600)
    seconds = time.time() - started
    blessed = bless(project, "--case", "fine", "--case", "linear_autoencoder", "--force")
    assert blessed.returncode == 0, blessed.stdout + blessed.stderr
    return project, proc, seconds, Results.from_json(Where("before"), builtin)


@pytest.mark.envs
def test_worker_run_keeps_going_and_keeps_the_builtin_results(worker_run):
    project, proc, seconds, builtin = worker_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    doc = store.read_results(str(project.path("results")))
    assert doc.ok
    assert sorted(doc.cases) == sorted([*WORKER_CASES, "linear_autoencoder"])
    assert doc.cases["linear_autoencoder"] == builtin.cases["linear_autoencoder"]
    assert doc.cases["fine"].ok
    assert seconds < 300, f"the run took {seconds:.0f} s (a 10-million-value observable once took ten minutes)"


@pytest.mark.envs
@pytest.mark.parametrize("case", sorted(WORKER_ERRORS))
def test_worker_side_bad_input(worker_run, case):
    """Each bad case is an error of its own in the results, an error verdict in compare
    (exit 4, the message), and bless refuses it; no file is lost or changed."""
    project, _, _, _ = worker_run
    entry = project.read("results")["cases"][case]
    errors = [entry["error"]] + [v.get("error") for v in entry["variants"].values()]
    assert any(e and WORKER_ERRORS[case] in e["message"] for e in errors), entry
    before = hashes(project.root)
    proc = harness(project, "compare", "--results", project.results, "--golden", project.golden, "--report",
                   project.report, "--known-failures", os.devnull, "--cases-dir", project.cases)
    assert proc.returncode == 4, proc.stdout[-3000:] + proc.stderr
    assert "Traceback" not in proc.stderr
    errors_section = proc.stdout.split("ERRORS", 1)[1]
    assert re.search(rf"\[{re.escape(ENV)}\] {case}\S* run: .*{re.escape(WORKER_ERRORS[case][:60])}",
                     errors_section), errors_section[:3000]
    refused = bless(project, "--case", case)
    assert refused.returncode == 1 and f"refused: {case} has errors" in refused.stdout, refused.stdout
    changed = [rel for rel in lost_or_changed(before, hashes(project.root)) if not rel.startswith("report/")]
    assert changed == [], f"lost or changed: {changed}"
