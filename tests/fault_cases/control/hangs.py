"""Sleeps for ten minutes and declares no TIMEOUT: only the run's timeout
(--case-timeout or HARNESS_CASE_TIMEOUT) can stop it."""

import time


def run(k, workdir):
    time.sleep(600)
