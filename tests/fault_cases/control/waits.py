"""Writes <TFREPRO_TEST_SIGNAL_DIR>/started, then waits (at most 120 s) until the test
creates <TFREPRO_TEST_SIGNAL_DIR>/release: a run the test can interrupt at a known point."""

import os
import time

from harness.inenv import observe

TIMEOUT = 150


def run(k, workdir):
    folder = os.environ["TFREPRO_TEST_SIGNAL_DIR"]
    with open(os.path.join(folder, "started"), "w") as fh:
        fh.write(str(os.getpid()))
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(folder, "release")) and time.time() < deadline:
        time.sleep(0.05)
    return {"waited": observe.scalar(1.0)}
