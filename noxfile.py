"""Sessions: the matrix (harness.sessions, also tfrepro.nox for your own noxfile), and this
project's own: lock, bench, tests, lint.

    nox -s matrix                     # every environment whose lock, cases or runner changed; compare + report
    nox -s matrix -- --force          # every environment, changed or not (or HARNESS_FORCE=1)
    nox -s matrix -- --cases-dir DIR  # your own cases instead of ours (HARNESS_CASES_DIR)
    nox -s "matrix(tf1.14-keras2)" compare   # one environment, then the comparison
    nox -s bless -- tf1.14-keras2     # accept that environment's results as golden
"""

from __future__ import annotations

import glob
import os
import sys

import nox

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.sessions import HOST_PYTHON, matrix_sessions

matrix_sessions()


@nox.session(python=False)
def lock(session: nox.Session) -> None:
    """Re-resolve lock files as of each environment's date: nox -s lock [-- <env...>]."""
    session.run(sys.executable, "-m", "harness.matrix.locks", *session.posargs)


@nox.session(python=HOST_PYTHON)
def bench(session: nox.Session) -> None:
    """What the harness costs next to bare framework work: nox -s bench [-- --envs a,b --cases x,y]."""
    session.install("-e", ".[bench]", silent=True)
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(python=HOST_PYTHON)
def tests(session: nox.Session) -> None:
    """The project's own tests (they build real environments)."""
    session.install("-e", ".[test]", silent=True)
    session.run("pytest", *session.posargs)


@nox.session(python=HOST_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy on the host code; the in-environment runner and the cases as Python 3.7 code
    (ruff's per-file target version, then compiled by Python 3.7 itself where it is installed)."""
    from harness.matrix import interpreters

    session.install("-e", ".[lint]", silent=True)
    session.run("ruff", "check", ".")
    session.run("mypy", "harness")
    python37 = interpreters.resolve("3.7")
    if python37 is None:
        session.warn(f"the runner and the cases were not compiled with Python 3.7: "
                     f"{interpreters.explain_missing('3.7')}")
        return
    files = sorted(glob.glob("harness/inenv/*.py") + glob.glob("cases/*.py"))
    # Python 3.7's own parser, in memory (no .pyc written): 3.8+ syntax fails with file and line.
    session.run(python37, "-c", "import sys\nfor f in sys.argv[1:]:\n    compile(open(f, 'rb').read(), f, 'exec')",
                *files, external=True)
