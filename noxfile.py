"""Sessions: matrix (one per environment), compare, report, bless, lock, tests, lint.

    nox -s matrix                     # every environment, then compare + report
    nox -s "matrix(tf1.14-keras2)"    # one environment
    nox -s bless -- tf1.14-keras2     # accept that environment's results as golden
"""

from __future__ import annotations

import os
import shutil
import sys

import nox

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import envs, execute, interpreters, locking  # noqa: E402

nox.options.sessions = ["matrix"]
nox.options.default_venv_backend = "uv"

MATRIX = envs.select(tags=os.environ.get("HARNESS_TAGS", "default").split(","))
HOST_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _interpreter(spec: envs.EnvSpec) -> str | bool:
    # False makes nox build no virtualenv; the session then reports the
    # environment as unavailable instead of nox failing to find "python3.7".
    return interpreters.resolve(spec.python) or False


def _harness(session: nox.Session, *extra: str) -> None:
    """The host-side harness (compare, report, bless) in its own small venv."""
    session.install("-e", ".", *extra, silent=True)


@nox.session(reuse_venv=True)
@nox.parametrize(
    "python,env_id",
    [(_interpreter(spec), spec.id) for spec in MATRIX],
    ids=[spec.id for spec in MATRIX],
)
def matrix(session: nox.Session, env_id: str) -> None:
    """Run every case in one pinned environment (results/<env>.json)."""
    session.notify("compare", posargs=session.posargs)
    spec = envs.by_id(env_id)
    if not session.python:
        reason = interpreters.explain_missing(spec.python)
        execute.write_unavailable(spec, reason)
        session.skip(f"{env_id}: environment unavailable: {reason}")
    lock = locking.lock_path(spec, execute.ROOT)
    if not os.path.exists(lock):
        reason = f"no lock file {os.path.relpath(lock)}; make it with `nox -s lock -- {env_id}`"
        execute.write_unavailable(spec, reason)
        session.skip(f"{env_id}: environment unavailable: {reason}")
    try:
        session.run_install(*_uv(), "pip", "sync", "--quiet", lock, silent=True, external=True)
    except nox.command.CommandFailed as exc:
        reason = f"could not install the lock {os.path.relpath(lock)} with uv ({exc.reason})"
        execute.write_unavailable(spec, reason)
        session.warn(f"{env_id}: environment unavailable: {reason}")
        return
    python = os.path.join(session.bin, "python")
    options = execute.parse_run_args(session.posargs)
    execute.run_environment(spec, python, options, progress=session.log)


@nox.session(python=HOST_PYTHON)
def compare(session: nox.Session) -> None:
    """Compare results with golden values, invariants and each other; write report/."""
    _harness(session)
    session.run("python", "-m", "harness", "compare", *session.posargs)


@nox.session(python=HOST_PYTHON)
def bless(session: nox.Session) -> None:
    """Accept results as golden: nox -s bless -- <env...|all> [--case NAME] [--force]."""
    _harness(session)
    session.run("python", "-m", "harness", "bless", *session.posargs)


@nox.session(python=False)
def lock(session: nox.Session) -> None:
    """Re-resolve lock files as of each environment's date: nox -s lock [-- <env...>]."""
    session.run(sys.executable, "-m", "harness.locking", *session.posargs)


@nox.session(python=HOST_PYTHON)
def tests(session: nox.Session) -> None:
    """The project's own tests (they build real environments)."""
    session.install("-e", ".[test]", silent=True)
    session.run("pytest", *session.posargs)


@nox.session(python=HOST_PYTHON)
def lint(session: nox.Session) -> None:
    session.install("-e", ".[lint]", silent=True)
    session.run("ruff", "check", ".")
    session.run("mypy", "harness")
