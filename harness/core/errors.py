"""The errors every stage raises, and the one table that turns them into exit codes.

Steps raise where they find a problem; only ``harness.cli`` (and the noxfile's
sessions, through it) turns them into an exit code and a message, never a traceback.
"""

from __future__ import annotations

from harness.core.reader import DocumentError
from harness.core.status import EXIT_INFRASTRUCTURE, EXIT_USAGE


class UsageError(ValueError):
    """What the user asked for cannot work: an unknown option, environment, case or tag,
    a missing folder, a malformed setting. Exit code 2."""


class InfrastructureError(RuntimeError):
    """The run could not happen or its results could not be written (a busy lock, a full
    disk, an interpreter that will not start). Exit code 4."""


def exit_code(exc: BaseException) -> int | None:
    """The exit code for an error the harness knows how to explain, else None (a bug:
    let it raise)."""
    if isinstance(exc, (UsageError, DocumentError)):
        return EXIT_USAGE
    if isinstance(exc, (InfrastructureError, OSError, ModuleNotFoundError)):  # a host dependency missing: not a verdict
        return EXIT_INFRASTRUCTURE
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return None


def message(exc: BaseException) -> str:
    """The one line a user sees for an error ``exit_code`` knows; a missing module (a bare
    checkout run without the tool's dependencies) says how to get them."""
    if isinstance(exc, ModuleNotFoundError):
        return (f"tfrepro: {exc}: the host side needs its dependencies; install the tool (`pip install -e .` in this "
                "checkout, or its wheel: see the README), or run it through nox (`nox -s compare`), which installs "
                "them")
    return f"tfrepro: {exc}"
