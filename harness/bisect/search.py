"""Find the first release of a package that changes a case's numbers.

    python -m harness bisect <case> <package> <good> <bad> [--base ENV] [--tolerance]

The released versions from ``good`` to ``bad`` come from the package index; each
candidate is the base environment with that one pin changed (harness.bisect_envs
builds and caches it). The search is a binary search over the ordered releases:
both endpoints are run first, to confirm they differ; a version that cannot be
installed or run is skipped and reported, and the search goes on with its
neighbours, like ``git bisect skip``.

"Differs" means differs from the good version's results. By default that is any
bit (``bitwise``): the cases are seeded and repeatable, so a changed bit is
caused by the changed package, and bisect then names the exact release where the
numbers started to move, with the size of the change so that round-off is
recognisable as such. ``--tolerance`` looks for the first release beyond
tolerance instead, which steps over round-off changes to the first real drift.
Like any bisection this assumes that once the results change they stay changed;
the table of tested versions shows when that was not so.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import os
import sys
from collections.abc import Callable

from harness.bisect import releases
from harness.bisect.candidates import DEFAULT_CACHE, Attempt, Workspace
from harness.check.divergence import Divergence
from harness.check.packages import package_changes
from harness.check.verdicts import compare_case, explain
from harness.core.documents.results import Results
from harness.core.status import EXIT_USAGE, Status
from harness.matrix import envs
from harness.run.options import UsageError, parse_run_args

SUMMARY_CHARS = 160  # per tested version in the final table; the progress lines carry the whole text
EXIT_FOUND = 0
EXIT_NO_CHANGE = 1  # the endpoints agree: nothing to bisect
EXIT_ENDPOINT_FAILED = 4  # an endpoint could not be built or run (an infrastructure error, as in compare)


class Mark(str, enum.Enum):
    GOOD = "good"  # the reference: the good endpoint itself
    SAME = "same"  # agrees with the good version
    CHANGED = "changed"
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class Trial:
    """One tested version, in the order tested."""

    version: str
    mark: Mark
    status: Status | None = None  # against the good version
    summary: str = ""  # the biggest difference, or why it was skipped
    cached: bool = False


@dataclasses.dataclass(frozen=True)
class Outcome:
    package: str
    case: str
    versions: tuple[str, ...]  # good ... bad, in order
    trials: tuple[Trial, ...]
    threshold: Status  # CLOSE: any bit; DRIFT: beyond tolerance
    last_same: str | None = None
    first_changed: str | None = None
    untested_between: tuple[str, ...] = ()  # skipped versions between them: the change is in one of those too
    status: Status | None = None  # first_changed against good
    change: str = ""  # its biggest difference
    divergence: Divergence | None = None
    packages: tuple[str, ...] = ()  # what else changed between last_same and first_changed
    problem: str = ""  # why no answer
    endpoint_failed: bool = False

    @property
    def exit_code(self) -> int:
        """EXIT_FOUND (0) with an answer, EXIT_ENDPOINT_FAILED (4) when an endpoint could not be
        run, else EXIT_NO_CHANGE (1)."""
        if self.first_changed:
            return EXIT_FOUND
        return EXIT_ENDPOINT_FAILED if self.endpoint_failed else EXIT_NO_CHANGE


def judge(good: Results, attempt: Attempt, case: str, threshold: Status) -> Trial:
    """Compare one attempt with the good version's results."""
    if attempt.skipped or attempt.document is None:
        return Trial(attempt.version, Mark.SKIPPED, summary=attempt.skipped or "no results", cached=attempt.cached)
    status, per_variant = compare_case(good, attempt.document, case)
    text = explain(good, attempt.document, case, per_variant, status).describe(limit=1)
    mark = Mark.CHANGED if status.rank >= threshold.rank else Mark.SAME
    return Trial(attempt.version, mark, status, text, attempt.cached)


