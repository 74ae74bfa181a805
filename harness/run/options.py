"""The options of a run (`nox -s matrix -- ...`, `python -m harness run`) and the cases it selects.

One `nox -s matrix -- ...` line feeds every session (each environment's run, then
compare), so the run's parser knows compare's options and compare's knows the
run's: each takes its own and leaves the other's, and a word neither knows is a
usage error (a misspelt --fail-on-drfit never passes silently).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os

from harness import config
from harness.core.errors import UsageError
from harness.inenv.cases import discover

__all__ = ["RunOptions", "UsageError", "add_arguments", "case_dirs", "case_files", "parse_run_args", "selected_cases"]

REPEAT_AUTO = None  # a determinism repeat only where it tells something (harness.run.policy)


@dataclasses.dataclass
class RunOptions:
    case_dirs: tuple[str, ...] = (config.BUILTIN_CASES,)
    only: tuple[str, ...] = ()
    repeat: int | None = REPEAT_AUTO  # runs per variant: None decides per variant, 1 never repeats, 2+ always
    case_timeout: float = 1800.0  # seconds a case may run (HARNESS_CASE_TIMEOUT)
    memory_limit_mb: float = 8192.0  # megabytes a worker may use (HARNESS_MEMORY_LIMIT_MB)
    results_dir: str = os.path.abspath(config.DEFAULT_RESULTS)
    golden_dir: str = os.path.abspath(config.DEFAULT_GOLDEN)
    force: bool = False  # run even what is up to date (see harness.run.incremental)
    envelope: int = 3  # round-off members where a result differs from golden (harness.check.roundoff)
    environ: tuple[tuple[str, str], ...] = ()  # variables for the workers, as if exported (tests set knobs so)

    def worker_environ(self) -> dict[str, str]:
        """The environment a worker inherits: this process's, with ``environ`` on top."""
        return {**os.environ, **dict(self.environ)}

    @classmethod
    def from_environment(cls, **overrides) -> RunOptions:
        """The defaults with HARNESS_* variables applied (UsageError when one is malformed)."""
        base = cls(case_timeout=config.get("HARNESS_CASE_TIMEOUT"),
                   memory_limit_mb=config.get("HARNESS_MEMORY_LIMIT_MB"), force=config.get("HARNESS_FORCE"))
        return dataclasses.replace(base, **overrides)


def _repeat(text: str) -> int | None:
    if text == "auto":
        return REPEAT_AUTO
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto' or a number of runs") from None
    if value < 1:
        raise argparse.ArgumentTypeError("at least one run per variant")
    return value


