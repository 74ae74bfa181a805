"""Where things are and every HARNESS_* variable: read here, validated here, nowhere else.

Paths: the tool's own files (built-in cases, locks, known failures) sit beside the
package in a checkout and inside it in an installed wheel; the project's files
(results, golden values, the report, the user's cases) are the project's, found
from the current folder unless a variable or an option says otherwise.

Variables are read when asked for, never at import, so a malformed value is a
UsageError that names the variable (and `nox -l` works whatever they hold).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from harness.core.errors import UsageError

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
RUNNER_DIR = os.path.join(PACKAGE_DIR, "inenv")


def _tool_root() -> str:
    """The folder holding cases/, locks/ and known_failures.toml: the package's own
    data folder in an installed wheel, the checkout otherwise."""
    installed = os.path.join(PACKAGE_DIR, "data")
    return installed if os.path.isdir(os.path.join(installed, "cases")) else os.path.dirname(PACKAGE_DIR)


ROOT = _tool_root()
BUILTIN_CASES = os.path.join(ROOT, "cases")
LOCK_DIR = os.path.join(ROOT, "locks")
BUILTIN_KNOWN_FAILURES = os.path.join(ROOT, "known_failures.toml")
DEFAULT_RESULTS = "results"  # relative to the project folder (the current folder)
DEFAULT_GOLDEN = "golden"
DEFAULT_REPORT = "report"
DEFAULT_KNOWN_FAILURES = "known_failures.toml"


# -- the variables ----------------------------------------------------------------------
def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("", "0", "no", "false", "off"):
        return False
    if value in ("1", "yes", "true", "on"):
        return True
    raise UsageError(f"{name}={raw!r} is not a yes/no value (use 1 or 0)")


def _seconds(name: str, raw: str) -> float:
    return _positive(name, raw, "a number of seconds")


def _megabytes(name: str, raw: str) -> float:
    return _positive(name, raw, "a number of megabytes")


def _positive(name: str, raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not {what}") from None
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{name}={raw!r}: {what} greater than 0 is needed")
    return value


def _text(name: str, raw: str) -> str:
    return raw


def _paths(name: str, raw: str) -> tuple[str, ...]:
    return tuple(p for p in raw.split(os.pathsep) if p)


def _words(name: str, raw: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in raw.split(",") if w.strip())


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str
    parse: Callable[[str, str], Any]
    default: Any
    help: str


VARIABLES = {v.name: v for v in (
    Variable("HARNESS_RESULTS", _text, None, "the results folder (--results)"),
    Variable("HARNESS_GOLDEN", _text, None, "the golden values folder (--golden)"),
    Variable("HARNESS_REPORT", _text, None, "the report folder (--report; empty for none)"),
    Variable("HARNESS_CASES_DIR", _paths, (), f"your cases folders, joined with {os.pathsep!r} (--cases-dir)"),
    Variable("HARNESS_WITH_BUILTIN_CASES", _flag, False, "run the built-in cases beside yours"),
    Variable("HARNESS_FORCE", _flag, False, "run environments that are up to date (--force)"),
    Variable("HARNESS_CASE_TIMEOUT", _seconds, 1800.0,
             "seconds a case may run before it is killed (--case-timeout)"),
    Variable("HARNESS_MEMORY_LIMIT_MB", _megabytes, 8192.0, "memory a worker may use before it is killed"),
    Variable("HARNESS_TAGS", _words, (), "the environments to select, by tag (comma-separated)"),
    Variable("HARNESS_SKIP_COMPARE", _flag, False, "matrix sessions do not compare (CI fans out)"),
)}


def get(name: str) -> Any:
    """The value of HARNESS_<name>: its default when unset, UsageError when malformed."""
    variable = VARIABLES[name]
    raw = os.environ.get(name)
    if raw is None:
        return variable.default
    return variable.parse(name, raw)


def python_override(version: str) -> str | None:
    """HARNESS_PYTHON_3_7=/path/to/python3.7: the interpreter to use for Python ``version``."""
    return os.environ.get("HARNESS_PYTHON_" + version.replace(".", "_")) or None
