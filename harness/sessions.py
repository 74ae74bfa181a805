"""The nox sessions of a tfrepro matrix, as a plugin any noxfile can call.

This project's noxfile and a user's own use the same function (``tfrepro.nox``
re-exports it):

    import tfrepro.nox
    tfrepro.nox.matrix_sessions(cases="checks/", envs=["tf2.15-keras2", "tf2.16-keras3.0"])

It defines:

    matrix(<env>)   one per environment: build it from its lock, run the cases that changed
    matrix          every environment (as many at once as there are cores), then compare once
    compare         verdicts and report/ for the results present (exit code = verdict)
    report          the same, succeeding whenever the report was written
    bless           accept results as golden values: nox -s bless -- <env...|all> [--case NAME]
    bisect          the first release of a package that changes a case

Folders (results, golden values, report, your cases) are the calling project's:
relative paths are taken from the noxfile's folder. One `nox -s matrix -- ...` line
feeds every session: the run's options and compare's are both accepted everywhere.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

import nox

from harness import config
from harness.core.errors import UsageError
from harness.matrix import envs as envs_module
from harness.matrix import interpreters, locks

HOST_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
# nox runs sessions side by side from 2026.8.17 on (--parallel, a session's allow_parallel=);
# an older one runs the environments one at a time instead of failing on the keyword.
PARALLEL_NOX = hasattr(nox.options, "parallel")
HOST_DEPENDENCIES = ("numpy", "matplotlib", "packaging")


def _selected(env_ids: Sequence[str] | None, tags: Sequence[str] | None) -> list[envs_module.EnvSpec]:
    if env_ids:
        return envs_module.select(ids=list(env_ids))
    tags = list(tags or config.get("HARNESS_TAGS") or ("default",))
    known = {t for spec in envs_module.all_envs() for t in spec.tags}
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise UsageError(f"no environment has the tag {', '.join(unknown)} (tags: {', '.join(sorted(known))})")
    return envs_module.select(tags=tags)


def _interpreter(spec: envs_module.EnvSpec) -> str | bool:
    # False makes nox build no virtualenv; the session then reports the
    # environment as unavailable instead of nox failing to find "python3.7".
    return interpreters.resolve(spec.python) or False


def matrix_sessions(cases: str | Sequence[str] | None = None, envs: Sequence[str] | None = None,
                    tags: Sequence[str] | None = None, results: str = config.DEFAULT_RESULTS,
                    golden: str = config.DEFAULT_GOLDEN, report: str = config.DEFAULT_REPORT,
                    with_builtin_cases: bool = False, jobs: int | None = None,
                    known_failures: str = config.DEFAULT_KNOWN_FAILURES) -> None:
    """Define the sessions above in the calling noxfile.

    ``cases``: your cases folder(s) (default: tfrepro's built-in cases); ``envs``: the
    environment ids to run (default: by ``tags``, else HARNESS_TAGS, else "default");
    ``results``/``golden``/``report``: folders, relative to the noxfile; ``jobs``:
    environments at once (default: one per core; `nox -j N` or NOX_PARALLEL wins);
    ``known_failures``: your reviewed known failures, relative to the noxfile (with
    cases of your own and no such file, none; tfrepro's list applies to its own
    cases). Raises UsageError for an unknown environment or tag in ``envs`` or
    ``tags``; when HARNESS_TAGS names no tag, `nox -l` still lists the sessions and
    `nox -s matrix` fails with the message."""
    project = os.getcwd()  # nox loads a noxfile from its own folder (it changes into it first)
    case_dirs = [cases] if isinstance(cases, str) else list(cases or [])
    settings = {
        "HARNESS_RESULTS": os.path.join(project, results),
        "HARNESS_GOLDEN": os.path.join(project, golden),
        "HARNESS_REPORT": os.path.join(project, report) if report else "",
    }
    if case_dirs:
        settings["HARNESS_CASES_DIR"] = os.pathsep.join(os.path.join(project, d) for d in case_dirs)
        if with_builtin_cases:
            settings["HARNESS_WITH_BUILTIN_CASES"] = "1"
    for key, value in settings.items():
        os.environ.setdefault(key, value)  # the caller's environment wins
    try:
        specs = _selected(envs, tags)
    except (KeyError, UsageError) as exc:
        if envs or tags:  # the noxfile's own arguments: its author sees this at once
            raise UsageError(f"tfrepro.nox.matrix_sessions: {exc.args[0]}") from None
        # HARNESS_TAGS: a setting of this shell. `nox -l` and the other sessions still work;
        # `nox -s matrix` fails with the message.
        specs = []
        _unusable_matrix(f"HARNESS_TAGS={os.environ.get('HARNESS_TAGS', '')!r} selects no environment: "
                         f"{exc.args[0]}; fix or unset HARNESS_TAGS")
    nox.options.default_venv_backend = "uv"
    nox.options.sessions = ["matrix"]
    if specs and PARALLEL_NOX and nox.options.parallel is None:
        nox.options.parallel = jobs or os.cpu_count() or 1
    # What compare, report and bisect need to know of this project; a word the user puts
    # after `--` comes later and wins (argparse keeps the last).
    known = _known_failures(project, known_failures, builtin_cases=not case_dirs or with_builtin_cases)
    compare_args = ["--known-failures", known]
    # compare judges the environments this noxfile runs, not the default matrix
    if envs:
        for spec in specs:
            compare_args += ["--env", spec.id]
    elif tags:
        for tag in sorted({t for spec in specs for t in spec.tags}):
            compare_args += ["--tag", tag]
    bisect_args = ["--cache", os.path.join(project, ".nox", "bisect-candidates")]
    for spec in specs:
        _environment_session(spec)
    if specs:
        _aggregate_session(specs, compare_args)
    _harness_sessions(compare_args, bisect_args)


def _known_failures(project: str, name: str, builtin_cases: bool) -> str:
    """The project's known failures; tfrepro's own list where the project has none and
    runs tfrepro's cases (it names only those)."""
    path = os.path.join(project, name)
    if not os.path.exists(path) and builtin_cases:
        return config.BUILTIN_KNOWN_FAILURES
    return path


def _unusable_matrix(problem: str) -> None:
    """A ``matrix`` session that fails with ``problem`` (the selection cannot be made)."""

    @nox.session(name="matrix", python=False)
    def matrix(session: nox.Session) -> None:
        session.error(problem)

    matrix.__doc__ = f"cannot run: {problem}"


# An installed tfrepro brings its dependencies into nox's Python, which then runs the
# host-side steps itself; a checkout where only nox was installed gets a small reused
# venv with them (the harness is imported from the checkout, nox's folder).
_IN_PROCESS = all(importlib.util.find_spec(name) for name in HOST_DEPENDENCIES)
_HOST = {"python": False} if _IN_PROCESS else {"python": HOST_PYTHON, "reuse_venv": True}


def _parallel(allowed: bool) -> dict[str, Any]:
    """nox's allow_parallel keyword where this nox has it (see PARALLEL_NOX)."""
    return {"allow_parallel": allowed} if PARALLEL_NOX else {}


def _harness(session: nox.Session) -> list[str]:
    """The command that runs the host-side harness (see _IN_PROCESS)."""
    if _IN_PROCESS:
        return [sys.executable, "-m", "harness"]
    session.install(*HOST_DEPENDENCIES, "tomli; python_version < '3.11'", silent=True)
    return ["python", "-m", "harness"]


def _environment_session(spec: envs_module.EnvSpec) -> None:
    @nox.session(name=f"matrix({spec.id})", python=_interpreter(spec), reuse_venv=True,
                 **_parallel(True))
    def run_environment(session: nox.Session) -> None:
        from harness.core.errors import exit_code
        from harness.run import environment
        from harness.run import options as run_options

        try:
            options = run_options.parse_run_args(session.posargs)
            if not session.python:
                reason = interpreters.explain_missing(spec.python)
                environment.write_unavailable(spec, reason, options.results_dir)
                session.warn(f"{spec.id}: environment unavailable: {reason}")
                return
            lock = locks.lock_path(spec, config.ROOT)
            if not os.path.exists(lock):
                reason = f"no lock file {lock}; make it with `nox -s lock -- {spec.id}`"
                environment.write_unavailable(spec, reason, options.results_dir)
                session.warn(f"{spec.id}: environment unavailable: {reason}")
                return
            # Decide before syncing: an environment with nothing new costs no install. A
            # skip is a success here: `matrix` requires every environment session.
            plan = environment.plan_environment(spec, options)
            if plan.up_to_date:
                session.log(f"{spec.id}: {plan.describe()}")
                return
            try:
                session.run_install(*locks.uv_command(), "pip", "sync", "--quiet", lock, silent=True, external=True)
            except nox.command.CommandFailed as exc:
                reason = f"could not install the lock {lock} with uv ({exc.reason})"
                environment.write_unavailable(spec, reason, options.results_dir)
                session.warn(f"{spec.id}: environment unavailable: {reason}")
                return
            environment.run_environment(spec, os.path.join(session.bin, "python"), options,
                                        progress=session.log, plan=plan)
        except Exception as exc:
            if exit_code(exc) is None:
                raise
            session.error(f"{spec.id}: {exc}")

    run_environment.__doc__ = f"{spec.id}: run its cases that changed (python {spec.python}, {spec.lineage})."


def _aggregate_session(specs: list[envs_module.EnvSpec], compare_args: list[str]) -> None:
    @nox.session(name="matrix", requires=[f"matrix({spec.id})" for spec in specs], **_parallel(False), **_HOST)
    def matrix(session: nox.Session) -> None:
        """Every environment, as many at once as there are cores; then evidence, compare and report/ once.

        The evidence is what the cross-version causes need (transplants, round-off members)."""
        if config.get("HARNESS_SKIP_COMPARE"):
            session.log("HARNESS_SKIP_COMPARE=1: no comparison")
            return
        # One process: the evidence step and the comparison read the results once.
        session.run(*_harness(session), "compare", "--evidence", *compare_args, *session.posargs, external=True)


def _harness_sessions(compare_args: list[str], bisect_args: list[str]) -> None:
    @nox.session(**_parallel(False), **_HOST)
    def compare(session: nox.Session) -> None:
        """Compare results with golden values, invariants and each other; write report/."""
        session.run(*_harness(session), "compare", *compare_args, *session.posargs, external=True)

    @nox.session(**_parallel(False), **_HOST)
    def report(session: nox.Session) -> None:
        """Write report/ for the results present; succeeds whenever the report was written.

        Use compare where the verdict must fail the job: exit codes 1, 3, 4, 5 are verdicts, 2 a
        usage error."""
        session.run(*_harness(session), "compare", *compare_args, *session.posargs, external=True,
                    success_codes=[0, 1, 3, 4, 5])

    @nox.session(**_parallel(False), **_HOST)
    def bless(session: nox.Session) -> None:
        """Accept results as golden: nox -s bless -- <env...|all> [--case NAME] [--force]."""
        session.run(*_harness(session), "bless", *session.posargs, external=True)

    @nox.session(**_HOST)
    def bisect(session: nox.Session) -> None:
        """First release that changes a case: nox -s bisect -- <case> <package> <good> <bad> [--base ENV]."""
        session.run(*_harness(session), "bisect", *bisect_args, *session.posargs, external=True)
