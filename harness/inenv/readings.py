"""Readings that never stop a run: a value, or ``{"unknown": why}``.

Every fact of the fingerprint (harness.inenv.fingerprint, .hardware, .numerics) is
read through ``reading``; the host compares the unknowns too (harness.check.fingerprints
names a reading that failed, with why). Python 3.7+, standard library only.
"""


def unknown(why):
    """The record of a reading that failed: ``{"unknown": why}``."""
    return {"unknown": why}


def is_unknown(value):
    """Whether ``value`` is such a record."""
    return isinstance(value, dict) and set(value) == {"unknown"}


def reading(read, *args):
    """``read(*args)``, or unknown with the exception when it fails."""
    try:
        return read(*args)
    except Exception as exc:  # a fingerprint never stops a run
        return unknown("%s: %s" % (type(exc).__name__, str(exc)[:300]))
