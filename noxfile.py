"""Sessions: matrix (one per environment), compare, report, bless, lock, tests, lint.

    nox -s matrix                     # every environment whose lock, cases or runner changed; compare + report
    nox -s matrix -- --force          # every environment, changed or not (or HARNESS_FORCE=1)
    nox -s matrix -- --cases-dir DIR  # your own cases instead of ours (HARNESS_CASES_DIR)
    nox -s "matrix(tf1.14-keras2)"    # one environment
    nox -s bless -- tf1.14-keras2     # accept that environment's results as golden
"""

from __future__ import annotations

import inspect
import os
import sys

import nox

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import config
from harness.matrix import (
    envs,
    interpreters,
    locks,  # noqa: E402
)
from harness.run import environment
from harness.run import options as run_options

# compare is named as well as notified: `nox -j 2` runs the environments two at a
# time, where a session cannot notify, and compare once after them (see _PARALLEL).
nox.options.sessions = ["matrix", "compare"]
nox.options.default_venv_backend = "uv"

MATRIX = envs.select(tags=os.environ.get("HARNESS_TAGS", "default").split(","))
HOST_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _interpreter(spec: envs.EnvSpec) -> str | bool:
    # False makes nox build no virtualenv; the session then reports the
    # environment as unavailable instead of nox failing to find "python3.7".
    return interpreters.resolve(spec.python) or False


def _harness(session: nox.Session) -> None:
    """The host-side harness (compare, report, bless) in its own small, reused venv.

    Only its dependencies are installed: `python -m harness` runs from the project
    folder. An editable install would rebuild the package on every call (seconds
    each time, on the path of a `nox -s matrix` that has nothing to run)."""
    session.install(*nox.project.load_toml("pyproject.toml")["project"]["dependencies"], silent=True)


# nox >= 2026.8.10 runs sessions at once with -j N. Each environment has its own
# virtualenv and results file and its framework runs on one thread, so two can run
# side by side without changing a number; compare never runs beside anything.
# An older nox knows no allow_parallel and runs everything in turn.
_PARALLEL = "allow_parallel" in inspect.signature(nox.session).parameters


@nox.session(reuse_venv=True, **({"allow_parallel": True} if _PARALLEL else {}))
@nox.parametrize(
    "python,env_id",
    [(_interpreter(spec), spec.id) for spec in MATRIX],
    ids=[spec.id for spec in MATRIX],
)
def matrix(session: nox.Session, env_id: str) -> None:
    """Run the cases of one pinned environment (results/<env>.json) that changed since its last run."""
    # CI: one job per environment, compare once at the end. Under --parallel nox runs
    # each session in its own process, where notify() is refused: there compare runs
    # because it is named (`nox -s matrix compare -j 2`), after every matrix session.
    if os.environ.get("HARNESS_SKIP_COMPARE") != "1" and not getattr(session, "parallel", False):
        session.notify("compare", posargs=session.posargs)
    spec = envs.by_id(env_id)
    options = run_options.parse_run_args(session.posargs)
    if not session.python:
        reason = interpreters.explain_missing(spec.python)
        environment.write_unavailable(spec, reason, options.results_dir)
        session.skip(f"{env_id}: environment unavailable: {reason}")
    lock = locks.lock_path(spec, config.ROOT)
    if not os.path.exists(lock):
        reason = f"no lock file {os.path.relpath(lock)}; make it with `nox -s lock -- {env_id}`"
        environment.write_unavailable(spec, reason, options.results_dir)
        session.skip(f"{env_id}: environment unavailable: {reason}")
    # Decide before syncing: an environment with nothing new costs no install.
    try:
        plan = environment.plan_environment(spec, options)
    except run_options.UsageError as exc:
        session.error(str(exc))
    if plan.up_to_date:
        session.skip(f"{env_id}: {plan.describe()}")
    try:
        session.run_install(*locks.uv_command(), "pip", "sync", "--quiet", lock, silent=True, external=True)
    except nox.command.CommandFailed as exc:
        reason = f"could not install the lock {os.path.relpath(lock)} with uv ({exc.reason})"
        environment.write_unavailable(spec, reason, options.results_dir)
        session.warn(f"{env_id}: environment unavailable: {reason}")
        return
    python = os.path.join(session.bin, "python")
    environment.run_environment(spec, python, options, progress=session.log, plan=plan)


# Never beside a matrix session, even under --allow-parallel: it reads every result.
@nox.session(python=HOST_PYTHON, reuse_venv=True, **({"allow_parallel": False} if _PARALLEL else {}))
def compare(session: nox.Session) -> None:
    """Compare results with golden values, invariants and each other; write report/."""
    _harness(session)
    session.run("python", "-m", "harness", "compare", *session.posargs)


@nox.session(python=HOST_PYTHON, reuse_venv=True)
def report(session: nox.Session) -> None:
    """Build report/ (index.html, report.md, junit.xml, summary.json) from the results present.

    The same run as `compare`; it succeeds whenever the report was written, whatever the
    verdict (exit codes 1, 3, 4 and 5 are verdicts, 2 is a usage error), so use `compare`
    where the verdict must fail the job."""
    _harness(session)
    session.run("python", "-m", "harness", "compare", *session.posargs, success_codes=[0, 1, 3, 4, 5])


@nox.session(python=HOST_PYTHON, reuse_venv=True)
def bless(session: nox.Session) -> None:
    """Accept results as golden: nox -s bless -- <env...|all> [--case NAME] [--force]."""
    _harness(session)
    session.run("python", "-m", "harness", "bless", *session.posargs)


@nox.session(python=HOST_PYTHON)
def bisect(session: nox.Session) -> None:
    """First release that changes a case: nox -s bisect -- <case> <package> <good> <bad> [--base ENV]."""
    _harness(session)
    session.run("python", "-m", "harness", "bisect", *session.posargs)


@nox.session(python=False)
def lock(session: nox.Session) -> None:
    """Re-resolve lock files as of each environment's date: nox -s lock [-- <env...>]."""
    session.run(sys.executable, "-m", "harness.matrix.locks", *session.posargs)


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """What the harness costs next to bare framework work: nox -s bench [-- --envs a,b --cases x,y]."""
    session.run(sys.executable, "-m", "bench", *session.posargs)


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
