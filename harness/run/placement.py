"""Which CPU a worker computes on: a CPU of its own while there are free ones.

Why: two TensorFlow workers left to the scheduler on a two-core machine each ran
10-15 % slower than alone, with 5-9 % of their time off the CPU (tf2.14 beside
tf2.15: 35.9 and 38.4 s against 31.4 and 33.5 s alone). Every op TensorFlow runs
is handed between the Python thread and an inter-op thread; with the other core
busy, each hand-off waits for, or lands on, the core the other worker holds. Pinned
to a CPU each, the same pair ran in 30.8 and 33.9 s: as fast as alone.

Only TensorFlow workers are pinned. Their intra-op and inter-op thread counts are
fixed to one (harness.inenv.determinism), so the CPUs they may use enter no sum; the
benchmark checks every observable of the pinned parallel run against the floor's
unpinned sequential one. JAX's CPU client sizes its thread pool, and XLA the work it
splits, by the CPUs the process may use: pinned to one, jax-keras3.15 computed other
bits (residual_block's predictions moved in their last places), so JAX workers are
left as they are.

A claim is an exclusive ``flock`` on one file per CPU in a per-user folder under the
system's temporary folder. The lock goes with the process that holds it, so a killed
session frees its CPU, and concurrent nox sessions (one process each) share the CPUs
without talking to each other. HARNESS_PIN_CPUS=0 turns pinning off.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

from harness import config

PINNED_BACKENDS = frozenset({"tensorflow"})  # see the module's docstring for why not jax


def _slot_dir() -> str:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"tfrepro-cpus-{uid}")


@contextlib.contextmanager
def claim_cpu(backend: str) -> Iterator[int | None]:
    """A CPU of this process's affinity set that no other tfrepro worker holds, held
    until the block ends; None when pinning does not apply (a backend not in
    PINNED_BACKENDS, one usable CPU, no ``os.sched_setaffinity`` or ``fcntl`` on this
    platform, HARNESS_PIN_CPUS=0) or every CPU is taken (the worker then runs where
    the scheduler puts it). Never raises for a folder or lock it cannot make: pinning
    is an optimisation, not a condition of the run."""
    if backend not in PINNED_BACKENDS or not config.get("HARNESS_PIN_CPUS"):
        yield None
        return
    try:
        import fcntl

        cpus = sorted(os.sched_getaffinity(0))
    except (ImportError, AttributeError, OSError):
        yield None
        return
    if len(cpus) < 2:
        yield None
        return
    folder = _slot_dir()
    for cpu in cpus:
        try:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(os.path.join(folder, f"cpu{cpu}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another worker holds this CPU
            os.close(fd)
            continue
        try:
            yield cpu
        finally:
            os.close(fd)  # closing the only descriptor releases the flock
        return
    yield None
