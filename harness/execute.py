"""Run the cases of one environment in its interpreter, and write its results.

The worker (harness.inenv.worker) runs inside the pinned environment and streams
events; this module watches it from outside. A case that hangs is killed at its
timeout, one that crashes the interpreter or outgrows the memory limit is noticed
here, and the worker is restarted for the cases still to run. Whatever happens,
the environment ends with one results file, written atomically.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import fcntl
import json
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from harness import __version__, envs, incremental, replicas, store
from harness.inenv import determinism
from harness.inenv.worker import discover, source_digest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILTIN_CASES = os.path.join(ROOT, "cases")
# Keras 3.0 to 3.6 trace every train_on_batch call anew: their deep_saturation takes
# about two and a half minutes on an idle machine, much longer beside other work.
DEFAULT_CASE_TIMEOUT = float(os.environ.get("HARNESS_CASE_TIMEOUT", "1800"))
DEFAULT_MEMORY_LIMIT_MB = float(os.environ.get("HARNESS_MEMORY_LIMIT_MB", "8192"))
LOG_TAIL_LINES = 15


@dataclasses.dataclass
class RunOptions:
    case_dirs: tuple[str, ...] = (BUILTIN_CASES,)
    only: tuple[str, ...] = ()
    repeat: int = 2
    case_timeout: float = DEFAULT_CASE_TIMEOUT
    memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB
    results_dir: str = os.path.join(ROOT, "results")
    force: bool = False  # run even what is up to date (see harness.incremental)


class UsageError(ValueError):
    """Run options that cannot work (a missing cases folder, two cases of one name)."""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


def parse_run_args(argv: list[str]) -> RunOptions:
    """Run options from a session's posargs; unknown arguments belong to compare.

    A user's cases folder (--cases-dir, repeatable, or HARNESS_CASES_DIR, several
    joined with ':') replaces the built-in cases: someone checking their own model
    wants their verdicts, not ours. --with-builtin-cases (HARNESS_WITH_BUILTIN_CASES=1)
    runs ours too. --force (HARNESS_FORCE=1) re-runs what is up to date."""
    import argparse

    parser = argparse.ArgumentParser(prog="nox -s matrix --", add_help=False)
    parser.add_argument("--case", action="append", default=[], dest="only")
    parser.add_argument("--cases-dir", action="append", default=[])
    parser.add_argument("--with-builtin-cases", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--results", default=os.environ.get("HARNESS_RESULTS"))
    parser.add_argument("--case-timeout", type=float, default=DEFAULT_CASE_TIMEOUT)
    parser.add_argument("--repeat", type=int, default=2)
    args, _ = parser.parse_known_args(argv)
    options = RunOptions(only=tuple(args.only), case_timeout=args.case_timeout, repeat=args.repeat,
                         force=args.force or _env_flag("HARNESS_FORCE"))
    user_dirs = args.cases_dir or [d for d in os.environ.get("HARNESS_CASES_DIR", "").split(os.pathsep) if d]
    if user_dirs:
        with_builtin = args.with_builtin_cases or _env_flag("HARNESS_WITH_BUILTIN_CASES")
        options.case_dirs = ((BUILTIN_CASES,) if with_builtin else ()) + tuple(
            os.path.abspath(os.path.expanduser(d)) for d in user_dirs)
    if args.results:
        options.results_dir = os.path.abspath(args.results)
    return options


def selected_cases(options: RunOptions) -> dict[str, str]:
    """Case name -> module path for this run; a clear UsageError where that is ambiguous."""
    for folder in options.case_dirs:
        if not os.path.isdir(folder):
            raise UsageError(f"cases folder {folder} does not exist (--cases-dir / HARNESS_CASES_DIR)")
    # The worker lets an earlier folder's case win silently; two cases of one name
    # would share one results entry and one golden entry, so refuse that here.
    owners: dict[str, list[str]] = {}
    for folder in options.case_dirs:
        for name, path in discover([folder]).items():
            owners.setdefault(name, []).append(path)
    clashes = {name: paths for name, paths in owners.items() if len(paths) > 1}
    if clashes:
        name, paths = min(clashes.items())
        raise UsageError(f"two cases are named {name!r}: {' and '.join(paths)}; rename yours")
    found = discover(list(options.case_dirs))
    if not found:
        raise UsageError(f"no case modules (*.py) in {', '.join(options.case_dirs)}")
    unknown = [name for name in options.only if name not in found]
    if unknown:
        raise UsageError(f"no case named {', '.join(unknown)} in {', '.join(options.case_dirs)}")
    return {name: path for name, path in found.items() if not options.only or name in options.only}


def plan_environment(spec: envs.EnvSpec, options: RunOptions) -> incremental.Plan:
    """Which cases of ``spec`` need running, from results/<env>.json alone (cheap:
    nox calls this before it syncs the virtualenv)."""
    inputs = incremental.collect_inputs(spec, selected_cases(options), options.repeat, ROOT)
    previous, unusable = incremental.read_previous(options.results_dir, spec.id)
    return incremental.plan(inputs, previous, unusable, force=options.force, partial=bool(options.only))


class EnvironmentBusy(RuntimeError):
    pass


def base_document(spec: envs.EnvSpec) -> dict:
    return {
        "schema": store.RESULTS_KIND,
        "version": store.SCHEMA_VERSION,
        "harness": __version__,
        "env": spec.to_json(),
        "status": "ok",
        "reason": None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cases": {},
    }


def unavailable_document(spec: envs.EnvSpec, reason: str) -> dict:
    doc = base_document(spec)
    doc["status"] = "unavailable"
    doc["reason"] = reason
    return doc


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


class _Supervisor:
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

    def run(self) -> dict:
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
        return self.doc

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
        env["PYTHONPATH"] = ROOT
        env.pop("VIRTUAL_ENV", None)
        self._spawned = time.time()
        try:
            with open(self.log_path, "a") as log:
                proc = subprocess.Popen(
                    self._command(write_fd, remaining), cwd=ROOT, env=env, pass_fds=(write_fd,),
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
        buffer = b""
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
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    event = json.loads(line)
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
                    elif kind == "case_declared":
                        self.doc["cases"][current]["declaration"] = event["declaration"]
                        timeout = event["declaration"].get("timeout") or self.options.case_timeout
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
    def _ready(self, event: dict) -> None:
        for key in ("fingerprint", "versions", "determinism"):
            self.doc.setdefault(key, event[key])
        self.timing["imports"].append(event["import_seconds"])
        self.timing["starts"].append(max(0.0, event["time"] - event["import_seconds"] - self._spawned))

    def _case_entry(self, name: str, digest: str | None = None) -> dict:
        if digest is None and name in self.cases:
            digest = source_digest(self.cases[name])
        return {"status": "ok", "error": None, "source_sha256": digest, **self.stamp,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "declaration": None,
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
        repeats = max(0.0, event["seconds"] - event.get("first_seconds", event["seconds"]))
        self.timing["repeats"][event["case"]] = self.timing["repeats"].get(event["case"], 0.0) + repeats
        entry["variants"][event["variant"]] = {
            "status": "ok",
            "observables": event["observables"],
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


def run_environment(spec: envs.EnvSpec, python: str, options: RunOptions | None = None,
                    progress: Callable[[str], None] = print, plan: incremental.Plan | None = None) -> dict:
    """Run the cases of ``spec`` that are not up to date with ``python``, and write
    results/<env>.json with them and the earlier results still valid."""
    options = options or RunOptions()
    os.makedirs(options.results_dir, exist_ok=True)
    path = store.document_path(options.results_dir, spec.id)
    with _exclusive(path):
        plan = plan or plan_environment(spec, options)
        progress(f"{spec.id}: {plan.describe()}")
        if plan.up_to_date:
            return _keep_up_to_date(path, plan)
        log_path = path[: -len(".json")] + ".log"
        open(log_path, "w").close()
        files = selected_cases(options)
        to_run = {case: files[case] for case, _ in plan.run}
        doc = _run_workers(spec, python, options, log_path, to_run, plan.inputs.stamp())
        previous, _ = incremental.read_previous(options.results_dir, spec.id)
        doc = incremental.merge(doc, previous, plan)
        store.write_json(path, doc)
    progress(f"{spec.id}: wrote {os.path.relpath(path, ROOT)}")
    return doc


def _run_workers(spec: envs.EnvSpec, python: str, options: RunOptions, log_path: str,
                 cases: dict[str, str], stamp: dict) -> dict:
    """One worker, or with the determinism check two side by side (harness.replicas):
    the second makes the repeat runs on the other core, in reverse order."""
    if options.repeat < 2:
        return _Supervisor(spec, python, options, log_path, cases, stamp).run()
    second_log = log_path[: -len(".log")] + ".repeat.log"
    open(second_log, "w").close()
    stop = threading.Event()
    pair = [_Supervisor(spec, python, options, log_path, cases, stamp, stop=stop),
            _Supervisor(spec, python, options, second_log, cases, stamp, runs=options.repeat - 1, reverse=True,
                        stop=stop)]
    with concurrent.futures.ThreadPoolExecutor(len(pair)) as pool:
        futures = [pool.submit(supervisor.run) for supervisor in pair]
        try:
            # In steps, so that Ctrl-C reaches this thread and stops both workers.
            while concurrent.futures.wait(futures, timeout=0.5).not_done:
                pass
        except BaseException:
            stop.set()
            raise
        first, second = (future.result() for future in futures)
    return replicas.merge(first, second, options.repeat)


def skip_environment(spec: envs.EnvSpec, options: RunOptions, plan: incremental.Plan) -> dict:
    """An up-to-date environment runs nothing (nox calls this instead of syncing)."""
    path = store.document_path(options.results_dir, spec.id)
    with _exclusive(path):
        return _keep_up_to_date(path, plan)


def _keep_up_to_date(path: str, plan: incremental.Plan) -> dict:
    # Only cases that no selected folder has any more leave the results.
    previous, _ = incremental.read_previous(os.path.dirname(path), plan.env)
    if previous is not None and plan.drop:
        previous = incremental.without_dropped(previous, plan)
        store.write_json(path, previous)
    return previous or {}


def write_unavailable(spec: envs.EnvSpec, reason: str, results_dir: str | None = None) -> str:
    folder = results_dir or RunOptions().results_dir
    os.makedirs(folder, exist_ok=True)  # the first thing a run writes may be this
    path = store.document_path(folder, spec.id)
    with _exclusive(path):
        store.write_json(path, unavailable_document(spec, reason))
    return path


class _exclusive:
    """One writer per environment's results: a second run at once fails clearly."""

    def __init__(self, path: str):
        self.lock_path = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".lock")

    def __enter__(self):
        self.fh = open(self.lock_path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise EnvironmentBusy(
                f"another run is writing {self.lock_path[:-5].replace('/.', '/')} right now; "
                "wait for it or use a separate --results folder"
            ) from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
