"""A CPU of its own for each TensorFlow worker while there are free ones (harness.run.placement),
and the worker's side of it (harness.inenv.determinism.pin_cpu)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

import pytest

from harness.run import placement

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
several_cpus = pytest.mark.skipif(len(CPUS) < 2, reason="pinning needs two usable CPUs")


@pytest.fixture(autouse=True)
def private_slots(tmp_path, monkeypatch):
    # Claims of this test only: a matrix running beside the tests holds the real ones.
    monkeypatch.setattr(placement, "_slot_dir", lambda: str(tmp_path / "slots"))
    monkeypatch.delenv("HARNESS_PIN_CPUS", raising=False)
    return tmp_path / "slots"


@several_cpus
def test_each_claim_gets_a_cpu_no_other_holds_until_none_is_left():
    with contextlib.ExitStack() as stack:
        got = [stack.enter_context(placement.claim_cpu("tensorflow")) for _ in CPUS]
        assert sorted(got) == CPUS
        with placement.claim_cpu("tensorflow") as extra:
            assert extra is None  # every CPU taken: the worker runs where the scheduler puts it
    with placement.claim_cpu("tensorflow") as again:
        assert again == CPUS[0]  # released with the block


@several_cpus
def test_a_cpu_held_by_another_process_is_skipped_and_freed_when_it_dies(private_slots):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\nfcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\ntime.sleep(60)",
         str(private_slots / f"cpu{CPUS[0]}.lock")], stdout=subprocess.PIPE, text=True)
    try:
        os.makedirs(private_slots, exist_ok=True)
        assert holder.stdout.readline().strip() == "held"
        with placement.claim_cpu("tensorflow") as cpu:
            assert cpu == CPUS[1]
    finally:
        holder.kill()
        holder.wait()
    with placement.claim_cpu("tensorflow") as cpu:
        assert cpu == CPUS[0]  # a killed holder's lock went with it


def test_jax_workers_and_a_switched_off_setting_are_not_pinned(monkeypatch):
    with placement.claim_cpu("jax") as cpu:
        assert cpu is None  # JAX computes other bits on one CPU (see placement's docstring)
    monkeypatch.setenv("HARNESS_PIN_CPUS", "0")
    with placement.claim_cpu("tensorflow") as cpu:
        assert cpu is None


def test_one_usable_cpu_is_not_pinned(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    with placement.claim_cpu("tensorflow") as cpu:
        assert cpu is None


def test_an_unusable_slot_folder_leaves_the_worker_unpinned(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(placement, "_slot_dir", lambda: str(blocker / "slots"))
    with placement.claim_cpu("tensorflow") as cpu:
        assert cpu is None


@several_cpus
def test_the_worker_pins_itself_before_the_framework_and_keeps_the_cpus_it_was_offered():
    script = ("import json, os, sys\nfrom harness.inenv import determinism\n"
              "done = determinism.pin_cpu(int(sys.argv[1]))\n"
              "print(json.dumps([done, sorted(os.sched_getaffinity(0)), determinism.offered_cpus(), "
              "determinism.pinned()]))")
    out = subprocess.run([sys.executable, "-c", script, str(CPUS[-1])], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ROOT}, check=True)
    done, now, offered, pinned = json.loads(out.stdout)
    assert done == CPUS[-1] and now == [CPUS[-1]] and offered == CPUS and pinned is True


def test_a_job_with_a_cpu_that_is_no_number_is_refused():
    from harness.inenv import protocol

    job = {"protocol": protocol.PROTOCOL, "flavour": "tf.keras", "backend": "tensorflow", "case_dirs": [],
           "tasks": []}
    assert protocol.check_job(dict(job, cpu=None)) and protocol.check_job(dict(job, cpu=1))
    for bad in ("1", -1, True, 1.5):
        with pytest.raises(protocol.JobError, match="cpu"):
            protocol.check_job(dict(job, cpu=bad))


def test_a_workers_temporary_files_go_with_it(tmp_path, monkeypatch):
    """The worker's TMPDIR is a folder of its own, removed when it ends, with whatever it left
    there (TensorFlow's autograph sources, a killed case's workdir)."""
    import tempfile

    from harness.matrix import envs
    from harness.run.options import RunOptions
    from harness.run.supervise import Supervisor

    outer = tmp_path / "tmp"
    outer.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(outer))
    seen = tmp_path / "seen"
    # An "interpreter" that leaves a file in its TMPDIR, then runs the worker (which stops at
    # the framework import: no TensorFlow on the host).
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\necho "$TMPDIR" > {seen}\ntouch "$TMPDIR/left-behind"\n'
                      f'exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    spec = envs.by_id("tf2.15-keras2")
    run = Supervisor(spec, str(python), RunOptions(), str(tmp_path / "worker.log"), [{"case": "x", "mode": "run"}],
                     {}, {}).run()
    assert run.results.status.value == "unavailable"  # the worker did start, and said why it stopped
    scratch = seen.read_text().strip()
    assert os.path.dirname(scratch) == str(outer) and os.path.basename(scratch).startswith("tfrepro-worker-")
    assert not os.path.exists(scratch) and os.listdir(outer) == []
