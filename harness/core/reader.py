"""Reading untrusted JSON into typed documents: one small walker that knows where it is.

Every parse function takes a ``Where`` (the file and the path inside it) and raises
``DocumentError`` with both, what was expected, what was found and the fix, e.g.

    results/tf2.3-keras2.json: cases.tanh_mlp.variants.plain.observables.loss.values[3]:
    expected a number, got 'abc' (re-run the environment: `nox -s "matrix(tf2.3-keras2)"`)

The walker never trusts a shape: a string where a table belongs, a null where a
number belongs and a list where a mapping belongs are all reported, never crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class DocumentError(Exception):
    """A results, golden or known-failures file that cannot be used; the message names
    the file, the path inside it, and what to do."""


class Where:
    """A position in a document: the file, the path inside it, and the fix to suggest."""

    __slots__ = ("file", "fix", "_path", "_parent", "_key")

    def __init__(self, file: str, path: str = "", fix: str = ""):
        self.file = file
        self.fix = fix
        self._path: str | None = path
        self._parent: Where | None = None
        self._key: str | int = ""

    @property
    def path(self) -> str:
        """The path inside the document, as ``a.b[2].c``; spelled out only when asked (an
        error message), since a results file has millions of positions."""
        if self._path is None:
            assert self._parent is not None
            above, key = self._parent.path, self._key
            self._path = f"{above}[{key}]" if isinstance(key, int) else (f"{above}.{key}" if above else str(key))
        return self._path

    def at(self, key: str | int) -> Where:
        """The position one step further: ``[key]`` for a list index, ``.key`` for a field."""
        below = Where.__new__(Where)
        below.file, below.fix, below._path, below._parent, below._key = self.file, self.fix, None, self, key
        return below

    def error(self, message: str, fix: bool = True) -> DocumentError:
        """The error at this position; ``fix=False`` leaves out the suggested fix (when the
        message carries its own)."""
        where = f"{self.file}: {self.path}: " if self.path else f"{self.file}: "
        return DocumentError(where + message + (f" ({self.fix})" if self.fix and fix else ""))

    def expected(self, what: str, got: Any) -> DocumentError:
        """The DocumentError "expected <what>, got <a short form of got>" at this position."""
        return self.error(f"expected {what}, got {_show(got)}")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def mapping(where: Where, value: Any, allowed: tuple[str, ...] | None = None) -> Mapping[str, Any]:
    """``value`` as a JSON object; with ``allowed``, an unknown key is an error naming it."""
    if not isinstance(value, dict):
        raise where.expected("a mapping", value)
    if allowed is not None:
        unknown = [k for k in value if k not in allowed]
        if unknown:
            raise where.at(unknown[0]).error(f"unknown field (known: {', '.join(allowed)})")
    return value


def field(where: Where, data: Mapping[str, Any], key: str, parse: Callable[[Where, Any], Any],
          default: Any = ...) -> Any:
    """``data[key]`` parsed with ``parse``; a missing key is an error unless a default is given."""
    if key not in data:
        if default is ...:
            raise where.at(key).error("missing")
        return default
    return parse(where.at(key), data[key])


def optional(parse: Callable[[Where, Any], T]) -> Callable[[Where, Any], T | None]:
    """A parser that reads JSON null as None and anything else with ``parse``."""

    def inner(where: Where, value: Any) -> T | None:
        return None if value is None else parse(where, value)

    return inner


def string(where: Where, value: Any) -> str:
    """``value`` if it is a string, else DocumentError at ``where``."""
    if not isinstance(value, str):
        raise where.expected("a string", value)
    return value


def boolean(where: Where, value: Any) -> bool:
    """``value`` if it is true or false (not 0 or 1), else DocumentError at ``where``."""
    if not isinstance(value, bool):
        raise where.expected("true or false", value)
    return value


def integer(where: Where, value: Any) -> int:
    """``value`` if it is an integer (a bool is not), else DocumentError at ``where``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.expected("an integer", value)
    return value


def number(where: Where, value: Any) -> float:
    """A float; JSON's NaN and infinities (Python's json reads them) are kept."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.expected("a number", value)
    return float(value)


def finite(where: Where, value: Any) -> float:
    """A number that is neither NaN nor infinite, else DocumentError at ``where``."""
    result = number(where, value)
    if not math.isfinite(result):
        raise where.expected("a finite number", value)
    return result


def numbers(where: Where, value: Any, limit: int | None = None) -> list[float]:
    """A list of numbers, checked in one pass (observables can hold a million values)."""
    if not isinstance(value, list):
        raise where.expected("a list of numbers", value)
    if limit is not None and len(value) > limit:
        raise where.error(f"{len(value)} values, more than the limit of {limit}")
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise where.at(i).expected("a number", x)
    return [float(x) for x in value]


def listof(parse: Callable[[Where, Any], T]) -> Callable[[Where, Any], list[T]]:
    """A parser for a JSON list whose items ``parse`` reads; an error names the item's index."""

    def inner(where: Where, value: Any) -> list[T]:
        if not isinstance(value, list):
            raise where.expected("a list", value)
        return [parse(where.at(i), x) for i, x in enumerate(value)]

    return inner


def tupleof(parse: Callable[[Where, Any], T]) -> Callable[[Where, Any], tuple[T, ...]]:
    """``listof(parse)``, as a tuple (for frozen documents)."""
    inner = listof(parse)
    return lambda where, value: tuple(inner(where, value))


def dictof(parse: Callable[[Where, Any], T]) -> Callable[[Where, Any], dict[str, T]]:
    """A JSON object of one value type, its order kept."""

    def inner(where: Where, value: Any) -> dict[str, T]:
        data = mapping(where, value)
        return {k: parse(where.at(k), v) for k, v in data.items()}

    return inner


def anything(where: Where, value: Any) -> Any:
    """Free-form JSON (timing, fingerprints): kept as it is."""
    return value


def choice(options: tuple[str, ...]) -> Callable[[Where, Any], str]:
    """A parser that accepts one of the strings ``options``, else DocumentError listing them."""

    def inner(where: Where, value: Any) -> str:
        if value not in options:
            raise where.expected(" or ".join(repr(o) for o in options), value)
        return value

    return inner
