"""The determinism check as a second worker beside the first, and what the pair says.

Running every variant twice in one process costs a second training run on the same
core. The second run goes to its own process instead, started with the first and
run on the other core: the environment takes the time of one run. It walks the
cases and their variants in reverse order, so each variant follows a different
predecessor than in the first process: state that leaks from one run into the next
(a global counter, a seed not reset) shows up as a difference, as does everything
the in-process repeat caught (thread races, unseeded randomness). A variant that
ran in both is nondeterministic where any observable differs bit for bit.
"""

from __future__ import annotations

import copy

from harness.inenv.worker import differing

SECOND_RUN = "the determinism run (the second process)"


def merge(first: dict, second: dict, repeat: int) -> dict:
    """The first process's results document, with the second's verdict on each variant.

    ``repeat`` is the runs per variant in all; the second process made ``repeat - 1``."""
    doc = copy.deepcopy(first)
    doc.setdefault("determinism", {})["runs"] = {
        "per_variant": repeat, "processes": 2, "second_process_order": "reversed"}
    doc["timing"] = _timing(first.get("timing", {}), second.get("timing", {}))
    if doc.get("status") == "unavailable":
        return doc
    if second.get("status") == "unavailable":
        for entry in doc.get("cases", {}).values():
            _fail(entry, f"{SECOND_RUN} could not start: {second.get('reason', 'no reason given')}")
        return doc
    for name, entry in doc.get("cases", {}).items():
        other = second.get("cases", {}).get(name)
        if entry.get("status") == "error":
            continue
        if other is None or other.get("status") == "error":
            why = ((other or {}).get("error") or {}).get("message") or "it did not reach this case"
            _fail(entry, f"{SECOND_RUN} failed: {why}", (other or {}).get("error"))
            continue
        for variant, result in entry.get("variants", {}).items():
            _judge(result, other.get("variants", {}).get(variant))
    return doc


def _judge(result: dict, again: dict | None) -> None:
    if result.get("status") != "ok":
        return
    if again is None or again.get("status") != "ok":
        error = dict((again or {}).get("error") or {"type": "HarnessError", "traceback": []})
        error["message"] = f"{SECOND_RUN} of this variant failed: {error.get('message', 'it did not run')}"
        result.update(status="error", error=error)
        return
    differ = differing(result.get("observables", {}), again.get("observables", {}))
    result["nondeterministic"] = sorted(set(result.get("nondeterministic", ())) | set(again.get(
        "nondeterministic", ())) | set(differ))
    result["repeats"] = result.get("repeats", 0) + 1 + again.get("repeats", 0)
    result["repeat_seconds"] = again.get("seconds")


def _fail(entry: dict, message: str, error: dict | None = None) -> None:
    entry["status"] = "error"
    entry["error"] = dict(error or {"type": "HarnessError", "traceback": []}, message=message)


def _timing(first: dict, second: dict) -> dict:
    """The first process's timing; the second's case times are the repeats, and its
    whole timing is kept beside them (the benchmark tells concurrent from serial)."""
    timing = dict(first)
    timing["repeats"] = dict(second.get("cases", {}))
    timing["repeats_beside"] = True
    timing["second_process"] = second
    timing["first_process_total"] = first.get("total", 0.0)
    timing["total"] = max(first.get("total", 0.0), second.get("total", 0.0))
    return timing
