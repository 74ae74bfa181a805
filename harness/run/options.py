"""The options of a run (`nox -s matrix -- ...`, `python -m harness run`) and the cases it selects."""

from __future__ import annotations

import argparse
import dataclasses
import os

from harness import config
from harness.inenv.worker import discover

ROOT = config.ROOT
BUILTIN_CASES = config.BUILTIN_CASES
# Keras 3.0 to 3.6 trace every train_on_batch call anew: their deep_saturation takes
# about two and a half minutes on an idle machine, much longer beside other work.
DEFAULT_CASE_TIMEOUT = float(os.environ.get("HARNESS_CASE_TIMEOUT", "1800"))
DEFAULT_MEMORY_LIMIT_MB = float(os.environ.get("HARNESS_MEMORY_LIMIT_MB", "8192"))
LOG_TAIL_LINES = 15


@dataclasses.dataclass
class RunOptions:
    case_dirs: tuple[str, ...] = (BUILTIN_CASES,)
    only: tuple[str, ...] = ()
    repeat: int = 2
    case_timeout: float = DEFAULT_CASE_TIMEOUT
    memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB
    results_dir: str = config.DEFAULT_RESULTS
    force: bool = False  # run even what is up to date (see harness.incremental)


class UsageError(ValueError):
    """Run options that cannot work (a missing cases folder, two cases of one name)."""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


def parse_run_args(argv: list[str]) -> RunOptions:
    """Run options from a session's posargs; unknown arguments belong to compare.

    A user's cases folder (--cases-dir, repeatable, or HARNESS_CASES_DIR, several
    joined with ':') replaces the built-in cases: someone checking their own model
    wants their verdicts, not ours. --with-builtin-cases (HARNESS_WITH_BUILTIN_CASES=1)
    runs ours too. --force (HARNESS_FORCE=1) re-runs what is up to date."""
    parser = argparse.ArgumentParser(prog="nox -s matrix --", add_help=False)
    parser.add_argument("--case", action="append", default=[], dest="only")
    parser.add_argument("--cases-dir", action="append", default=[])
    parser.add_argument("--with-builtin-cases", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--results", default=os.environ.get("HARNESS_RESULTS"))
    parser.add_argument("--case-timeout", type=float, default=DEFAULT_CASE_TIMEOUT)
    parser.add_argument("--repeat", type=int, default=2)
    args, _ = parser.parse_known_args(argv)
    options = RunOptions(only=tuple(args.only), case_timeout=args.case_timeout, repeat=args.repeat,
                         force=args.force or _env_flag("HARNESS_FORCE"))
    user_dirs = args.cases_dir or [d for d in os.environ.get("HARNESS_CASES_DIR", "").split(os.pathsep) if d]
    if user_dirs:
        with_builtin = args.with_builtin_cases or _env_flag("HARNESS_WITH_BUILTIN_CASES")
        options.case_dirs = ((BUILTIN_CASES,) if with_builtin else ()) + tuple(
            os.path.abspath(os.path.expanduser(d)) for d in user_dirs)
    if args.results:
        options.results_dir = os.path.abspath(args.results)
    return options


def selected_cases(options: RunOptions) -> dict[str, str]:
    """Case name -> module path for this run; a clear UsageError where that is ambiguous."""
    for folder in options.case_dirs:
        if not os.path.isdir(folder):
            raise UsageError(f"cases folder {folder} does not exist (--cases-dir / HARNESS_CASES_DIR)")
    # The worker lets an earlier folder's case win silently; two cases of one name
    # would share one results entry and one golden entry, so refuse that here.
    owners: dict[str, list[str]] = {}
    for folder in options.case_dirs:
        for name, path in discover([folder]).items():
            owners.setdefault(name, []).append(path)
    clashes = {name: paths for name, paths in owners.items() if len(paths) > 1}
    if clashes:
        name, paths = min(clashes.items())
        raise UsageError(f"two cases are named {name!r}: {' and '.join(paths)}; rename yours")
    found = discover(list(options.case_dirs))
    if not found:
        raise UsageError(f"no case modules (*.py) in {', '.join(options.case_dirs)}")
    unknown = [name for name in options.only if name not in found]
    if unknown:
        raise UsageError(f"no case named {', '.join(unknown)} in {', '.join(options.case_dirs)}")
    return {name: path for name, path in found.items() if not options.only or name in options.only}
