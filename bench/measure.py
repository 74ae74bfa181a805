"""Run one command and measure it: wall time and the peak memory of its process tree."""

from __future__ import annotations

import dataclasses
import os
import resource
import subprocess
import time


@dataclasses.dataclass(frozen=True)
class Measured:
    seconds: float
    returncode: int
    max_rss_mb: float  # the largest resident set of any one process of the tree
    log: str  # the file that holds the command's output


def run_measured(cmd: list[str], log: str, env: dict[str, str] | None = None, cwd: str | None = None,
                 timeout: float | None = None) -> Measured:
    """Run ``cmd`` with its output in ``log``.

    Peak memory is the child's own rusage (wait4), which is what
    ``getrusage(RUSAGE_CHILDREN)`` accumulates, but for this command alone: that
    call keeps the maximum over every child this process ever waited for."""
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd)
        try:
            _, status, usage = _wait4(proc, timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen did not reap it; tell it
    return Measured(seconds, proc.returncode, usage.ru_maxrss / 1024.0, log)


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
