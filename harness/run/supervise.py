"""Supervise one worker process from outside, and turn its event stream into results.

The worker (harness.inenv.worker) runs inside the pinned environment and streams
events (harness.inenv.protocol); this module watches it. A run that hangs is killed
at its timeout, one that crashes the interpreter or outgrows the memory limit is
noticed here, and a new worker is started for the tasks still to do. Everything the
worker sends is parsed here with the documents' own parsers: a case that returns
something unreadable fails alone, with a message, and never reaches a file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any

from harness import __version__
from harness.core.documents.declarations import Declaration
from harness.core.documents.evidence import Envelope, Transplant
from harness.core.documents.observables import RunError, observables_from_json
from harness.core.documents.probes import Probe
from harness.core.documents.results import EnvStatus, Results
from harness.core.documents.schema import RESULTS_KIND, RESULTS_VERSION
from harness.core.reader import DocumentError, Where
from harness.inenv import determinism, protocol
from harness.inenv.cases import source_digest
from harness.matrix import envs
from harness.run.options import RunOptions
from harness.run.staging import runner_path

LOG_TAIL_LINES = 15
REAP_SECONDS = 10.0  # how long a worker whose event stream has ended may take to exit


def now() -> str:
    """The current UTC time, ISO 8601 to the second ("2026-01-31T12:00:00Z")."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def base_document(spec: envs.EnvSpec) -> dict:
    """The results document a run starts from, as the JSON it becomes."""
    return {
        "schema": RESULTS_KIND,
        "version": RESULTS_VERSION,
        "harness": __version__,
        "env": spec.to_json(),
        "status": "ok",
        "reason": None,
        "created": now(),
        "cases": {},
    }


def unavailable_document(spec: envs.EnvSpec, reason: str, error: RunError | None = None) -> Results:
    """The results of an environment that could not be built or started: no cases, the reason."""
    return Results(spec.to_json(), EnvStatus.UNAVAILABLE, {}, now(), __version__, reason, error)


@dataclasses.dataclass
class WorkerRun:
    """What one supervised worker (with its restarts) produced.

    ``results``: the run and repeat tasks' values as a results document; the side
    tables hold what only some tasks make, by (case, variant)."""

    results: Results
    golden_match: dict[tuple[str, str], bool] = dataclasses.field(default_factory=dict)
    envelopes: dict[tuple[str, str], Envelope] = dataclasses.field(default_factory=dict)
    streams: dict[tuple[str, str], Envelope] = dataclasses.field(default_factory=dict)
    transplants: dict[tuple[str, str], Transplant] = dataclasses.field(default_factory=dict)


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return 0.0