def search(versions: list[str], run: Callable[[str], Attempt], case: str, threshold: Status = Status.CLOSE,
           package: str = "", progress: Callable[[str], None] = print) -> Outcome:
    """Binary search for the first of ``versions`` (good first, bad last) whose
    results differ from the first one's; ``run`` builds and runs one version."""
    trials: list[Trial] = []
    attempts: dict[str, Attempt] = {}
    start = Outcome(package, case, tuple(versions), (), threshold)

    def record(trial: Trial) -> Trial:
        trials.append(trial)
        if trial.mark == Mark.GOOD:
            detail = " (the reference)"
        else:
            detail = f" ({trial.status.value}: {trial.summary})" if trial.status else f": {trial.summary}"
        progress(f"{package} {trial.version}: {trial.mark.value}{detail}")
        return trial

    def stop(problem: str, endpoint_failed: bool = False) -> Outcome:
        return dataclasses.replace(start, trials=tuple(trials), problem=problem, endpoint_failed=endpoint_failed)

    good = run(versions[0])
    attempts[good.version] = good
    if good.skipped or good.document is None:
        record(Trial(good.version, Mark.SKIPPED, summary=good.skipped or "no results", cached=good.cached))
        return stop(f"the good version {good.version} could not be tested: {good.skipped}", True)
    reference = good.document
    record(Trial(good.version, Mark.GOOD, cached=good.cached))

    def classify(index: int) -> Trial:
        attempt = run(versions[index])
        attempts[attempt.version] = attempt
        return record(judge(reference, attempt, case, threshold))

    last = classify(len(versions) - 1)
    if last.mark == Mark.SKIPPED:
        return stop(f"the bad version {last.version} could not be tested: {last.summary}", True)
    if last.mark == Mark.SAME:
        if threshold == Status.CLOSE:
            return stop(f"{versions[0]} and {versions[-1]} agree bit for bit: nothing to bisect")
        return stop(f"{versions[0]} and {versions[-1]} agree within tolerance: nothing to "
                    "bisect; without --tolerance, bisect looks for the first changed bit")

    low, high, skipped = 0, len(versions) - 1, set()
    while True:
        inside = [i for i in range(low + 1, high) if i not in skipped]
        if not inside:
            break
        middle = (low + high) / 2
        index = min(inside, key=lambda i: (abs(i - middle), i))  # nearest the middle; skips move outwards
        trial = classify(index)
        if trial.mark == Mark.SKIPPED:
            skipped.add(index)
        elif trial.mark == Mark.SAME:
            low = index
        else:
            high = index
    return _found(start, trials, attempts, low, high)


def _found(start: Outcome, trials: list[Trial], attempts: dict[str, Attempt], low: int, high: int) -> Outcome:
    versions, case = start.versions, start.case
    good, before, after = (attempts[versions[i]].document for i in (0, low, high))
    assert good is not None and before is not None and after is not None  # marked SAME/CHANGED: they ran
    status, per_variant = compare_case(good, after, case)
    explanation = explain(good, after, case, per_variant, status)
    change, divergence = explanation.describe(limit=2), explanation.divergence
    if divergence is None:
        divergence = Divergence("none")
    return dataclasses.replace(
        start, trials=tuple(trials), last_same=versions[low], first_changed=versions[high],
        untested_between=tuple(versions[low + 1:high]), status=status, change=change, divergence=divergence,
        packages=tuple(package_changes(before.fingerprint, after.fingerprint)),
    )


def render(outcome: Outcome, base_env: str) -> str:
    """The bisect's report as text: one line per release tried (in version order), then the
    first changed release with its size, where the runs part and the other package changes,
    or why there is no answer."""
    mode = "bitwise" if outcome.threshold == Status.CLOSE else "beyond tolerance"
    title = (f"bisect {outcome.case}: {outcome.package} {outcome.versions[0]} (good) .. "
             f"{outcome.versions[-1]} (bad) on {base_env}, {len(outcome.versions)} releases, {mode}")
    lines = [title]
    order = {v: i for i, v in enumerate(outcome.versions)}
    for t in sorted(outcome.trials, key=lambda t: order[t.version]):
        state = t.mark.value + (f" ({t.status.value})" if t.status else "")
        note = " [cached]" if t.cached else ""
        summary = t.summary or ("the reference" if t.mark == Mark.GOOD else "")
        summary = summary if len(summary) <= SUMMARY_CHARS else summary[: SUMMARY_CHARS - 3] + "..."
        lines.append(f"  {t.version:<12} {state:<18}{summary}{note}")
    if not outcome.first_changed:
        lines.append(f"no answer: {outcome.problem}")
        return "\n".join(lines)
    lines.append(f"FIRST CHANGED: {outcome.package} {outcome.first_changed} "
                 f"(last same: {outcome.last_same}; {outcome.status.value if outcome.status else ''} "
                 f"against {outcome.versions[0]})")
    if outcome.untested_between:
        lines.append(f"  or one of {', '.join(outcome.untested_between)}, which could not be tested")
    lines.append(f"  size: {outcome.change}")
    if outcome.divergence:
        lines.append(f"  where: {outcome.divergence.describe()}")
    if outcome.packages:
        lines.append(f"  packages {outcome.last_same} -> {outcome.first_changed}: {', '.join(outcome.packages)}")
    return "\n".join(lines)


