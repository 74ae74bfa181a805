"""A worker's temporary files go with it (harness.run.supervise gives it a TMPDIR of its own)."""

from __future__ import annotations

import os
import sys
import tempfile

from harness.matrix import envs
from harness.run.options import RunOptions
from harness.run.supervise import Supervisor


def test_a_workers_temporary_files_go_with_it(tmp_path, monkeypatch):
    """The worker's TMPDIR is a folder of its own, removed when it ends, with whatever it left
    there (TensorFlow's autograph sources, a killed case's workdir)."""
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
