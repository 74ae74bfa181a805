"""Nondeterminism on purpose: one value comes from the operating system's entropy,
so no two runs agree. The repeat must catch it, with golden values or without."""

import random

from harness.inenv import observe

VARIANTS = {"noisy": {}}


def run(k, workdir):
    return {"value": observe.scalar(random.SystemRandom().random())}
