"""Run one command and measure it: wall time and the peak memory of its process tree."""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time

import psutil

SAMPLE_SECONDS = 0.5  # how often the tree's memory is summed (a worker lives for seconds at least)


@dataclasses.dataclass(frozen=True)
class Measured:
    seconds: float
    returncode: int
    max_rss_mb: float  # the largest resident set of any one process of the tree
    log: str  # the file that holds the command's output
    tree_peak_mb: float = 0.0  # the largest sum of resident sets over the tree at one time (sampled)


def run_measured(cmd: list[str], log: str, env: dict[str, str] | None = None, cwd: str | None = None,
                 timeout: float | None = None) -> Measured:
    """Run ``cmd`` with its output in ``log``.

    Peak memory, two ways: the largest single process is the child's own rusage
    (wait4), which is what ``getrusage(RUSAGE_CHILDREN)`` accumulates, but for this
    command alone (that call keeps the maximum over every child this process ever
    waited for); what the machine must hold at once is the sum of the resident sets
    of the whole tree (environments running side by side, each with its workers),
    sampled every SAMPLE_SECONDS with psutil. Shared pages count once per process,
    so the sum errs high."""
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    # Its temporary files (TensorFlow's autograph sources, a case's model files) go to a
    # folder of its own, removed when it ends, as the harness's workers do: the bench's bare
    # runs left hundreds in /tmp.
    scratch = tempfile.mkdtemp(prefix="tfrepro-bench-tmp-")
    env = dict(os.environ if env is None else env, TMPDIR=scratch, TMP=scratch, TEMP=scratch)
    started = time.perf_counter()
    try:
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=cwd)
            sampler = TreeSampler(proc.pid)
            sampler.start()
            try:
                _, status, usage = _wait4(proc, timeout)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                sampler.stop()
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen did not reap it; tell it
    return Measured(seconds, proc.returncode, usage.ru_maxrss / 1024.0, log, sampler.peak_mb)


class TreeSampler(threading.Thread):
    """The largest sum of resident set sizes (MB) of a process and its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stopped.is_set():
            total = 0
            try:
                members = [root, *root.children(recursive=True)]
            except psutil.Error:
                return  # the command has ended
            for member in members:
                try:
                    total += member.memory_info().rss
                except psutil.Error:
                    continue  # ended between the listing and the reading
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stopped.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)


def _wait4(proc: subprocess.Popen, timeout: float | None) -> tuple[int, int, resource.struct_rusage]:
    if timeout is None:
        return os.wait4(proc.pid, 0)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.05)


def children_peak_mb() -> float:
    """Peak resident set of any child process waited for so far (RUSAGE_CHILDREN)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
