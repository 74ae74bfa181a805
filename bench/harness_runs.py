"""The harness as a user runs it: `nox -s matrix` (every environment, the evidence
phase, compare) from a noxfile of its own in the benchmark's folder, with its own
envdir; and the report step alone."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys

from bench.measure import Measured, run_measured
from harness.core import store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The line `tfrepro evidence` ends with (harness.cli.cmd_evidence).
EVIDENCE_LINE = re.compile(r"evidence: .* in ([0-9.]+) s$")
SESSION = re.compile(r"^matrix\((.+)\)$")
# The user's own settings must not steer the benchmark's runs.
SCRUBBED = ("HARNESS_RESULTS", "HARNESS_REPORT", "HARNESS_FORCE", "HARNESS_CASES_DIR", "HARNESS_WITH_BUILTIN_CASES",
            "HARNESS_SKIP_COMPARE", "NOX_PARALLEL", "NOX_CURRENT_SESSION", "VIRTUAL_ENV")


@dataclasses.dataclass(frozen=True)
class MatrixRun:
    label: str
    jobs: int
    measured: Measured
    sessions: dict[str, float]  # env id (or "compare") -> the session's own seconds, from nox --report
    outcomes: dict[str, str]  # env id (or "matrix", the aggregate) -> success, skipped, failed
    results: dict[str, dict]  # env id -> results/<env>.json as written
    evidence_seconds: float | None = None  # the evidence phase of the aggregate session
    results_dir: str = ""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED}


def write_noxfile(workdir: str, env_ids: list[str] | None) -> str:
    """A noxfile in ``workdir`` with tfrepro's matrix sessions for ``env_ids`` (None: the
    default matrix), as a user's noxfile has them (harness.sessions.matrix_sessions)."""
    path = os.path.join(workdir, "noxfile.py")
    os.makedirs(workdir, exist_ok=True)
    with open(path, "w") as fh:
        fh.write(f'"""The benchmark\'s own noxfile (bench/harness_runs.py)."""\n'
                 f"import sys\n\nsys.path.insert(0, {ROOT!r})\n\n"
                 f"from harness.sessions import matrix_sessions  # noqa: E402\n\n"
                 f"matrix_sessions(envs={env_ids!r})\n")
    return path


def nox_command(noxfile: str, envdir: str, jobs: int, report: str, posargs: list[str]) -> list[str]:
    """`nox -s matrix`: every environment session ``jobs`` at a time, then the aggregate
    (evidence, compare)."""
    return [sys.executable, "-m", "nox", "--noxfile", noxfile, "--envdir", envdir, "-j", str(jobs),
            "--report", report, "-s", "matrix", "--", *posargs]


def run_matrix(label: str, env_ids: list[str], workdir: str, envdir: str, jobs: int, results_dir: str,
               extra: list[str], golden: str | None = None, environ: dict[str, str] | None = None,
               default_matrix: bool = False) -> MatrixRun:
    """`nox -s matrix -- --results DIR ...` in ``envdir`` for ``env_ids``; ``extra`` are more
    posargs (--force, --case NAME, --cases-dir DIR); ``golden``: the golden folder (default:
    none, an empty folder); ``environ``: variables exported for the run (a numerics knob)."""
    report = os.path.join(workdir, f"{label}.nox-report.json")
    noxfile = write_noxfile(os.path.join(workdir, f"{label}.noxfile"), None if default_matrix else env_ids)
    golden = golden or os.path.join(workdir, "no-golden")
    posargs = ["--results", results_dir, "--golden", golden, "--report", os.path.join(workdir, f"{label}.report"),
               *extra]
    log = os.path.join(workdir, f"{label}.log")
    measured = run_measured(nox_command(noxfile, envdir, jobs, report, posargs), log,
                            env=dict(clean_env(), **(environ or {})), cwd=ROOT)
    sessions, outcomes = read_nox_report(report)
    return MatrixRun(label, jobs, measured, sessions, skips(outcomes, log, env_ids), read_results(results_dir, env_ids),
                     evidence_seconds(log), results_dir)


def evidence_seconds(log: str) -> float | None:
    """The evidence phase's own time, from its last line in the nox log."""
    found = None
    with open(log, errors="replace") as fh:
        for line in fh:
            match = EVIDENCE_LINE.search(line.rstrip())
            if match:
                found = float(match.group(1))
    return found


def skips(outcomes: dict[str, str], log: str, env_ids: list[str]) -> dict[str, str]:
    """``outcomes`` with "skipped" for each environment the log says was up to date: nox
    reports such a session as a success (harness.run.incremental logs the skip)."""
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
    # "matrix(<env>)" is an environment's session (harness.sessions); "matrix" the aggregate.
    names = [SESSION.sub(r"\1", e["name"]) for e in entries]
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
