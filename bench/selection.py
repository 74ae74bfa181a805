"""What the benchmark runs: its command line, the environments and cases chosen, and the
phases (bench/matrix_bench.py says what each measures)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import tempfile

from harness.matrix import envs
from harness.run import options as run_options

DESCRIPTION = "What the harness costs on this machine, next to the bare framework work."
PHASES = ("floor", "pairs", "first", "cold", "other", "unchanged", "report", "naive", "warm", "full", "scaling")
DEFAULT_PHASES = ("floor", "pairs", "first", "cold", "other", "unchanged", "report", "naive")
KERAS3 = re.compile(r"keras3\.(\d+)$")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=DESCRIPTION)
    parser.add_argument("--envs", default="", help="environment ids, comma-separated (default: the default matrix)")
    parser.add_argument("--cases", default="", help="case names, comma-separated (default: every case)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="environments at once for the harness (default: one per core, as nox -s matrix); "
                             "the floor runs one at a time")
    parser.add_argument("--phases", default=",".join(DEFAULT_PHASES), help=f"some of {','.join(PHASES)}")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "tfrepro-bench"))
    parser.add_argument("--golden-from", default=None, metavar="DIR",
                        help="bless the golden values from these results (made on this machine) instead of the "
                             "first phase's")
    parser.add_argument("--report-results", default=None,
                        help="results for the report and full phases (default: the cold phase's, else results/)")
    parser.add_argument("--points", default="1,2,3", help="environment and case counts for scaling")
    parser.add_argument("--scale-case", default="", help="the case copied for case scaling (default: the first)")
    args = parser.parse_args(argv)
    unknown = set(args.phases.split(",")) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(sorted(unknown))}; choose from {', '.join(PHASES)}")
    if args.jobs < 1:
        parser.error("--jobs: at least 1")
    return args


@dataclasses.dataclass(frozen=True)
class Selection:
    specs: tuple[envs.EnvSpec, ...]
    cases: dict[str, str]  # name -> module path
    full: bool  # every default environment and every case

    @property
    def env_ids(self) -> list[str]:
        return [s.id for s in self.specs]

    def case_args(self) -> list[str]:
        return [] if self.full_cases else [a for c in self.cases for a in ("--case", c)]

    @property
    def full_cases(self) -> bool:
        return set(self.cases) == set(run_options.selected_cases(run_options.RunOptions()))

    @property
    def default_matrix(self) -> bool:
        return self.env_ids == [s.id for s in envs.select(tags=["default"])]


def select(args: argparse.Namespace) -> Selection:
    default = envs.select(tags=["default"])
    ids = [e for e in args.envs.split(",") if e]
    specs = tuple(envs.by_id(e) for e in ids) if ids else tuple(default)
    only = tuple(c for c in args.cases.split(",") if c)
    cases = run_options.selected_cases(run_options.RunOptions(only=only))
    return Selection(specs, cases, full=not ids and not only)


def keras3_minor(spec: envs.EnvSpec) -> int | None:
    """The Keras 3 minor version of a Keras 3 on TensorFlow environment (None: another kind)."""
    match = KERAS3.search(spec.id)
    return int(match.group(1)) if match and spec.backend == "tensorflow" else None
