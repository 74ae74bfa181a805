"""Leaks memory (touched pages, 50 MB every 50 ms) until the harness's memory limit
stops it; it would then sleep, so a missed limit shows as a timeout instead."""

import time

import numpy as np

TIMEOUT = 60
CHUNK = 50 * 1024 * 1024


def run(k, workdir):
    kept = []
    while len(kept) * CHUNK < 12 * 1024 ** 3:
        kept.append(np.ones(CHUNK, dtype=np.uint8))
        time.sleep(0.05)
    while True:
        time.sleep(0.1)