def _members(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("0 or more members")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("more than 0 seconds")
    return value


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, shared: bool = False) -> None:
    """The run's options. ``shared``: only the ones compare shares (--results, --golden)
    are left out, since compare defines them itself."""
    parser.add_argument("--case", action="append", default=[], dest="only", metavar="NAME",
                        help="run only this case (repeatable)")
    parser.add_argument("--cases-dir", action="append", default=[], metavar="DIR",
                        help="your cases folder instead of the built-in cases (repeatable; HARNESS_CASES_DIR)")
    parser.add_argument("--with-builtin-cases", action="store_true",
                        help="run the built-in cases beside yours (HARNESS_WITH_BUILTIN_CASES=1)")
    parser.add_argument("--force", action="store_true",
                        help="run what is up to date too (HARNESS_FORCE=1)")
    parser.add_argument("--case-timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="seconds a case may run before it is killed (HARNESS_CASE_TIMEOUT; default 1800)")
    parser.add_argument("--repeat", type=_repeat, default=REPEAT_AUTO, metavar="auto|N",
                        help="runs per variant: auto (a second run only where it tells something: no golden "
                             "values, a difference from them, another machine), 1 (never), 2 (always)")
    parser.add_argument("--envelope", type=_members, default=3, metavar="N",
                        help="round-off members run where a result differs from its golden values (0: none)")
    if not shared:
        parser.add_argument("--results", default=None, metavar="DIR", help="results folder (HARNESS_RESULTS)")
        parser.add_argument("--golden", default=None, metavar="DIR", help="golden values folder (HARNESS_GOLDEN)")


def from_args(args: argparse.Namespace) -> RunOptions:
    """RunOptions from parsed arguments and the HARNESS_* variables (arguments win)."""
    options = RunOptions.from_environment(only=tuple(args.only), repeat=args.repeat, envelope=args.envelope)
    if args.case_timeout is not None:
        options.case_timeout = args.case_timeout
    options.force = options.force or args.force
    options.case_dirs = case_dirs(args)
    results = args.results or config.get("HARNESS_RESULTS")
    if results:
        options.results_dir = os.path.abspath(results)
    golden = args.golden or config.get("HARNESS_GOLDEN")
    if golden:
        options.golden_dir = os.path.abspath(golden)
    return options


def case_dirs(args: argparse.Namespace) -> tuple[str, ...]:
    """The cases folders in effect (absolute): --cases-dir, else HARNESS_CASES_DIR, else the
    built-in cases; with --with-builtin-cases (HARNESS_WITH_BUILTIN_CASES=1) the built-in
    cases come first. Compare uses the same folders to know which cases exist."""
    user_dirs = args.cases_dir or list(config.get("HARNESS_CASES_DIR"))
    if not user_dirs:
        return (config.BUILTIN_CASES,)
    with_builtin = args.with_builtin_cases or config.get("HARNESS_WITH_BUILTIN_CASES")
    return ((config.BUILTIN_CASES,) if with_builtin else ()) + tuple(
        os.path.abspath(os.path.expanduser(d)) for d in user_dirs)


def parse_run_args(argv: list[str]) -> RunOptions:
    """Run options from a session's posargs (compare's options are accepted and left to
    compare); UsageError for a word neither knows.

    A user's cases folder (--cases-dir, repeatable, or HARNESS_CASES_DIR, several
    joined with ':') replaces the built-in cases: someone checking their own model
    wants their verdicts, not ours. --with-builtin-cases (HARNESS_WITH_BUILTIN_CASES=1)
    runs ours too. --force (HARNESS_FORCE=1) re-runs what is up to date."""
    from harness.check import options as compare_options  # the other half of the shared line

    parser = ArgumentParser(prog="nox -s matrix --", add_help=False)
    add_arguments(parser)
    compare_options.add_arguments(parser.add_argument_group("compare (used by the compare step)"), shared=True)
    return from_args(parser.parse_args(argv))


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so one place makes exit codes."""

    def error(self, message: str):  # type: ignore[override]
        """Raise UsageError (exit code 2, one line) instead of printing usage and exiting; an
        unrecognized argument comes with the options it may have meant."""
        if message.startswith("unrecognized arguments: "):
            message += _suggestions(self, message.split(": ", 1)[1].split())
        # The command line prints "tfrepro: " before every error: say only the verb after it.
        prog = self.prog.removeprefix("tfrepro").strip()
        raise UsageError(f"{prog}: {message}" if prog else message)


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every --option of ``parser`` and of its sub-commands."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(o for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _option_strings(sub)
    return found


def _suggestions(parser: argparse.ArgumentParser, words: list[str]) -> str:
    """" (did you mean --fail-on-drift?)" for misspelt options, and where the options are listed."""
    known = sorted(_option_strings(parser))
    close = []
    for word in words:
        if word.startswith("--"):
            close += difflib.get_close_matches(word.split("=", 1)[0], known, n=1, cutoff=0.7)
    hint = f" (did you mean {' '.join(dict.fromkeys(close))}?)" if close else ""
    return hint + "; see --help for the options"


def case_files(folders: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Case name -> module path in ``folders``, by file name (nothing is imported); an
    earlier folder's case wins. UsageError for a folder that does not exist."""
    for folder in folders:
        if not os.path.isdir(folder):
            raise UsageError(f"cases folder {folder} does not exist (--cases-dir / HARNESS_CASES_DIR)")
    return discover(list(folders))


def selected_cases(options: RunOptions) -> dict[str, str]:
    """Case name -> module path for this run; a clear UsageError where that is ambiguous."""
    found = case_files(options.case_dirs)
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
    if not found:
        raise UsageError(f"no case modules (*.py) in {', '.join(options.case_dirs)}")
    unknown = [name for name in options.only if name not in found]
    if unknown:
        raise UsageError(f"no case named {', '.join(unknown)} in {', '.join(options.case_dirs)}")
    return {name: path for name, path in found.items() if not options.only or name in options.only}
