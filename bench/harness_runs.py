"""The harness as a user runs it: `nox -s matrix` (with compare) in a separate envdir,
and the report step alone."""

from __future__ import annotations

import dataclasses
import json
import os
import sys

from bench.measure import Measured, run_measured
from harness.core import store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOXFILE = os.path.join(ROOT, "noxfile.py")
# The user's own settings must not steer the benchmark's runs.
SCRUBBED = ("HARNESS_RESULTS", "HARNESS_REPORT", "HARNESS_FORCE", "HARNESS_CASES_DIR", "HARNESS_WITH_BUILTIN_CASES",
            "HARNESS_SKIP_COMPARE", "NOX_PARALLEL", "NOX_CURRENT_SESSION", "VIRTUAL_ENV")


@dataclasses.dataclass(frozen=True)
class MatrixRun:
    label: str
    jobs: int
    measured: Measured
    sessions: dict[str, float]  # env id (or "compare") -> the session's own seconds, from nox --report
    outcomes: dict[str, str]  # env id (or "compare") -> success, skipped, failed
    results: dict[str, dict]  # env id -> results/<env>.json as written


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED}


def nox_command(env_ids: list[str], envdir: str, jobs: int, report: str, posargs: list[str]) -> list[str]:
    # compare is named, not only notified: under --parallel a session cannot notify.
    return [sys.executable, "-m", "nox", "--noxfile", NOXFILE, "--envdir", envdir, "-j", str(jobs),
            "--report", report, "-s", *[f"matrix({e})" for e in env_ids], "compare", "--", *posargs]


def run_matrix(label: str, env_ids: list[str], workdir: str, envdir: str, jobs: int, results_dir: str,
               extra: list[str]) -> MatrixRun:
    """`nox -s matrix(...)... compare -- --results DIR ...` in ``envdir``; ``extra`` are more posargs
    (--force, --case NAME, --cases-dir DIR)."""
    report = os.path.join(workdir, f"{label}.nox-report.json")
    posargs = ["--results", results_dir, "--report", os.path.join(workdir, f"{label}.report"), *extra]
    measured = run_measured(nox_command(env_ids, envdir, jobs, report, posargs),
                            os.path.join(workdir, f"{label}.log"), env=clean_env(), cwd=ROOT)
    sessions, outcomes = read_nox_report(report)
    return MatrixRun(label, jobs, measured, sessions, skips(outcomes, measured.log, env_ids),
                     read_results(results_dir, env_ids))


def skips(outcomes: dict[str, str], log: str, env_ids: list[str]) -> dict[str, str]:
    """``outcomes`` with "skipped" for each environment the log says was up to date: nox
    reports such a session as a success (the aggregate matrix requires every one)."""
    with open(log, errors="replace") as fh:
        text = fh.read()
    return {n: "skipped" if r == "success" and n in env_ids and f"{n}: up to date, skipped" in text else r
            for n, r in outcomes.items()}


def read_nox_report(path: str) -> tuple[dict[str, float], dict[str, str]]:
    try:
        with open(path) as fh:
            entries = json.load(fh)["sessions"]
    except (OSError, ValueError, KeyError):
        return {}, {}
    # An environment's session is named matrix(<env id>); the others by their name.
    names = [e["name"][len("matrix("):-1] if e["name"].startswith("matrix(") else e["name"] for e in entries]
    return ({n: e.get("duration") or 0.0 for n, e in zip(names, entries)},
            {n: e.get("result", "?") for n, e in zip(names, entries)})


def read_results(results_dir: str, env_ids: list[str]) -> dict[str, dict]:
    found = {}
    for env in env_ids:
        try:
            found[env] = store.read_results(store.document_path(results_dir, env)).to_json()
        except (FileNotFoundError, store.DocumentError):
            continue
    return found


def run_report(results_dir: str, workdir: str) -> Measured:
    """The report step alone: `python -m harness compare` over the results present."""
    cmd = [sys.executable, "-m", "harness", "compare", "--results", results_dir,
           "--report", os.path.join(workdir, "report-alone")]
    return run_measured(cmd, os.path.join(workdir, "report-alone.log"), env=clean_env(), cwd=ROOT)
