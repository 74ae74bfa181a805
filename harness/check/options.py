"""The options of the comparison step (`python -m harness compare`, the compare session)."""

from __future__ import annotations

import argparse
import dataclasses
import os

from harness import config
from harness.matrix import envs


@dataclasses.dataclass(frozen=True)
class Options:
    results_dir: str = config.DEFAULT_RESULTS
    golden_dir: str = config.DEFAULT_GOLDEN
    known_failures: str = config.DEFAULT_KNOWN_FAILURES
    reference: str = envs.REFERENCE_ENV
    fail_on_drift: bool = False
    strict_known: bool = False
    strict_claims: bool = False
    between: tuple[str, str] | None = None  # compare these two environments (any lineages)
    only: tuple[str, ...] = ()  # --case: a case outside these without results is not asked for, not missing


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, shared: bool = False) -> None:
    """Compare's options; ``shared`` leaves out those the run defines too (--results, --golden)."""
    if not shared:
        parser.add_argument("--results", default=None, metavar="DIR", help="results folder (HARNESS_RESULTS)")
        parser.add_argument("--golden", default=None, metavar="DIR", help="golden values folder (HARNESS_GOLDEN)")
    parser.add_argument("--known-failures", default=None, metavar="FILE",
                        help=f"the reviewed known failures (default {config.DEFAULT_KNOWN_FAILURES})")
    parser.add_argument("--reference", default=envs.REFERENCE_ENV, metavar="ENV",
                        help=f"the environment every other one is also compared with (default {envs.REFERENCE_ENV})")
    parser.add_argument("--report", default=None, metavar="DIR", help="report folder ('' for none; HARNESS_REPORT)")
    parser.add_argument("--tag", action="append", default=[], help="environments by tag (HARNESS_TAGS)")
    parser.add_argument("--env", action="append", default=[], metavar="ID",
                        help="only this environment (repeatable, or comma-separated; before --tag)")
    parser.add_argument("--between", nargs=2, default=None, metavar=("A", "B"),
                        help="also compare environment A with environment B, whatever their lineages")
    parser.add_argument("--fail-on-drift", action="store_true", help="cross-version drift fails the run")
    parser.add_argument("--strict-known", action="store_true", help="a fixed known failure fails the run")
    parser.add_argument("--strict-claims", action="store_true", help="a claim that does not hold fails the run")


def from_args(args: argparse.Namespace) -> Options:
    """The compare options from parsed arguments; a folder not given comes from HARNESS_RESULTS
    or HARNESS_GOLDEN, else the project's default, and the known failures from the
    project's file, else the tool's built-in one."""
    known = args.known_failures or config.DEFAULT_KNOWN_FAILURES
    if not args.known_failures and not os.path.exists(known):
        known = config.BUILTIN_KNOWN_FAILURES
    return Options(
        results_dir=args.results or config.get("HARNESS_RESULTS") or config.DEFAULT_RESULTS,
        golden_dir=args.golden or config.get("HARNESS_GOLDEN") or config.DEFAULT_GOLDEN,
        known_failures=known, reference=args.reference, fail_on_drift=args.fail_on_drift,
        strict_known=args.strict_known, strict_claims=args.strict_claims,
        between=tuple(args.between) if args.between else None, only=tuple(getattr(args, "only", None) or ()),
    )


def report_dir(args: argparse.Namespace) -> str:
    """Where the report goes: --report, else HARNESS_REPORT, else report/ ('' writes none)."""
    if args.report is not None:
        return args.report
    value = config.get("HARNESS_REPORT")
    return config.DEFAULT_REPORT if value is None else value
