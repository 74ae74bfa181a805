"""The command line: the verbs, and the one place where errors become exit codes.

    tfrepro compare [--fail-on-drift] [--strict-known] [--between A B] [--report DIR]
    tfrepro bless <env...|all> [--case NAME] [--force] [--prune] [--dry-run]
    tfrepro run <env> --python PATH [--case NAME] [--results DIR] [--repeat auto|N]
    tfrepro evidence [--between A B]      (transplants and envelopes for cross-version causes)
    tfrepro list [--json] [--tag TAG]
    tfrepro bisect <case> <package> <good> <bad> [--base ENV] [--tolerance]
    tfrepro init [DIR] [--cases NAME]

(`python -m harness ...` is the same.) Exit codes: 0 pass, 1 regression (golden
drift or broken invariant), 2 usage error, 3 nondeterminism, 4 infrastructure error
(environment unavailable, case crashed, results unwritable), 5 golden values
missing. With several, the first in the order 1, 5, 3, 4. Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

from harness.check import bless, evaluate
from harness.check import options as compare_options
from harness.core.errors import UsageError, exit_code, message
from harness.core.status import EXIT_INFRASTRUCTURE
from harness.matrix import envs
from harness.report import text
from harness.run import options as run_options
from harness.run.options import ArgumentParser

SHARED_GROUP = "options of the {} step (accepted so that one `nox -s matrix -- ...` line serves every session)"


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="tfrepro", description=__doc__.splitlines()[0],
                            epilog="Exit codes: 0 pass, 1 regression, 2 usage error, 3 nondeterminism, "
                                   "4 infrastructure error, 5 golden values missing.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    cmp = sub.add_parser("compare", help="verdicts and the report for the results present")
    compare_options.add_arguments(cmp)
    cmp.add_argument("--evidence", action="store_true", help="gather the evidence first, as `tfrepro evidence` "
                     "does, in the same process (the results are read once; what `nox -s matrix` runs)")
    run_options.add_arguments(cmp.add_argument_group(SHARED_GROUP.format("run")), shared=True)

    bl = sub.add_parser("bless", help="accept results as golden values")
    bl.add_argument("envs", nargs="+", help="environment ids, or 'all'")
    bl.add_argument("--case", action="append", default=[])
    bl.add_argument("--results", default=None, help="results folder (HARNESS_RESULTS)")
    bl.add_argument("--golden", default=None, help="golden values folder (HARNESS_GOLDEN)")
    bl.add_argument("--force", action="store_true", help="bless despite errors, nondeterminism or a single run")
    bl.add_argument("--prune", action="store_true", help="drop golden cases no case produces any more")
    bl.add_argument("--dry-run", action="store_true", help="only show what would change")

    rn = sub.add_parser("run", help="run the cases of one environment with a given interpreter "
                        "(its packages installed from the lock); what tox and CI jobs call")
    rn.add_argument("env")
    rn.add_argument("--python", required=True, help="the environment's interpreter")
    run_options.add_arguments(rn)
    compare_options.add_arguments(rn.add_argument_group(SHARED_GROUP.format("compare")), shared=True)

    ev = sub.add_parser("evidence", help="gather what cross-version differences need for a cause: transplant "
                        "runs and round-off envelopes, in each environment's interpreter (the matrix does this)")
    compare_options.add_arguments(ev)
    run_options.add_arguments(ev.add_argument_group(SHARED_GROUP.format("run")), shared=True)

    from harness.bisect import search

    bs = sub.add_parser("bisect", help="the first release of a package that changes a case "
                        "(exit 0 found, 1 the endpoints agree, 4 an endpoint cannot be tested)")
    search.add_arguments(bs)

    ls = sub.add_parser("list", help="the environments")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--tag", action="append", default=[])

    it = sub.add_parser("init", help="a project of your own: a noxfile, a cases folder with an example case "
                        "and a .gitignore (never overwrites a file)")
    it.add_argument("dir", nargs="?", default=".", help="the project folder (default: the current folder)")
    it.add_argument("--cases", default="cases", metavar="NAME",
                    help="the cases folder's name (default: cases)")
    return parser


def _specs(tags: list[str], env_ids: list[str] | None = None) -> list[envs.EnvSpec]:
    """The environments named by ``env_ids`` (--env: a noxfile's own ``envs=``), else those
    of ``tags`` (else HARNESS_TAGS, as the noxfile's matrix reads it: `HARNESS_TAGS=keras3-sweep
    nox -s matrix` then compares the environments it ran). An unknown id or a tag no
    environment has is a usage error, never an empty, passing selection."""
    env_ids = [e for given in env_ids or [] for e in given.split(",") if e]  # --env a,b as --env a --env b
    if env_ids:
        try:
            return envs.select(ids=env_ids)
        except KeyError as exc:
            raise UsageError(f"{exc.args[0]} (known: {', '.join(s.id for s in envs.all_envs())})") from None
    tags = tags or list(config_tags())
    known = {t for spec in envs.all_envs() for t in spec.tags}
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise UsageError(f"no environment has the tag {', '.join(map(repr, unknown))} "
                         f"(tags: {', '.join(sorted(known))})")
    return envs.select(tags=tags or None)


def config_tags() -> tuple[str, ...]:
    """The tags of HARNESS_TAGS (comma-separated; none when unset)."""
    from harness import config

    return config.get("HARNESS_TAGS")


def cmd_compare(args: argparse.Namespace) -> int:
    """``tfrepro compare``: every verdict for the results present, the summary printed and the
    report written; the evaluation's exit code (4 when the report cannot be written and
    nothing worse happened)."""
    if args.evidence:
        cmd_evidence(args)
    options = compare_options.from_args(args)
    # The cases that exist now, by file (nothing imported): a case without results is missing,
    # results of an edited case are stale. The folders are the run's (--cases-dir, HARNESS_CASES_DIR).
    cases = run_options.case_files(run_options.case_dirs(args))
    ev = evaluate.evaluate(_specs(args.tag, args.env), options, cases)
    print(text.render(ev))
    report = compare_options.report_dir(args)
    if report:
        from harness.report import write_report

        try:
            where = write_report(ev, report)
        except OSError as exc:  # the verdict stands; the report could not be written
            print(f"report: not written: {exc}", file=sys.stderr)
            return ev.exit_code or EXIT_INFRASTRUCTURE
        print(f"report: {where}")
    return ev.exit_code


def cmd_evidence(args: argparse.Namespace) -> int:
    """``tfrepro evidence``: transplants and envelopes for the cross-version comparisons; 0."""
    from harness.run import evidence

    options = compare_options.from_args(args)
    run = run_options.from_args(args)
    started = time.perf_counter()
    said = evidence.gather(_specs(args.tag, args.env),
                           dataclasses.replace(run, results_dir=os.path.abspath(options.results_dir)),
                           options.reference, options.between)
    seconds = time.perf_counter() - started
    # The benchmark reads this line (bench/harness_runs.py): keep its form, "evidence: … in X s".
    if said and said[0].startswith(evidence.NOTHING_TO_GATHER):
        print(f"evidence: results read and checked, nothing run, in {seconds:.1f} s")
    else:
        print(f"evidence: done in {seconds:.1f} s")
    return 0


def cmd_bless(args: argparse.Namespace) -> int:
    """``tfrepro bless``: accept results as golden values, environment by environment, printing
    the plan; 1 when any environment was refused or not written, else 0. UsageError for
    an unknown environment."""
    from harness import config

    results = args.results or config.get("HARNESS_RESULTS") or config.DEFAULT_RESULTS
    golden = args.golden or config.get("HARNESS_GOLDEN") or config.DEFAULT_GOLDEN
    ids = [s.id for s in envs.all_envs()] if args.envs == ["all"] else args.envs
    known_ids = {s.id for s in envs.all_envs()}
    unknown = [i for i in ids if i not in known_ids]
    if unknown:
        raise UsageError(f"unknown environment(s): {', '.join(unknown)}")
    refused = 0
    for env in ids:
        plan = bless.plan(env, results, golden, args.case or None, prune=args.prune)
        if args.envs == ["all"] and plan.document is None and not os.path.exists(
                os.path.join(results, env + ".json")):
            print(f"{env}: no results, skipped")
            continue
        print(f"{env}:")
        for line in plan.changes:
            print(f"  {line}")
        for line in plan.refusals:
            print(f"  refused: {line}")
        if plan.document is None or (plan.refusals and not args.force):
            refused += 1
            print("  not blessed" + (" (use --force to bless anyway)" if plan.document else ""))
            continue
        if args.dry_run:
            print("  dry run: nothing written")
            continue
        try:
            print(f"  blessed -> {bless.write(plan, golden, prune=args.prune)}")
        except OSError as exc:  # a full disk: the previous golden file stays as it was
            refused += 1
            print(f"  not blessed: {exc}")
    return 1 if refused else 0


def cmd_run(args: argparse.Namespace) -> int:
    """``tfrepro run``: run one environment's cases with the given interpreter; 4 when the
    environment is unavailable, else 0. UsageError for an unknown environment."""
    from harness.run import environment

    try:
        spec = envs.by_id(args.env)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    doc = environment.run_environment(spec, args.python, run_options.from_args(args))
    if doc is not None and not doc.ok:
        print(f"{args.env}: environment unavailable: {doc.reason}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``tfrepro list``: the selected environments, one line each or as JSON; 0."""
    specs = _specs(args.tag)
    if args.json:
        print(json.dumps([s.to_json() for s in specs], indent=1))
    else:
        for s in specs:
            print(f"{s.id:<22} python {s.python:<5} {s.lineage:<12} {' '.join(s.requirements)}")
    return 0


def cmd_bisect(args: argparse.Namespace) -> int:
    """``tfrepro bisect``: see harness.bisect.search.run."""
    from harness.bisect import search

    return search.run(args)


def cmd_init(args: argparse.Namespace) -> int:
    """``tfrepro init``: a project folder to start from, and what to do next; 0."""
    from harness import init

    print(init.summary(args.dir, init.init(args.dir, args.cases)))
    return 0


COMMANDS = {"compare": cmd_compare, "bless": cmd_bless, "run": cmd_run, "list": cmd_list, "bisect": cmd_bisect,
            "evidence": cmd_evidence, "init": cmd_init}


def main(argv: list[str] | None = None) -> int:
    """Run one verb; every error the harness can explain becomes its exit code and one
    message on stderr (harness.core.errors), never a traceback."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except SystemExit as exc:  # --help, or argparse's own exit
        return int(exc.code or 0)
    except BaseException as exc:
        code = exit_code(exc)
        if code is None:
            raise
        if not isinstance(exc, KeyboardInterrupt):
            print(message(exc), file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
