"""Supervise one worker process from outside, and turn its event stream into a results document.

The worker (harness.inenv.worker) runs inside the pinned environment and streams
events; this module watches it. A case that hangs is killed at its timeout, one
that crashes the interpreter or outgrows the memory limit is noticed here, and the
worker is restarted for the cases still to run.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import threading
import time

from harness import __version__, config
from harness.core import documents
from harness.core.documents import EnvStatus, Results, RunError
from harness.core.reader import DocumentError, Where
from harness.inenv import determinism
from harness.inenv.worker import source_digest
from harness.matrix import envs
from harness.run.options import RunOptions

LOG_TAIL_LINES = 15


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def base_document(spec: envs.EnvSpec) -> dict:
    """The results document a run starts from, as the JSON it becomes."""
    return {
        "schema": documents.RESULTS_KIND,
        "version": documents.RESULTS_VERSION,
        "harness": __version__,
        "env": spec.to_json(),
        "status": "ok",
        "reason": None,
        "created": now(),
        "cases": {},
    }


def unavailable_document(spec: envs.EnvSpec, reason: str, error: RunError | None = None) -> Results:
    return Results(spec.to_json(), EnvStatus.UNAVAILABLE, {}, now(), __version__, reason, error)


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
    """One environment's worker process(es) and the results they stream."""

    def __init__(self, spec: envs.EnvSpec, python: str, options: RunOptions, log_path: str,
                 cases: dict[str, str], stamp: dict, runs: int = 1, reverse: bool = False,
                 stop: threading.Event | None = None):
        self.spec = spec
        self.runs = runs  # runs per variant in this process
        self.reverse = reverse
        self.stop = stop or threading.Event()
        self.python = python
        self.options = options
        self.log_path = log_path
        self.doc = base_document(spec)
        self.cases = cases
        self.stamp = stamp  # the lock and runner digests each case entry records
        self.finished: set[str] = set()
        # Where the time goes (bench/ reads it): per worker, its start (interpreter and
        # runner) and framework import; per case, all of it and the determinism repeats.
        self.timing: dict = {"starts": [], "imports": [], "cases": {}, "repeats": {}}
        self._spawned = time.time()

    def run(self) -> Results:
        """Run every case (restarting the worker after a crash or a timeout) and return
        the results, validated as a results document."""
        started = time.time()
        while True:
            remaining = [c for c in self.cases if c not in self.finished]
            if not remaining or self.stop.is_set():
                break
            if not self._run_worker(remaining):
                break
        for name in self.cases:
            if name not in self.doc["cases"]:
                self.doc["cases"][name] = self._case_entry(name)
                self._fail_case(name, "not run: the worker stopped before reaching this case")
        self.timing["total"] = time.time() - started
        self.doc["timing"] = self.timing
        # Every piece was validated where it arrived; this only builds the typed document.
        return Results.from_json(Where(f"the results of {self.spec.id}"), self.doc)

    # -- one worker process -------------------------------------------------
    def _command(self, fd: int, remaining: list[str]) -> list[str]:
        cmd = [self.python, "-m", "harness.inenv.worker", "--flavour", self.spec.flavour,
               "--backend", self.spec.backend, "--fd", str(fd), "--repeat", str(self.runs)]
        if self.reverse:
            cmd.append("--reverse")
        for folder in self.options.case_dirs:
            cmd += ["--cases", folder]
        for name in remaining:
            cmd += ["--only", name]
        return cmd

    def _run_worker(self, remaining: list[str]) -> bool:
        """Run one worker over ``remaining``; False when no further restart helps."""
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env.update(determinism.process_env(dict(self.spec.env_vars)))
        env["PYTHONPATH"] = config.ROOT
        env.pop("VIRTUAL_ENV", None)
        self._spawned = time.time()
        try:
            with open(self.log_path, "a") as log:
                proc = subprocess.Popen(
                    self._command(write_fd, remaining), cwd=config.ROOT, env=env, pass_fds=(write_fd,),
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
        except OSError as exc:  # no such interpreter, not executable: the environment is unusable
            os.close(read_fd)
            os.close(write_fd)
            self._framework_failed({"type": type(exc).__name__, "traceback": [],
                                    "message": f"cannot start the interpreter {self.python} ({exc.strerror})"})
            return False
        os.close(write_fd)
        try:
            return self._watch(proc, read_fd)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            os.close(read_fd)

    def _watch(self, proc: subprocess.Popen, read_fd: int) -> bool:
        selector = selectors.DefaultSelector()
        selector.register(read_fd, selectors.EVENT_READ)
        pending: list[bytes] = []  # the current line's chunks: joined once, when its newline arrives
        current: str | None = None
        case_started = time.time()
        timeout = self.options.case_timeout
        ready = False
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
                        self._framework_failed(event["error"])
                        return False
                    elif kind == "case_start":
                        current, case_started = event["case"], time.time()
                        timeout = self.options.case_timeout
                        self.doc["cases"][current] = self._case_entry(current, event["source_sha256"])
                    elif kind == "case_declared" and current is not None:
                        try:
                            declared = documents.Declaration.from_json(Where(f"the declarations of {current}"),
                                                                       event["declaration"])
                        except DocumentError as exc:
                            self._fail_case(current, f"its declarations are malformed: {exc}")
                            continue
                        self.doc["cases"][current]["declaration"] = declared.to_json()
                        timeout = declared.timeout or self.options.case_timeout
                    elif kind == "case_error":
                        self._fail_case(event["case"], event["error"]["message"], event["error"])
                        self._finish(event["case"], case_started)
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
            if current is not None and time.time() - case_started > timeout:
                proc.kill()
                self._fail_case(current, f"timed out after {timeout:g} s (the case was killed)")
                self._finish(current, case_started)
                return True
            rss = _rss_mb(proc.pid)
            if rss > self.options.memory_limit_mb:
                proc.kill()
                where = current or "framework start-up"
                message = f"exceeded the memory limit ({rss:.0f} MB > {self.options.memory_limit_mb:g} MB)"
                if current is None:
                    self._framework_failed({"type": "MemoryLimit", "message": message, "traceback": []})
                    return False
                self._fail_case(where, message)
                self._finish(current, case_started)
                return True
            if proc.poll() is not None and not selector.get_map():
                return self._ended(proc, current, ready)

    def _ended(self, proc: subprocess.Popen, current: str | None, ready: bool) -> bool:
        code = proc.wait()
        how = _describe_exit(code)
        if current is not None:
            self._fail_case(current, f"the interpreter crashed during this case ({how})",
                            {"type": "Crash", "message": how, "traceback": _tail(self.log_path)})
            self.finished.add(current)
            return True
        if not ready:
            self._framework_failed({"type": "Crash", "message": f"worker {how} before it was ready",
                                    "traceback": _tail(self.log_path)})
        return False

    # -- bookkeeping ----------------------------------------------------------
    def _parse_event(self, line: bytes) -> dict | None:
        """One event of the worker; a line that is not one is noted in the log and skipped."""
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            with open(self.log_path, "a") as log:
                log.write(f"harness: skipped a line from the worker that is no event: {line[:200]!r}\n")
            return None
        return event

    def _ready(self, event: dict) -> None:
        for key in ("fingerprint", "versions", "determinism"):
            self.doc.setdefault(key, event[key])
        self.timing["imports"].append(event["import_seconds"])
        self.timing["starts"].append(max(0.0, event["time"] - event["import_seconds"] - self._spawned))

    def _case_entry(self, name: str, digest: str | None = None) -> dict:
        if digest is None and name in self.cases:
            digest = source_digest(self.cases[name])
        return {"status": "ok", "error": None, "source_sha256": digest, **self.stamp,
                "created": now(), "declaration": None,
                "variants": {}}

    def _fail_case(self, name: str, message: str, error: dict | None = None) -> None:
        entry = self.doc["cases"].setdefault(name, self._case_entry(name))
        entry["status"] = "error"
        entry["error"] = error or {"type": "HarnessError", "message": message, "traceback": []}
        entry["error"]["message"] = message

    def _finish(self, name: str | None, started: float) -> None:
        if name is not None:
            self.finished.add(name)
            self.timing["cases"][name] = time.time() - started

    def _variant(self, event: dict) -> None:
        entry = self.doc["cases"][event["case"]]
        if event["event"] == "variant_error":
            entry["variants"][event["variant"]] = {"status": "error", "error": event["error"],
                                                   "seconds": event["seconds"]}
            return
        where = Where(f"what {event['case']}/{event['variant']} returned")
        try:  # the worker checked it too; a file written here must never hold what cannot be read back
            observables = documents.observables_from_json(where, event["observables"])
        except DocumentError as exc:
            entry["variants"][event["variant"]] = {
                "status": "error", "seconds": event.get("seconds"),
                "error": {"type": "BadObservables", "message": str(exc), "traceback": []}}
            return
        repeats = max(0.0, event["seconds"] - event.get("first_seconds", event["seconds"]))
        self.timing["repeats"][event["case"]] = self.timing["repeats"].get(event["case"], 0.0) + repeats
        entry["variants"][event["variant"]] = {
            "status": "ok",
            "observables": {name: obs.to_json() for name, obs in observables.items()},
            "nondeterministic": event["nondeterministic"],
            "repeats": event["repeats"],
            "seconds": event["seconds"],
        }

    def _framework_failed(self, error: dict) -> None:
        self.doc["status"] = "unavailable"
        self.doc["reason"] = f"the framework could not start: {error['type']}: {error['message']}"
        self.doc["error"] = error
        for name in self.cases:
            self.finished.add(name)
