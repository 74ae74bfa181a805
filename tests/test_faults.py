"""Reliability (issue 8): each fault is produced for real and its verdict, its message
and what survived it are checked.

Real faults only: a broken golden file on disk, a case that really raises, hangs,
segfaults, aborts or leaks inside a real pinned environment, a run really killed
by SIGINT or SIGKILL, two real processes at once, a missing interpreter, a lock
pin that does not exist, an unreachable package index, a full file system.
Environments: tf2.15-keras2 and tf2.21-keras3.13; case folders: tests/fault_cases/.
Everything is written under pytest's temporary folders.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import glob
import json
import math
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from harness.core import store
from harness.core.documents.schema import GOLDEN_VERSION
from tests.fault_cases import drive
from tests.fault_cases.drive import KERAS2, KERAS3

pytestmark = pytest.mark.envs

FAULT_ENV = KERAS2
MEMORY_LIMIT_MB = 1200  # above a TF 2.15 worker's 470 MB, far below what f5_leaks asks for

# Names that would break a report, a shell command or a path if used raw.
HOSTILE_CASE = "evil<img src=x onerror=alert(1)>&'\"|]]>`"
HOSTILE_VARIANTS = ("<script>alert('v')</script>", "../../../../tfrepro_pwned", "pipe|tick`\nnew line")
HOSTILE_OBSERVABLE = "<i>value</i>|x"
HOSTILE_INVARIANT = "<b>same</b> & \"quoted\" | piped"
HOSTILE_PACKAGE = "<script>alert('pkg')</script>"
HOSTILE_SOURCE = f'''"""Hostile names: markup, quotes, a shell pipe, a path and a newline."""

from harness.inenv import observe
from harness.inenv.declare import same

NAMES = {HOSTILE_VARIANTS!r}
VARIANTS = dict((name, {{}}) for name in NAMES)
INVARIANTS = [same({HOSTILE_INVARIANT!r}, NAMES[0], NAMES[1])]


def run(k, workdir):
    return {{{HOSTILE_OBSERVABLE!r}: observe.scalar(1.0)}}
'''
# Cases of the clean folder that run everywhere (keras3_only raises in Keras 2).
PORTABLE = ("tiny", "nonfinite", HOSTILE_CASE)
# With golden values for every case that ran, the errors left: Keras 2's keras3_only raised, and
# was never blessed there (nothing to bless: an error pointing at its run, not a bless command).
NEVER_BLESSED = {(KERAS2, "keras3_only", "run"), (KERAS2, "keras3_only", "golden")}


def errors(summary: dict) -> set[tuple[str, str, str]]:
    return {(v["env"], v["case"], v["check"]) for v in summary["verdicts"] if v["outcome"] == "error"}


# -- fixtures: real runs, made once ------------------------------------------------
@pytest.fixture(scope="module")
def clean_cases(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean_cases")
    for path in glob.glob(os.path.join(drive.case_dir("clean"), "*.py")):
        shutil.copy(path, folder)
    (folder / f"{HOSTILE_CASE}.py").write_text(HOSTILE_SOURCE)
    return folder


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory, clean_cases):
    """The module's long real runs, started together so that one's framework import
    overlaps another's: the clean folder in both environments, and the faults folder.
    Maps a name to (future of the run, its results folder)."""
    pool = concurrent.futures.ThreadPoolExecutor(3)
    clean = tmp_path_factory.mktemp("clean_results")
    runs = {env: (pool.submit(drive.run_env, env, [clean_cases], clean, case_timeout=300), clean)
            for env in (KERAS2, KERAS3)}
    faults = tmp_path_factory.mktemp("fault_results")
    runs["faults"] = (pool.submit(drive.run_env, FAULT_ENV, [drive.case_dir("faults")], faults, repeat=1,
                                  case_timeout=60, memory_limit_mb=MEMORY_LIMIT_MB), faults)
    yield runs
    pool.shutdown()


@pytest.fixture(scope="module")
def clean_results(real_runs) -> Path:
    """tests/fault_cases/clean plus the hostile case, run in both environments."""
    for env in (KERAS2, KERAS3):
        real_runs[env][0].result()
    return real_runs[KERAS2][1]


@dataclasses.dataclass
class Workspace:
    """A results folder copied from the real runs, and empty golden and report folders."""

    root: Path
    blessed: Path  # golden values blessed by `harness bless` from the same results

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def golden(self) -> Path:
        return self.root / "golden"

    @property
    def report(self) -> Path:
        return self.root / "report"

    def compare(self, *extra: str) -> subprocess.CompletedProcess:
        return drive.compare(self.results, self.golden, self.report, *extra)

    def bless(self, *args: str) -> subprocess.CompletedProcess:
        return drive.bless(self.results, self.golden, *args)

    def bless_portable(self) -> None:
        """Golden values for every case that ran without error (blessed once per module)."""
        shutil.copytree(self.blessed, self.golden, dirs_exist_ok=True)

    def summary(self) -> dict:
        return drive.load(self.report / "summary.json")

    def golden_path(self, env: str) -> Path:
        return self.golden / f"{env}.json"


@pytest.fixture(scope="module")
def blessed(tmp_path_factory, clean_results) -> Path:
    """`harness bless` of every case that ran without error in the clean runs."""
    golden = tmp_path_factory.mktemp("blessed")
    for env, cases in ((KERAS2, PORTABLE), (KERAS3, (*PORTABLE, "keras3_only"))):
        proc = drive.bless(clean_results, golden, env, *[a for c in cases for a in ("--case", c)])
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return golden


@pytest.fixture
def ws(tmp_path, clean_results, blessed) -> Workspace:
    shutil.copytree(clean_results, tmp_path / "results")
    (tmp_path / "golden").mkdir()
    return Workspace(tmp_path, blessed)


def _bless_hint(message: str) -> list[str]:
    """The command a 'missing' message tells the user to run, as the shell splits it."""
    command = message.split("run `", 1)[1].rsplit("`.", 1)[0]
    return shlex.split(command)


# -- golden files: missing and broken ----------------------------------------------
def test_missing_golden_is_missing_with_the_bless_command(ws):
    proc = ws.compare()
    assert proc.returncode == 5, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "MISSING GOLDEN VALUES" in proc.stdout and "verdict: FAIL: golden values missing" in proc.stdout
    summary = ws.summary()
    for env in (KERAS2, KERAS3):
        for case in ("tiny", "nonfinite", HOSTILE_CASE):
            v = drive.verdict(summary, env, case, "golden")
            assert (v["status"], v["outcome"]) == ("missing", "missing")
            assert f"no golden file {ws.golden_path(env)}" in v["message"]
            assert _bless_hint(v["message"]) == ["nox", "-s", "bless", "--", env, "--case", case]

    # A golden file that lacks a case (a case added since) and no golden file at all
    # for the other environment (an environment added since): both missing, not errors.
    assert ws.bless(KERAS3, "--case", "tiny").returncode == 0
    proc = ws.compare()
    assert proc.returncode == 5, proc.stdout[-3000:]
    summary = ws.summary()
    assert drive.verdict(summary, KERAS3, "tiny", "golden")["outcome"] == "pass"
    new_case = drive.verdict(summary, KERAS3, "nonfinite", "golden")
    assert new_case["outcome"] == "missing" and f"{ws.golden_path(KERAS3)} has no nonfinite" in new_case["message"]
    assert drive.verdict(summary, KERAS2, "tiny", "golden")["outcome"] == "missing"


BROKEN_GOLDEN = {
    # kind: (how to break a valid golden text, what the message must say)
    "empty": (lambda text: "", "the file is empty"),
    "truncated": (lambda text: text[: len(text) // 2], "not valid JSON"),
    "invalid JSON": (lambda text: text.replace('"schema"', "schema", 1), "not valid JSON"),
    # (schema 1 is upgraded when read; an older one is refused)
    "old schema": (lambda text: text.replace(f'"version": {GOLDEN_VERSION}', '"version": 0', 1),
                   f"schema 0 is older than {GOLDEN_VERSION}; bless it again"),
    "newer harness": (lambda text: text.replace(f'"version": {GOLDEN_VERSION}', f'"version": {GOLDEN_VERSION + 1}', 1),
                      f"written by a newer harness (schema {GOLDEN_VERSION + 1}, this one reads {GOLDEN_VERSION}); "
                      "upgrade tfrepro (it is left as it is)"),
    "results, not golden": (None, "not a tfrepro-golden document"),
}


@pytest.mark.parametrize("kind", BROKEN_GOLDEN)
def test_broken_golden_file_is_named_and_never_overwritten(ws, kind):
    ws.bless_portable()
    path = ws.golden_path(KERAS2)
    breaker, expected = BROKEN_GOLDEN[kind]
    broken = breaker(path.read_text()) if breaker else (ws.results / f"{KERAS2}.json").read_text()
    assert broken != path.read_text()
    path.write_text(broken)
    before = drive.snapshot(ws.golden)

    proc = ws.compare()
    assert proc.returncode == 4, proc.stdout[-3000:] + proc.stderr[-3000:]  # an error, never a pass
    assert "Traceback" not in proc.stderr
    assert f"! {path}: {expected}" in proc.stdout
    summary = ws.summary()
    for case in PORTABLE:
        v = drive.verdict(summary, KERAS2, case, "golden")
        assert (v["status"], v["outcome"]) == ("error", "error")
        assert str(path) in v["message"] and expected in v["message"]
        assert "nothing was overwritten" in v["message"]
        # The broken file's environment still gets its other checks ...
        assert drive.verdict(summary, KERAS2, case, "run")["outcome"] == "pass"
        assert drive.verdict(summary, KERAS2, case, "drift:reference")["against"] == KERAS3
        # ... and the other environment its golden verdicts.
        assert drive.verdict(summary, KERAS3, case, "golden")["outcome"] == "pass"
    assert drive.snapshot(ws.golden) == before

    # bless will not replace a broken golden file unless forced; a newer tfrepro's file, never.
    proc = ws.bless(KERAS2, "--case", "tiny")
    assert proc.returncode == 1
    assert f"refused: {path}: {expected}" in proc.stdout
    assert drive.snapshot(ws.golden) == before
    if kind == "newer harness":
        assert "--force" not in proc.stdout
        forced = ws.bless(KERAS2, "--case", "tiny", "--force")
        assert forced.returncode == 1 and f"refused: {path}: {expected}" in forced.stdout, forced.stdout + forced.stderr
        assert drive.snapshot(ws.golden) == before
        return
    assert "bless with --force to replace it" in proc.stdout
    assert ws.bless(KERAS2, "--case", "tiny", "--force").returncode == 0
    assert list(store.read_golden(str(path)).cases) == ["tiny"]


def test_golden_for_a_case_or_environment_that_no_longer_exists(ws):
    ws.bless_portable()
    path = ws.golden_path(KERAS3)
    golden = drive.load(path)
    golden["cases"]["retired_case"] = golden["cases"]["tiny"]
    store.write_json(str(path), golden)
    shutil.copy(path, ws.golden / "tf0.1-keras0.json")  # an environment gone from the matrix

    proc = ws.compare()
    summary = ws.summary()
    assert proc.returncode == 4, proc.stdout[-3000:]
    assert errors(summary) == NEVER_BLESSED  # neither the orphan case nor the gone environment is an error
    orphan = drive.verdict(summary, KERAS3, "retired_case", "golden")
    assert (orphan["status"], orphan["outcome"]) == ("missing", "info")
    assert f"holds retired_case, which no case produces any more (orphan; `nox -s bless -- {KERAS3} --prune`" \
        in orphan["message"]
    gone = drive.verdict(summary, "tf0.1-keras0", "*", "golden")
    assert gone["outcome"] == "info" and "belongs to no environment of the matrix" in gone["message"]
    assert all(drive.verdict(summary, KERAS3, c, "golden")["outcome"] == "pass" for c in PORTABLE)

    assert ws.bless(KERAS3).returncode == 0
    assert "retired_case" in drive.load(path)["cases"]  # kept unless asked
    assert ws.bless(KERAS3, "--prune").returncode == 0
    assert "retired_case" not in drive.load(path)["cases"]


# -- cases that raise, hang, crash or leak ----------------------------------------
def test_case_that_raises_in_one_environment_only(ws):
    keras2 = drive.results_of(ws.results, KERAS2)["cases"]
    failed = keras2["keras3_only"]["variants"]["default"]
    assert failed["status"] == "error" and failed["error"]["type"] == "AttributeError"
    assert "ops" in failed["error"]["message"]
    assert any("keras3_only.py" in line for line in failed["error"]["traceback"])
    assert failed["error"]["traceback"][-1].startswith("AttributeError")
    assert all(keras2[c]["variants"] and all(v["status"] == "ok" for v in keras2[c]["variants"].values())
               for c in PORTABLE)
    keras3 = drive.results_of(ws.results, KERAS3)["cases"]["keras3_only"]["variants"]["default"]
    assert keras3["status"] == "ok" and keras3["observables"]["three"]["values"] == [3.0]

    ws.bless_portable()
    proc = ws.compare()
    assert proc.returncode == 4, proc.stdout[-3000:]
    summary = ws.summary()
    assert errors(summary) == NEVER_BLESSED
    v = drive.verdict(summary, KERAS2, "keras3_only", "run")
    assert v["outcome"] == "error" and v["message"].startswith("keras3_only/default raised AttributeError:")
    assert "AttributeError" in v["details"] and "keras3_only.py" in v["details"]
    v = drive.verdict(summary, KERAS2, "keras3_only", "golden")  # never blessed, and no variant to bless
    assert (v["status"], v["outcome"]) == ("error", "error")
    assert v["message"] == (f"keras3_only has no golden values in {KERAS2}, and nothing to bless: no variant of it "
                            "ran (see its run verdict); fix the case, run it again, then bless it.")
    assert drive.verdict(summary, KERAS3, "keras3_only", "run")["outcome"] == "pass"
    assert drive.verdict(summary, KERAS3, "keras3_only", "golden")["outcome"] == "pass"
    for case in PORTABLE:
        assert drive.verdict(summary, KERAS2, case, "golden")["outcome"] == "pass"


@pytest.fixture(scope="module")
def fault_results(real_runs) -> tuple[dict, Path]:
    """tests/fault_cases/faults in one real environment: the results, and their folder."""
    future, out = real_runs["faults"]
    doc = future.result().to_json()
    assert drive.results_of(out, FAULT_ENV) == json.loads(json.dumps(doc))  # what was returned was written
    return doc, out


def test_hanging_case_is_killed_at_its_own_timeout(fault_results):
    doc, _ = fault_results
    hung = doc["cases"]["f2_hangs"]
    assert hung["status"] == "error"
    assert hung["error"]["message"] == "timed out after 2 s (the case was killed)"
    assert hung["variants"]["quick"]["status"] == "ok"  # what it did before it hung is kept
    assert doc["timing"]["cases"]["f2_hangs"] < 10


@pytest.mark.parametrize("case,signal_name", [("f3_segfault", "SIGSEGV"), ("f4_abort", "SIGABRT")])
def test_crashing_interpreter_is_noticed_from_outside(fault_results, case, signal_name):
    doc, _ = fault_results
    entry = doc["cases"][case]
    assert entry["status"] == "error"
    assert entry["error"]["message"] == f"the interpreter crashed during this case (killed by {signal_name})"
    assert entry["error"]["type"] == "Crash"
    if case == "f3_segfault":
        assert entry["variants"]["fine"]["observables"]["one"]["values"] == [1.0]


def test_leaking_case_is_stopped_at_the_memory_limit(fault_results):
    doc, _ = fault_results
    entry = doc["cases"]["f5_leaks"]
    assert entry["status"] == "error"
    message = entry["error"]["message"]
    assert message.startswith("exceeded the memory limit (") and f"> {MEMORY_LIMIT_MB} MB)" in message
    assert doc["timing"]["cases"]["f5_leaks"] < 30  # the limit stopped it, not its 60 s timeout


def test_faults_leave_the_other_cases_and_the_run_intact(fault_results, tmp_path):
    doc, folder = fault_results
    assert doc["status"] == "ok" and list(doc["cases"]) == [
        "f1_ok_before", "f2_hangs", "f3_segfault", "f4_abort", "f5_leaks", "f6_ok_after"]
    for case in ("f1_ok_before", "f6_ok_after"):  # before the faults, and after four restarts
        assert doc["cases"][case]["status"] == "ok"
        assert len(doc["cases"][case]["variants"]["default"]["observables"]["draws"]["values"]) == 3
    assert len(doc["timing"]["imports"]) == 5  # the worker was restarted after each fatal fault

    proc = drive.compare(folder, tmp_path / "golden", tmp_path / "report")
    assert proc.returncode == 5 and "Traceback" not in proc.stderr  # golden missing comes first, then errors
    summary = drive.load(tmp_path / "report" / "summary.json")
    for case in ("f2_hangs", "f3_segfault", "f4_abort", "f5_leaks"):
        v = drive.verdict(summary, FAULT_ENV, case, "run")
        assert v["outcome"] == "error" and doc["cases"][case]["error"]["message"] in v["message"]
    assert drive.verdict(summary, FAULT_ENV, "f6_ok_after", "run")["outcome"] == "pass"
    # The cases that died before any variant ran have nothing to bless: their golden verdict is an
    # error too (f2_hangs and f3_segfault kept a variant, so theirs is missing).
    faults = ("f2_hangs", "f3_segfault", "f4_abort", "f5_leaks")
    assert errors(summary) == ({(FAULT_ENV, c, "run") for c in faults}
                               | {(FAULT_ENV, c, "golden") for c in ("f4_abort", "f5_leaks")})
    assert "ERRORS (environments unavailable, cases that raised, hung or crashed): 6" in proc.stdout


def test_case_timeout_from_the_command_line_and_the_environment(tmp_path):
    control = drive.case_dir("control")
    quiet_env = {k: v for k, v in os.environ.items() if k != "HARNESS_CASE_TIMEOUT"}
    runs = {  # at once: each waits mostly for its framework to import
        "option": drive.run_command(FAULT_ENV, [control], tmp_path / "option", "--case", "hangs",
                                    "--case-timeout", "1"),
        "variable": drive.run_command(FAULT_ENV, [control], tmp_path / "variable", "--case", "hangs"),
    }
    envs = {"option": quiet_env, "variable": dict(quiet_env, HARNESS_CASE_TIMEOUT="1.5")}
    procs = {k: subprocess.Popen(cmd, cwd=drive.ROOT, env=envs[k], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True) for k, cmd in runs.items()}
    for proc in procs.values():
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, out[-3000:]
    for key, seconds in (("option", "1"), ("variable", "1.5")):
        cases = drive.results_of(tmp_path / key, FAULT_ENV)["cases"]
        assert cases["hangs"]["error"]["message"] == f"timed out after {seconds} s (the case was killed)"


def test_a_worker_that_stops_talking_without_exiting_is_killed(tmp_path):
    # The case closes the worker's event stream and lingers 100 s, as a worker whose framework
    # hangs in its teardown would: the host kills it after REAP_SECONDS, says so, and runs the
    # next case in a new worker.
    from harness.run import supervise

    results = tmp_path / "results"
    cmd = drive.run_command(FAULT_ENV, [drive.case_dir("control")], results, "--case", "silent", "--case", "quick",
                            "--repeat", "1")
    started = time.time()
    proc = subprocess.run(cmd, check=False, cwd=drive.ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert time.time() - started < 90  # not the case's 100 s
    cases = drive.results_of(results, FAULT_ENV)["cases"]
    assert cases["silent"]["status"] == "error"
    assert cases["silent"]["error"]["message"] == (
        "the worker stopped sending events during this case and did not exit within "
        f"{supervise.REAP_SECONDS:g} s (it was killed)")
    assert cases["quick"]["status"] == "ok"


# -- interrupted and concurrent runs ----------------------------------------------
@dataclasses.dataclass
class WaitingRun:
    """``python -m harness run`` held inside the control case ``waits`` until released."""

    proc: subprocess.Popen
    signals: Path

    def worker_pid(self) -> int:
        marker = self.signals / "started"
        deadline = time.time() + 180
        while not (marker.exists() and marker.read_text()):
            assert self.proc.poll() is None, self.proc.communicate()[0][-3000:]
            assert time.time() < deadline, "the case never started"
            time.sleep(0.1)
        return int(marker.read_text())

    def release(self) -> None:
        (self.signals / "release").write_text("")

    def outcome(self, timeout: float) -> str:
        """The host's output once it has exited; a host still running after ``timeout``
        seconds fails the test with the stacks of all its threads (faulthandler, on SIGABRT)
        and the processes of its group, so that a hang says where it is."""
        try:
            return self.proc.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            tree = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "-g", str(self.proc.pid)],
                                  capture_output=True, text=True).stdout
            self.proc.send_signal(signal.SIGABRT)
            out = self.proc.communicate(timeout=30)[0]
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # workers it left
            except ProcessLookupError:
                pass
            pytest.fail(f"the host did not exit within {timeout:g} s\n{tree}\n{out[-6000:]}")


def start_waiting_run(results: Path, signals: Path, env: str = FAULT_ENV) -> WaitingRun:
    signals.mkdir()
    cmd = drive.run_command(env, [drive.case_dir("control")], results, "--case", "waits")
    # Its own temporary folder: a host killed with SIGKILL leaves its job file and its
    # worker's scratch folder behind (nothing can remove them), here and not in /tmp.
    scratch = signals.parent / f"{signals.name}-tmp"
    scratch.mkdir()
    environ = dict(os.environ, TFREPRO_TEST_SIGNAL_DIR=str(signals), PYTHONFAULTHANDLER="1",
                   TMPDIR=str(scratch), TMP=str(scratch), TEMP=str(scratch))
    proc = subprocess.Popen(cmd, cwd=drive.ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return WaitingRun(proc, signals)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"


def _documents(folder: Path) -> dict[str, bytes]:
    """The JSON documents and any leftover temporary file of a results folder."""
    return {k: v for k, v in drive.snapshot(folder).items() if k.endswith((".json", ".tmp"))}


@pytest.fixture
def previous_run(tmp_path, clean_results) -> tuple[Path, dict[str, bytes]]:
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(clean_results / f"{FAULT_ENV}.json", results)
    return results, _documents(results)


def test_sigint_mid_run_keeps_the_previous_results(tmp_path, previous_run):
    results, before = previous_run
    run = start_waiting_run(results, tmp_path / "signals")
    worker = run.worker_pid()
    os.killpg(run.proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
    out = run.outcome(timeout=60)
    assert run.proc.returncode == 130, out[-3000:]
    assert _documents(results) == before
    deadline = time.time() + 10
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def test_sigkill_mid_run_then_the_next_run_starts_cleanly(tmp_path, previous_run):
    results, before = previous_run
    run = start_waiting_run(results, tmp_path / "signals")
    worker = run.worker_pid()
    try:
        run.proc.kill()  # the host only: no handler runs, its worker is orphaned
        run.proc.communicate(timeout=60)
        assert _documents(results) == before
        assert _alive(worker)
        # The dead run's lock file is still there and its worker still runs: neither blocks.
        cmd = drive.run_command(FAULT_ENV, [drive.case_dir("control")], results, "--case", "quick")
        proc = subprocess.run(cmd, check=False, cwd=drive.ROOT, capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
    cases = drive.results_of(results, FAULT_ENV)["cases"]
    assert cases["quick"]["status"] == "ok"
    previous = json.loads(before[f"{FAULT_ENV}.json"])["cases"]
    assert {c: cases[c] for c in previous} == previous  # a partial run keeps the others' results


def test_two_runs_at_once_do_not_corrupt_each_other(tmp_path):
    results = tmp_path / "results"
    first = start_waiting_run(results, tmp_path / "signals")
    first.worker_pid()
    try:
        # The same environment and folder: refused at once, clearly, nothing touched.
        log_before = (results / f"{FAULT_ENV}.log").read_bytes()
        cmd = drive.run_command(FAULT_ENV, [drive.case_dir("control")], results, "--case", "quick")
        second = subprocess.run(cmd, check=False, cwd=drive.ROOT, capture_output=True, text=True, timeout=120)
        assert second.returncode == 4, second.stdout + second.stderr
        assert "Traceback" not in second.stderr
        assert f"another run is writing {results / FAULT_ENV}.json right now" in second.stderr
        assert (results / f"{FAULT_ENV}.log").read_bytes() == log_before
        # Another environment into the same folder at the same time: runs.
        cmd = drive.run_command(KERAS3, [drive.case_dir("control")], results, "--case", "quick")
        other = subprocess.run(cmd, check=False, cwd=drive.ROOT, capture_output=True, text=True, timeout=240)
        assert other.returncode == 0, other.stdout[-3000:] + other.stderr[-3000:]
    finally:
        first.release()
    out, _ = first.proc.communicate(timeout=120)
    assert first.proc.returncode == 0, out[-3000:]
    assert list(drive.results_of(results, FAULT_ENV)["cases"]) == ["waits"]
    assert drive.results_of(results, FAULT_ENV)["cases"]["waits"]["status"] == "ok"
    assert list(drive.results_of(results, KERAS3)["cases"]) == ["quick"]


# -- environments that cannot be built ----------------------------------------------
def test_missing_interpreter_with_harness_run(tmp_path):
    results = tmp_path / "results"
    proc = drive.harness("run", KERAS2, "--python", "/nonexistent/bin/python3.11", "--results", results,
                         "--cases-dir", drive.case_dir("control"), "--case", "quick")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    doc = drive.results_of(results, KERAS2)
    assert doc["status"] == "unavailable" and "/nonexistent/bin/python3.11" in doc["reason"]
    proc = drive.compare(results, tmp_path / "golden", tmp_path / "report")
    assert proc.returncode == 4
    v = drive.verdict(drive.load(tmp_path / "report" / "summary.json"), KERAS2, "*", "environment")
    assert v["status"] == "unavailable" and "/nonexistent/bin/python3.11" in v["message"]


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory) -> Path:
    """The checkout's harness, noxfile and three locks in a temporary folder, with the
    tiny case as its only case: a project where the tests may break a lock file."""
    copy = tmp_path_factory.mktemp("checkout")
    for name in ("noxfile.py", "pyproject.toml", "README.md"):
        shutil.copy(os.path.join(drive.ROOT, name), copy)
    shutil.copytree(os.path.join(drive.ROOT, "harness"), copy / "harness",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "locks").mkdir()
    for env in ("tf1.14-keras2", KERAS2, KERAS3):
        shutil.copy(os.path.join(drive.ROOT, "locks", f"{env}.txt"), copy / "locks")
    (copy / "cases").mkdir()
    shutil.copy(os.path.join(drive.case_dir("clean"), "tiny.py"), copy / "cases")
    return copy


def _nox(copy: Path, envdir: Path, sessions: list[str], posargs: list[str], env: dict) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nox", "--envdir", str(envdir), "-s", *sessions]  # one -s: a second replaces it
    return subprocess.run(cmd + ["--", *posargs], check=False, cwd=copy, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **env))


def test_unavailable_environments_through_nox(tmp_path, checkout_copy, clean_results):
    """A missing interpreter and a lock pin that does not exist, beside an environment that works."""
    lock = checkout_copy / "locks" / f"{KERAS2}.txt"
    lock.write_text(lock.read_text().replace("tensorflow-cpu==2.15.0", "tensorflow-cpu==0.0.1"))
    golden = tmp_path / "golden"
    assert drive.bless(clean_results, golden, KERAS3, "--case", "tiny").returncode == 0
    results, report = tmp_path / "results", tmp_path / "report"
    # The environments' sessions, then compare (an environment's session only runs its cases).
    proc = _nox(checkout_copy, tmp_path / "envs",
                ["matrix(tf1.14-keras2)", f"matrix({KERAS2})", f"matrix({KERAS3})", "compare"],
                ["--results", str(results), "--golden", str(golden), "--report", str(report),
                 "--known-failures", os.devnull],
                {"HARNESS_PYTHON_3_7": "/nonexistent/python3.7"})
    output = proc.stdout + proc.stderr
    assert "failed with exit code 4" in output, output[-5000:]  # compare's exit code: infrastructure

    missing = drive.results_of(results, "tf1.14-keras2")
    assert missing["status"] == "unavailable"
    assert "HARNESS_PYTHON_3_7=/nonexistent/python3.7" in missing["reason"]
    bad_pin = drive.results_of(results, KERAS2)
    assert bad_pin["status"] == "unavailable"
    assert f"could not install the lock {checkout_copy / 'locks' / KERAS2}.txt with uv" in bad_pin["reason"]
    assert drive.results_of(results, KERAS3)["cases"]["tiny"]["status"] == "ok"
    summary = drive.load(report / "summary.json")
    assert summary["exit_code"] == 4
    for env, reason in (("tf1.14-keras2", missing["reason"]), (KERAS2, bad_pin["reason"])):
        v = drive.verdict(summary, env, "*", "environment")
        assert v["status"] == "unavailable" and reason in v["message"]
    assert drive.verdict(summary, KERAS3, "tiny", "golden")["outcome"] == "pass"


def test_unreachable_package_index_through_nox(tmp_path):
    results = tmp_path / "results"
    proc = _nox(Path(drive.ROOT), tmp_path / "envs", [f"matrix({KERAS2})"],
                ["--results", str(results), "--report", str(tmp_path / "report"), "--cases-dir",
                 drive.case_dir("control")],
                {"UV_INDEX_URL": "http://127.0.0.1:9/", "UV_CACHE_DIR": str(tmp_path / "empty-cache"),
                 "UV_HTTP_RETRIES": "0"})
    doc = drive.results_of(results, KERAS2)
    assert doc["status"] == "unavailable", (proc.stdout + proc.stderr)[-5000:]
    assert f"could not install the lock {drive.ROOT}/locks/{KERAS2}.txt with uv" in doc["reason"]
    assert f"{KERAS2}: environment unavailable" in proc.stdout + proc.stderr
    compare = drive.compare(results, tmp_path / "golden", tmp_path / "report")
    assert compare.returncode == 4 and "FAIL: infrastructure errors" in compare.stdout


# -- hostile strings ----------------------------------------------------------------
def _markdown_rows_intact(text: str) -> None:
    """Every table row has as many unescaped cell separators as its header."""
    columns = None
    for line in text.splitlines():
        if not line.startswith("|"):
            columns = None
            continue
        count = len(re.findall(r"(?<!\\)\|", line))
        columns = columns or count
        assert count == columns, line


def _check_escaped(report: Path, raw: list[str]) -> None:
    """``raw`` strings appear in no report format as live markup, and the XML parses."""
    files = {p.name: p for p in report.iterdir()}
    assert "summary.json" in files
    summary_text = files["summary.json"].read_text()
    json.loads(summary_text, parse_constant=lambda c: pytest.fail(f"summary.json holds bare {c}"))
    for name in ("index.html", "report.md"):
        if name in files:
            text = files[name].read_text()
            for s in raw:
                assert s not in text, (name, s)
            if name == "report.md":
                _markdown_rows_intact(text)
    if "junit.xml" in files:
        ET.parse(files["junit.xml"])


def _no_traversal(*roots: Path) -> None:
    """No file named after the traversing variant exists in ``roots`` (recursively),
    the folders above them, or /, /tmp and /work (where '../../..' leads)."""
    hits = []
    for root in roots:
        hits += glob.glob(os.path.join(str(root), "**", "*tfrepro_pwned*"), recursive=True)
        hits += [str(p) for parent in Path(root).parents for p in parent.glob("*tfrepro_pwned*")]
    for top in ("/", "/tmp", "/work"):
        hits += glob.glob(os.path.join(top, "*tfrepro_pwned*"))
    assert not hits


def test_hostile_case_and_variant_names(ws):
    proc = ws.compare()
    message = drive.verdict(ws.summary(), KERAS2, HOSTILE_CASE, "golden")["message"]
    assert _bless_hint(message) == ["nox", "-s", "bless", "--", KERAS2, "--case", HOSTILE_CASE]
    ws.bless_portable()
    proc = ws.compare()
    assert "Traceback" not in proc.stderr and proc.returncode == 4, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = ws.summary()
    assert errors(summary) == NEVER_BLESSED
    assert drive.verdict(summary, KERAS3, HOSTILE_CASE, "golden")["outcome"] == "pass"
    assert drive.verdict(summary, KERAS3, HOSTILE_CASE, f"invariant:{HOSTILE_INVARIANT}")["outcome"] == "pass"
    variants = drive.results_of(ws.results, KERAS3)["cases"][HOSTILE_CASE]["variants"]
    assert list(variants) == list(HOSTILE_VARIANTS)
    _check_escaped(ws.report, ["<img src=x", "<script>alert('v')", "<b>same</b>", "<i>value</i>"])
    if (ws.report / "junit.xml").exists():
        names = {tc.get("name") for tc in ET.parse(ws.report / "junit.xml").iter("testcase")}
        assert f"{HOSTILE_CASE} :: golden" in names
    _no_traversal(ws.root.parent, Path(drive.ROOT))


def test_hostile_package_metadata(ws):
    ws.bless_portable()
    path = ws.golden_path(KERAS3)
    golden = drive.load(path)
    golden["cases"]["tiny"]["fingerprint"]["packages"]["tensorflow-cpu"] = HOSTILE_PACKAGE  # per case
    golden["cases"]["tiny"]["variants"]["default"]["observables"]["loss"]["values"][0] += 1.0
    store.write_json(str(path), golden)
    proc = ws.compare()
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    v = drive.verdict(ws.summary(), KERAS3, "tiny", "golden")
    assert v["outcome"] == "regression" and f"tensorflow-cpu {HOSTILE_PACKAGE} → 2.21.0" in v["message"]
    _check_escaped(ws.report, [HOSTILE_PACKAGE])


def test_hostile_environment_names_never_become_paths(ws, tmp_path):
    for name in ("../../tfrepro_evil_env", "a/b", "..", ".hidden", ""):
        with pytest.raises(ValueError):
            store.document_path(str(tmp_path), name)
    assert drive.harness("run", "../../tfrepro_evil_env", "--python", sys.executable, "--results", tmp_path).returncode == 2
    assert drive.harness("bless", "../../tfrepro_evil_env", "--results", ws.results, "--golden", ws.golden).returncode == 2
    ws.bless_portable()
    shutil.copy(ws.golden_path(KERAS3), ws.golden / "<img src=x onerror=alert(2)>.json")
    ws.compare()
    assert drive.verdict(ws.summary(), "<img src=x onerror=alert(2)>", "*", "golden")["outcome"] == "info"
    _check_escaped(ws.report, ["<img src=x"])
    _no_traversal(tmp_path, ws.root)
    assert not glob.glob(os.path.join(str(tmp_path.parent.parent), "**", "*tfrepro_evil_env*"), recursive=True)


# -- NaN and infinities ---------------------------------------------------------------
def test_nan_and_infinities_survive_the_worker_and_compare_correctly(ws):
    text = (ws.results / f"{KERAS3}.json").read_text()
    assert "NaN" in text and "Infinity" in text and "-Infinity" in text
    observables = store.read_results(str(ws.results / f"{KERAS3}.json")).cases["nonfinite"].variants[
        "default"].observables
    assert [repr(x) for x in observables["log_values"].values] == ["-inf", "nan", "0.0"]
    assert list(observables["overflow"].values) == [float(np.float32(3e38)), math.inf, -math.inf]
    ws.bless_portable()

    proc = ws.compare()
    summary = ws.summary()
    for env in (KERAS2, KERAS3):  # NaN equals NaN, inf equals inf: bit for bit
        v = drive.verdict(summary, env, "nonfinite", "golden")
        assert (v["status"], v["outcome"]) == ("identical", "pass")
    # NaN in Keras 3 where Keras 2 had a number: drift, with the reason, never a pass.
    drift = drive.verdict(summary, KERAS2, "nonfinite", "drift:reference")
    assert drift["status"] == "drift" and "1 value(s) became or stopped being NaN/inf" in drift["message"]
    assert "Traceback" not in proc.stderr
    _check_escaped(ws.report, [])
    assert ws.compare("--fail-on-drift").returncode == 1

    # A golden value that was a number and is NaN now: a regression.
    path = ws.golden_path(KERAS3)
    golden = drive.load(path)
    golden["cases"]["nonfinite"]["variants"]["default"]["observables"]["nan_since_keras3"]["values"][0] = 0.5
    store.write_json(str(path), golden)
    proc = ws.compare()
    assert proc.returncode == 1, proc.stdout[-3000:]
    v = drive.verdict(ws.summary(), KERAS3, "nonfinite", "golden")
    assert (v["status"], v["outcome"]) == ("drift", "regression")
    assert "nan_since_keras3: 1/2 values differ (1 beyond tolerance), max |Δ| inf, max rel inf; first at index 0; " \
        "1 value(s) became or stopped being NaN/inf" in v["message"]  # and no ULP count for a NaN


# -- a full disk ------------------------------------------------------------------------
@pytest.fixture
def full_tmpfs(tmp_path):
    """A 1 MiB tmpfs, mounted for the test (root only; skipped where mount is refused)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=False,
                          capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _fill(folder: Path, leave: int) -> None:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    with open(folder / "filler", "wb") as fh:
        stat = os.statvfs(folder)
        fh.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))