# -- the command line --------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``tfrepro bisect`` arguments: case, package, good and bad versions, and options."""
    parser.add_argument("case", help="the case to run (a module in cases/)")
    parser.add_argument("package", help="the package whose releases are bisected (keras, tensorflow-cpu, numpy ...)")
    parser.add_argument("good", help="a version with the old results")
    parser.add_argument("bad", help="a version with the new results")
    parser.add_argument("--base", help="environment whose other pins, Python and flavour candidates share "
                        "(default: the one pinning the package to the bad, else the good version)")
    parser.add_argument("--tolerance", action="store_true",
                        help="find the first release beyond tolerance (default: the first changed bit)")
    parser.add_argument("--pre", action="store_true", help="include pre-releases between the endpoints")
    # One run per variant: the matrix already checks that the good and bad environments are
    # repeatable, and a bisect builds and runs up to log2(n) + 2 of them.
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant (2 also checks determinism)")
    parser.add_argument("--case-timeout", type=float, default=None)
    parser.add_argument("--cases-dir", action="append", default=[],
                        help="your cases folder, as for the matrix (HARNESS_CASES_DIR)")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="folder for candidate envs, locks and results")
    parser.add_argument("--force", action="store_true", help="run again where cached results still hold")


def default_base(package: str, good: str, bad: str) -> envs.EnvSpec:
    """The default-matrix environment that pins ``package`` to the bad, else the good version."""
    for version in (bad, good):
        for spec in envs.select():
            if spec.pin(package) == version:
                return spec
    raise KeyError(f"no default environment pins {package} to {bad} or {good}; name one with --base")


def run(args: argparse.Namespace, fetch: Callable[[str], list[releases.Release]] = releases.fetch_releases) -> int:
    """``tfrepro bisect``: pick the releases between good and bad, search them (building one
    environment per release tried), print the report; its exit code, or EXIT_USAGE (2)
    for an unknown environment or case, or releases that cannot be looked up."""
    try:
        base = envs.by_id(args.base) if args.base else default_base(args.package, args.good, args.bad)
        chosen = releases.between(fetch(args.package), args.good, args.bad, prereleases=args.pre)
    except (KeyError, releases.ReleaseLookupError) as exc:
        print(f"bisect: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    # The cases folders follow the matrix's rules (a folder of yours replaces the built-in cases).
    run_options = parse_run_args([f"--cases-dir={d}" for d in args.cases_dir])
    timeout = {} if args.case_timeout is None else {"case_timeout": args.case_timeout}
    workspace = Workspace(base=base, package=args.package, case=args.case, cache=os.path.abspath(args.cache),
                          case_dirs=run_options.case_dirs, repeat=args.repeat, force=args.force, **timeout)
    try:
        workspace.case_digest()
    except (KeyError, UsageError) as exc:
        print(f"bisect: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    by_version = {r.version: r for r in chosen}
    print(f"bisect: {len(chosen)} releases of {args.package} from {args.good} to {args.bad}: "
          f"{' '.join(by_version)}")
    threshold = Status.DRIFT if args.tolerance else Status.CLOSE
    outcome = search(list(by_version), lambda v: workspace.attempt(by_version[v]), args.case, threshold,
                     package=args.package)
    print(render(outcome, base.id))
    return outcome.exit_code
