"""Draw the report's figures on every core.

Drawing dominates the report's time (text and line rasterisation in Agg), and the
figures are independent, so they are drawn by forked worker processes that inherit
the Evaluation instead of receiving it. Where forking is not safe or not available
(not Linux, threads already running, a single core, or a pool that fails to start),
the figures are drawn here, one after the other, with the same result.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_SHARED: tuple | None = None  # (function, context) for the forked workers


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1 and _cores() > 1


def _run(item):
    function, context = _SHARED  # type: ignore[misc]
    return function(context, item)


def map_figures(function: Callable[[T, Any], R], context: T, items: list) -> list[R]:
    """``[function(context, item) for item in items]``, in order, on every core when safe."""
    global _SHARED
    workers = min(_cores(), len(items))
    if workers < 2 or not _can_fork():
        return [function(context, item) for item in items]
    _SHARED = (function, context)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as executor:
            # Largest first would balance better, but figures are small; chunks of one keep order simple.
            return list(executor.map(_run, items))
    except (OSError, RuntimeError):  # no fork, no semaphores (some sandboxes): draw here instead
        return [function(context, item) for item in items]
    finally:
        _SHARED = None
