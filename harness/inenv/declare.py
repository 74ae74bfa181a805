"""Declarations a case makes about itself: invariants and claims, as plain data.

They travel in the results file, so the comparison step evaluates them without
importing the case (and without the framework).
"""


def same(name, a, b, observables=None, bitwise=False, why=""):
    """Variants ``a`` and ``b`` must agree on ``observables`` (all shared ones if
    None), bitwise or within the observables' tolerances. ``a``/``b`` may be
    "variant" or "variant:observable" to relate two different observables."""
    return {"type": "same", "name": name, "a": a, "b": b, "observables": observables,
            "bitwise": bitwise, "why": why}


def at_most(name, variant, observable, bound, why=""):
    """Every value of ``variant``'s ``observable`` must be <= ``bound``."""
    return {"type": "at_most", "name": name, "variant": variant, "observable": observable,
            "bound": bound, "why": why}


OPERATORS = ("<", "<=", ">", ">=", "==", "!=")


def claim(name, text, lhs, op, rhs, tolerance=0.0):
    """A source's qualitative statement, measured per version, failing nothing by
    default. ``lhs``/``rhs`` are (variant, observable, pick) or a number; pick is
    "last", "first", "min", "max", "mean" or an index. ``op`` is one of <, <=, >, >=,
    == and !=; with a ``tolerance``, values within it of each other count as equal
    (``==`` holds, ``!=`` does not, ``<=``/``>=`` hold, ``<``/``>`` do not): a float32
    learning rate of 0.001 reads back as 0.0010000000474974513."""
    if op not in OPERATORS:
        raise ValueError("claim operator must be one of %s, not %r" % (", ".join(OPERATORS), op))
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0 \
            or tolerance == float("inf"):
        raise ValueError("claim tolerance must be a finite number >= 0, not %r" % (tolerance,))
    out = {"name": name, "text": text, "lhs": _ref(lhs), "op": op, "rhs": _ref(rhs)}
    if tolerance:
        out["tolerance"] = float(tolerance)
    return out


def _ref(ref):
    if isinstance(ref, (int, float)):
        return ref
    variant, observable, pick = ref
    return {"variant": variant, "observable": observable, "pick": pick}
