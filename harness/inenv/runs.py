"""One run of a variant, what it must return, and how two runs are told apart.

A case's ``run()`` returns a dict of observables made with harness.inenv.observe;
anything else is a BadObservables error that says what it got. Two runs are compared
bit for bit (NaN equals NaN): the determinism run, and the golden values sent with
the job. A failure becomes the protocol's error record (``error_info``).
"""

import traceback

from harness.inenv import protocol

TRACEBACK_LINES = 12
KINDS = ("scalar", "series", "table", "array", "digest", "text")


def error_info(exc):
    """The protocol's error record of ``exc``: its type name, message (2,000 characters at
    most) and the last TRACEBACK_LINES lines of its traceback."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(lines).rstrip().splitlines()
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "traceback": text[-TRACEBACK_LINES:]}


class BadObservables(Exception):
    """A case's run() returned something that is not a dict of observables."""


def check_observables(value):
    """``value`` if it is what run() must return ({name: observable made by
    harness.inenv.observe}, sizes within the limit), else BadObservables saying what."""
    if not isinstance(value, dict):
        raise BadObservables("run() must return a dict {name: observable} made with harness.inenv.observe, "
                             "not %s" % type(value).__name__)
    for name, obs in value.items():
        if not isinstance(name, str) or not isinstance(obs, dict) or obs.get("kind") not in KINDS:
            raise BadObservables("observable %r is %s; make it with observe.scalar/series/table/array/digest/"
                                 "text" % (name, type(obs).__name__ if not isinstance(obs, dict) else "a dict "
                                           "without a known kind"))
        if obs["kind"] in ("digest", "text"):
            if not isinstance(obs.get("value"), str):
                raise BadObservables("observable %r has no text value" % name)
            continue
        values = obs.get("values")
        if not isinstance(values, list):
            raise BadObservables("observable %r has no list of values" % name)
        if len(values) > protocol.MAX_OBSERVABLE_VALUES:
            raise BadObservables("observable %r holds %d values, more than the limit of %d; record a "
                                 "summary (sums, a digest) instead" % (name, len(values), protocol.MAX_OBSERVABLE_VALUES))
    return value


def run_once(fw, module, seeds, params, workdir, probe=None):
    """One run of a case's ``run()`` inside ``fw.fresh(seeds)`` (a full reset, then the seeds
    set), with ``probe`` recording through the adapter; the checked observables.
    Raises whatever the case raises, or BadObservables."""
    with fw.fresh(seeds):
        fw.probe = probe
        try:
            return check_observables(module.run(fw, workdir=workdir, **params))
        finally:
            fw.probe = None


def differing(first, second):
    """Observables whose values are not bitwise equal between two runs (NaN equals NaN)."""
    names = []
    for name in sorted(set(first) | set(second)):
        if not same_bits(first.get(name), second.get(name)):
            names.append(name)
    return names


def same_bits(a, b):
    """Whether two observables are bit for bit the same: kind, text value, shape and every
    value (NaN equals NaN); None equals only None."""
    if a is None or b is None:
        return a is b
    if a.get("kind") != b.get("kind") or a.get("value") != b.get("value") or a.get("shape") != b.get("shape"):
        return False
    xs, ys = a.get("values") or [], b.get("values") or []
    if len(xs) != len(ys):
        return False
    # equal, or both NaN (x != x holds for NaN only)
    return all(x == y or (x != x and y != y) for x, y in zip(xs, ys))