def test_disk_full_while_writing_results(full_tmpfs, clean_results):
    results = full_tmpfs / "results"
    results.mkdir()
    shutil.copy(clean_results / f"{FAULT_ENV}.json", results)
    before = _documents(results)
    _fill(full_tmpfs, leave=8192)  # room for the run's log, not for its results
    cmd = drive.run_command(FAULT_ENV, [drive.case_dir("control")], results, "--case", "quick")
    proc = subprocess.run(cmd, check=False, cwd=drive.ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 4, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert f"{results / FAULT_ENV}.json" in proc.stderr and "No space left on device" in proc.stderr
    assert _documents(results) == before  # the previous results, and no temporary file left


def test_file_size_limit_while_blessing(ws):
    ws.bless_portable()
    before = drive.snapshot(ws.golden)
    limit = 2048  # bytes: smaller than any golden file

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([sys.executable, "-m", "harness", "bless", KERAS3, "--force", "--results",
                           str(ws.results), "--golden", str(ws.golden)], check=False, cwd=drive.ROOT,
                          capture_output=True, text=True, timeout=120, preexec_fn=limit_file_size)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{ws.golden_path(KERAS3)}" in proc.stdout + proc.stderr and "File too large" in proc.stdout + proc.stderr
    assert drive.snapshot(ws.golden) == before
