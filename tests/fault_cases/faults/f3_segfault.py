"""Crashes the interpreter with a segmentation fault (reads address 0) in its second variant."""

import ctypes

from harness.inenv import observe

VARIANTS = {"fine": {"crash": False}, "crash": {"crash": True}}


def run(k, workdir, crash):
    if crash:
        ctypes.string_at(0)
    return {"one": observe.scalar(1.0)}