def _tail(path: str, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with open(path, errors="replace") as fh:
            return fh.read().splitlines()[-lines:]
    except OSError:
        return []


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """One worker process at a time over a list of tasks, restarted after a crash or a
    timeout for the tasks still to do."""

    def __init__(self, spec: envs.EnvSpec, python: str, options: RunOptions, log_path: str,
                 tasks: list[dict], case_files: dict[str, str], stamp: dict,
                 stop: threading.Event | None = None):
        self.spec = spec
        self.python = python
        self.options = options
        self.log_path = log_path
        self.tasks = tasks
        self.case_files = case_files
        self.stamp = stamp  # the lock and runner digests each case entry records
        self.stop = stop or threading.Event()
        self.doc = base_document(spec)
        self.out = WorkerRun(results=unavailable_document(spec, "not run"))
        self.finished: set[int] = set()  # task indexes
        # Where the time goes (bench/ reads it): per worker, its start (interpreter and
        # runner) and framework import; per case, all of it.
        self.timing: dict = {"starts": [], "imports": [], "cases": {}, "repeats": {}}
        self._spawned = time.time()

    def run(self) -> WorkerRun:
        """Run every task (restarting the worker after a crash or a timeout); the results
        are validated as a results document."""
        started = time.time()
        while not self.stop.is_set():
            remaining = [i for i in range(len(self.tasks)) if i not in self.finished]
            if not remaining or not self._run_worker(remaining):
                break
        for i, task in enumerate(self.tasks):
            if i not in self.finished and task["case"] not in self.doc["cases"]:
                self._fail_case(task["case"], "not run: the worker stopped before reaching this case")
        self.timing["total"] = time.time() - started
        self.doc["timing"] = self.timing
        # Every piece was validated where it arrived; this only builds the typed document.
        self.out.results = Results.from_json(Where(f"the results of {self.spec.id}"), self.doc)
        return self.out

    # -- one worker process -------------------------------------------------
    def _run_worker(self, remaining: list[int]) -> bool:
        """Run one worker over the ``remaining`` tasks; False when no restart helps."""
        job = {"protocol": protocol.PROTOCOL, "flavour": self.spec.flavour, "backend": self.spec.backend,
               "case_dirs": list(self.options.case_dirs), "tasks": [self.tasks[i] for i in remaining]}
        fd, job_path = tempfile.mkstemp(prefix="tfrepro-job-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(job, fh)
        read_fd, write_fd = os.pipe()
        env = determinism.process_env(dict(self.spec.env_vars), self.options.worker_environ())
        env["PYTHONPATH"] = runner_path()
        env.pop("VIRTUAL_ENV", None)
        # The worker's temporary files (TensorFlow's autograph sources, a case's workdir left
        # by a kill) go to a folder of its own, removed when it ends: none pile up in /tmp.
        scratch = tempfile.mkdtemp(prefix="tfrepro-worker-")
        env["TMPDIR"] = env["TMP"] = env["TEMP"] = scratch
        self._spawned = time.time()
        try:
            with open(self.log_path, "a") as log:
                proc = subprocess.Popen(
                    [self.python, "-m", "harness.inenv.worker", "--job", job_path, "--fd", str(write_fd)],
                    cwd=env["PYTHONPATH"], env=env, pass_fds=(write_fd,),
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
        except OSError as exc:  # no such interpreter, not executable: the environment is unusable
            os.close(read_fd)
            os.close(write_fd)
            os.unlink(job_path)
            shutil.rmtree(scratch, ignore_errors=True)
            self._framework_failed({"type": type(exc).__name__, "traceback": [],
                                    "message": f"cannot start the interpreter {self.python} ({exc.strerror})"})
            return False
        os.close(write_fd)
        try:
            return self._watch(proc, read_fd, remaining)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            os.close(read_fd)
            os.unlink(job_path)
            shutil.rmtree(scratch, ignore_errors=True)

    def _watch(self, proc: subprocess.Popen, read_fd: int, remaining: list[int]) -> bool:
        selector = selectors.DefaultSelector()
        selector.register(read_fd, selectors.EVENT_READ)
        pending: list[bytes] = []  # the current line's chunks: joined once, when its newline arrives
        queue = list(remaining)  # the worker does the job's tasks in order
        current: int | None = None  # the task in progress
        deadline = time.time() + self.options.case_timeout
        timeout = self.options.case_timeout
        ready = False
        case_started = time.time()
        while True:
            for _ in selector.select(timeout=0.5):
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    selector.unregister(read_fd)
                    return self._ended(proc, current, ready)
                lines = chunk.split(b"\n")
                pending.append(lines[0])
                complete = []
                if len(lines) > 1:
                    complete.append(b"".join(pending))
                    complete += lines[1:-1]
                    pending = [lines[-1]]
                for line in complete:
                    event = self._parse_event(line)
                    if event is None:
                        continue
                    kind = event["event"]
                    if kind == "ready":
                        ready = True
                        self._ready(event)
                    elif kind == "framework_error":
                        self._framework_failed(event.get("error") or {})
                        return False
                    elif kind == "case_start":
                        current = queue.pop(0) if queue else None
                        case_started = time.time()
                        timeout = self.options.case_timeout
                        deadline = case_started + timeout
                        self._start_case(event)
                    elif kind == "case_declared":
                        timeout = self._declared(event) or timeout
                        deadline = time.time() + timeout
                    elif kind == "run_start":  # each run of a variant gets the whole timeout
                        deadline = time.time() + timeout
                    elif kind == "case_error":
                        error = event.get("error") or {}
                        self._fail_case(str(event.get("case")), str(error.get("message", "")), error)
                        self._finish(current, case_started)
                        current = None
                    elif kind in ("variant_done", "variant_error"):
                        self._variant(event)
                    elif kind == "case_end":
                        self._finish(current, case_started)
                        current = None
                    elif kind == "done":
                        return False
            if self.stop.is_set():
                proc.kill()
                return False
            if current is not None and time.time() > deadline:
                proc.kill()
                self._fail_case(self.tasks[current]["case"], f"timed out after {timeout:g} s (the case was killed)")
                self._finish(current, case_started)
                return True
            rss = _rss_mb(proc.pid)
            if rss > self.options.memory_limit_mb:
                proc.kill()
                message = f"exceeded the memory limit ({rss:.0f} MB > {self.options.memory_limit_mb:g} MB)"
                if current is None:
                    self._framework_failed({"type": "MemoryLimit", "message": message, "traceback": []})
                    return False
                self._fail_case(self.tasks[current]["case"], message)
                self._finish(current, case_started)
                return True
            if proc.poll() is not None and not selector.get_map():
                return self._ended(proc, current, ready)

    def _ended(self, proc: subprocess.Popen, current: int | None, ready: bool) -> bool:
        code, lingered = self._reap(proc)
        how = (f"it stopped sending events and did not exit within {REAP_SECONDS:g} s, so it was killed"
               if lingered else _describe_exit(code))
        if current is not None:
            what = (f"the worker stopped sending events during this case and did not exit within "
                    f"{REAP_SECONDS:g} s (it was killed)" if lingered
                    else f"the interpreter crashed during this case ({how})")
            self._fail_case(self.tasks[current]["case"], what,
                            {"type": "Crash", "message": how, "traceback": _tail(self.log_path)})
            self.finished.add(current)
            return True
        if not ready:
            self._framework_failed({"type": "Crash", "message": f"worker {how} before it was ready",
                                    "traceback": _tail(self.log_path)})
        return False

    def _reap(self, proc: subprocess.Popen) -> tuple[int, bool]:
        """(exit code, whether it outlived REAP_SECONDS) of a worker whose event stream has
        ended. It may still be tearing down its framework (seconds for TensorFlow, without
        end where a thread of it hangs at exit) or be stuck after closing the stream: it is
        killed after REAP_SECONDS, or at once on a stop (Ctrl-C), since nothing more can
        come from it."""
        deadline = time.time() + REAP_SECONDS
        while True:
            try:
                return proc.wait(timeout=0.5), False
            except subprocess.TimeoutExpired:
                if self.stop.is_set() or time.time() > deadline:
                    proc.kill()
                    return proc.wait(), not self.stop.is_set()

    # -- bookkeeping ----------------------------------------------------------
    def _parse_event(self, line: bytes) -> dict | None:
        """One event of the worker; a line that is not one is noted in the log and skipped."""
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict) or event.get("event") not in protocol.EVENT_TYPES:
            with open(self.log_path, "a") as log:
                log.write(f"harness: skipped a line from the worker that is no event: {line[:200]!r}\n")
            return None
        return event

    def _ready(self, event: dict) -> None:
        if event.get("protocol") != protocol.PROTOCOL:
            raise RuntimeError(f"the runner speaks protocol {event.get('protocol')}, the host {protocol.PROTOCOL}")
        for key in ("fingerprint", "versions", "determinism"):
            if isinstance(event.get(key), dict):
                self.doc.setdefault(key, event[key])
        imports = float(event.get("import_seconds") or 0.0)
        self.timing["imports"].append(imports)
        self.timing["starts"].append(max(0.0, float(event.get("time") or 0.0) - imports - self._spawned))

    def _case_entry(self, name: str, digest: str | None = None) -> dict:
        if digest is None and name in self.case_files:
            digest = source_digest(self.case_files[name])
        return {"status": "ok", "error": None, "source_sha256": digest, **self.stamp,
                "created": now(), "declaration": None, "variants": {}}

    def _start_case(self, event: dict) -> None:
        name = str(event.get("case"))
        if name not in self.doc["cases"]:
            self.doc["cases"][name] = self._case_entry(name, event.get("source_sha256"))

    def _declared(self, event: dict) -> float | None:
        name = str(event.get("case"))
        try:
            declared = Declaration.from_json(Where(f"the declarations of {name}"), event.get("declaration"))
        except DocumentError as exc:
            self._fail_case(name, f"its declarations are malformed: {exc}")
            return None
        self.doc["cases"].setdefault(name, self._case_entry(name))["declaration"] = declared.to_json()
        return declared.timeout

    def _fail_case(self, name: str, message: str, error: dict | None = None) -> None:
        entry = self.doc["cases"].setdefault(name, self._case_entry(name))
        entry["status"] = "error"
        entry["error"] = dict(error or {"type": "HarnessError", "traceback": []}, message=message)

    def _finish(self, task: int | None, started: float) -> None:
        if task is not None:
            self.finished.add(task)
            case = self.tasks[task]["case"]
            self.timing["cases"][case] = self.timing["cases"].get(case, 0.0) + time.time() - started

    def _variant(self, event: dict) -> None:
        case, variant = str(event.get("case")), str(event.get("variant"))
        entry = self.doc["cases"].setdefault(case, self._case_entry(case))
        if event["event"] == "variant_error":
            if event.get("mode") in ("transplant", "envelope", "stream"):  # failed evidence: said where it is used
                error = RunError.from_json(Where(f"{case}/{variant}"), event.get("error") or {})
                if event.get("mode") == "transplant":
                    self.out.transplants[(case, variant)] = Transplant(
                        str(event.get("source")), {}, error=error, seconds=float(event.get("seconds") or 0.0))
                return
            entry["variants"][variant] = {"status": "error", "error": event.get("error"),
                                          "seconds": event.get("seconds")}
            return
        try:
            self._record(case, variant, event, entry)
        except DocumentError as exc:  # the worker checked it too; a file must never hold what cannot be read
            entry["variants"][variant] = {"status": "error", "seconds": event.get("seconds"),
                                          "error": {"type": "BadObservables", "message": str(exc), "traceback": []}}

    def _record(self, case: str, variant: str, event: dict, entry: dict) -> None:
        where = Where(f"what {case}/{variant} returned")
        key = (case, variant)
        mode = event.get("mode")
        if mode == "envelope":
            self.out.envelopes[key] = Envelope.from_json(where.at("envelope"), event.get("envelope"))
            return
        if mode == "stream":
            self.out.streams[key] = Envelope.from_json(where.at("stream"), event.get("stream"))
            return
        observables = observables_from_json(where, event.get("observables"))
        probe = Probe.from_json(where.at("probe"), event["probe"]) if event.get("probe") is not None else None
        if probe is not None:  # state files are named relative to the results folder, which may move
            probe = dataclasses.replace(probe, models=tuple(
                dataclasses.replace(m, state_file=os.path.relpath(m.state_file, self.options.results_dir))
                if m.state_file and os.path.isabs(m.state_file) else m for m in probe.models))
        if mode == "transplant":
            self.out.transplants[key] = Transplant(str(event.get("source")), observables, probe,
                                                             seconds=float(event.get("seconds") or 0.0))
            return
        value: dict[str, Any] = {
            "status": "ok",
            "observables": {name: obs.to_json() for name, obs in observables.items()},
            "nondeterministic": list(event.get("nondeterministic") or []),
            "repeats": int(event.get("repeats") or 0),
            "seconds": event.get("seconds"),
            "probe": probe.to_json() if probe is not None else None,
        }
        evidence: dict = {"envelope": None, "transplants": {}}
        if event.get("envelope") is not None:
            envelope = Envelope.from_json(where.at("envelope"), event["envelope"])
            self.out.envelopes[key] = envelope
            evidence["envelope"] = envelope.to_json()
        if event.get("transplant") is not None:  # from the golden run's initial weights
            moved = event["transplant"]
            transplant = Transplant(
                str(moved.get("source")), observables_from_json(where.at("transplant"),
                                                                          moved.get("observables") or {}),
                Probe.from_json(where.at("transplant").at("probe"), moved["probe"]) if moved.get("probe") else None,
                RunError.from_json(where.at("transplant").at("error"), moved["error"]) if moved.get("error") else None,
                float(moved.get("seconds") or 0.0))
            evidence["transplants"][transplant.source] = transplant.to_json()
        if evidence["envelope"] is not None or evidence["transplants"]:
            value["evidence"] = evidence
        if isinstance(event.get("golden_match"), bool):
            self.out.golden_match[key] = event["golden_match"]
        entry["variants"][variant] = value

    def _framework_failed(self, error: dict) -> None:
        self.doc["status"] = "unavailable"
        self.doc["reason"] = f"the framework could not start: {error.get('type')}: {error.get('message')}"
        self.doc["error"] = {"type": str(error.get("type", "Error")), "message": str(error.get("message", "")),
                             "traceback": list(error.get("traceback") or [])}
        self.finished.update(range(len(self.tasks)))
