"""Hangs in its second variant; its own TIMEOUT has the harness kill it after 2 s."""

import time

from harness.inenv import observe

TIMEOUT = 2
VARIANTS = {"quick": {"hang": False}, "hangs": {"hang": True}}


def run(k, workdir, hang):
    while hang:
        time.sleep(0.1)
    return {"one": observe.scalar(1.0)}
