"""Closes the worker's event stream, then lingers (at most 100 s): a worker that stops
talking without exiting, as one whose framework hangs in its teardown does."""

import os
import sys
import time

from harness.inenv import observe


def run(k, workdir):
    os.close(int(sys.argv[sys.argv.index("--fd") + 1]))
    time.sleep(100)
    return {"never": observe.scalar(0.0)}
