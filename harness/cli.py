"""The harness's command line: compare, bless, list.

    python -m harness compare [--fail-on-drift] [--strict-known] [--report DIR]
    python -m harness bless <env...|all> [--case NAME] [--force] [--prune] [--dry-run]
    python -m harness list [--json] [--tag TAG]
    python -m harness run <env> --python PATH [--case NAME] [--results DIR]
    python -m harness bisect <case> <package> <good> <bad> [--base ENV] [--tolerance]

Exit codes: 0 pass, 1 regression (golden drift or broken invariant), 2 usage
error, 3 nondeterminism, 4 infrastructure error (environment unavailable, case
crashed), 5 golden values missing. With several, the first in the order 1, 5, 3, 4.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from harness.check import bless, evaluate
from harness.core import store
from harness.core.status import EXIT_INFRASTRUCTURE, EXIT_USAGE
from harness.matrix import envs
from harness.report import text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    cmp = sub.add_parser("compare", help="verdicts for the results present")
    cmp.add_argument("--results", default=os.environ.get("HARNESS_RESULTS", "results"))
    cmp.add_argument("--golden", default=os.environ.get("HARNESS_GOLDEN", "golden"))
    cmp.add_argument("--known-failures", default="known_failures.toml")
    cmp.add_argument("--reference", default=envs.REFERENCE_ENV)
    cmp.add_argument("--report", default=os.environ.get("HARNESS_REPORT", "report"),
                     help="folder for the report ('' for none)")
    cmp.add_argument("--tag", action="append", default=[])
    cmp.add_argument("--fail-on-drift", action="store_true", help="cross-version drift fails the run")
    cmp.add_argument("--strict-known", action="store_true", help="a fixed known failure fails the run")
    cmp.add_argument("--strict-claims", action="store_true", help="a claim that does not hold fails the run")

    bl = sub.add_parser("bless", help="accept results as golden values")
    bl.add_argument("envs", nargs="+", help="environment ids, or 'all'")
    bl.add_argument("--case", action="append", default=[])
    bl.add_argument("--results", default=os.environ.get("HARNESS_RESULTS", "results"))
    bl.add_argument("--golden", default=os.environ.get("HARNESS_GOLDEN", "golden"))
    bl.add_argument("--force", action="store_true", help="bless despite errors or nondeterminism")
    bl.add_argument("--prune", action="store_true", help="drop golden cases no case produces any more")
    bl.add_argument("--dry-run", action="store_true", help="only show what would change")

    rn = sub.add_parser("run", help="run the cases of one environment with a given interpreter "
                        "(its packages installed from the lock); what tox and CI jobs call")
    rn.add_argument("env")
    rn.add_argument("--python", required=True, help="the environment's interpreter")

    from harness.bisect import search

    bs = sub.add_parser("bisect", help="the first release of a package that changes a case "
                        "(exit 0 found, 1 the endpoints agree, 4 an endpoint cannot be tested)")
    search.add_arguments(bs)

    ls = sub.add_parser("list", help="the environments")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--tag", action="append", default=[])
    return parser


def _specs(tags: list[str]) -> list[envs.EnvSpec]:
    # Without --tag, HARNESS_TAGS picks the set, as it does for the noxfile's matrix:
    # `HARNESS_TAGS=keras3-sweep nox -s matrix` then compares the environments it ran.
    tags = tags or [t for t in os.environ.get("HARNESS_TAGS", "").split(",") if t]
    return envs.select(tags=tags or None)


def cmd_compare(args) -> int:
    # The known run options of `nox -s matrix -- ...` arrive here too; ignore them.
    options = evaluate.Options(
        results_dir=args.results, golden_dir=args.golden, known_failures=args.known_failures,
        reference=args.reference, fail_on_drift=args.fail_on_drift, strict_known=args.strict_known,
        strict_claims=args.strict_claims,
    )
    ev = evaluate.evaluate(_specs(args.tag), options)
    print(text.render(ev))
    if args.report:
        from harness.report import write_report

        where = write_report(ev, args.report)
        print(f"report: {where}")
    return ev.exit_code


def cmd_bless(args) -> int:
    ids = [s.id for s in envs.all_envs()] if args.envs == ["all"] else args.envs
    known_ids = {s.id for s in envs.all_envs()}
    unknown = [i for i in ids if i not in known_ids]
    if unknown:
        print(f"unknown environment(s): {', '.join(unknown)}", file=sys.stderr)
        return EXIT_USAGE
    refused = 0
    for env in ids:
        plan = bless.plan(env, args.results, args.golden, args.case or None, prune=args.prune)
        if args.envs == ["all"] and plan.document is None and not os.path.exists(
                os.path.join(args.results, env + ".json")):
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
            print(f"  blessed -> {bless.write(plan, args.golden, prune=args.prune)}")
        except OSError as exc:  # a full disk: the previous golden file stays as it was
            refused += 1
            print(f"  not blessed: {exc}")
    return 1 if refused else 0


def cmd_run(args, extra: list[str]) -> int:
    from harness.run import environment, options
    try:
        spec = envs.by_id(args.env)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return EXIT_USAGE
    try:
        doc = environment.run_environment(spec, args.python, options.parse_run_args(extra))
    except options.UsageError as exc:  # a cases folder that is missing, empty or ambiguous
        print(f"{args.env}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except store.Busy as exc:
        print(f"{args.env}: {exc}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    except OSError as exc:  # the results could not be written (a full disk, a read-only folder)
        print(f"{args.env}: {exc}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    if doc is not None and not doc.ok:
        print(f"{args.env}: environment unavailable: {doc.reason}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    return 0


def cmd_list(args) -> int:
    specs = _specs(args.tag)
    if args.json:
        print(json.dumps([s.to_json() for s in specs], indent=1))
    else:
        for s in specs:
            print(f"{s.id:<22} python {s.python:<5} {s.lineage:<12} {' '.join(s.requirements)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    extra: list[str] = []
    if argv and argv[0] in ("compare", "run"):
        args, extra = parser.parse_known_args(argv)
    else:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            return int(exc.code or 0) and EXIT_USAGE
    try:
        if args.command == "run":
            return cmd_run(args, extra)
        if args.command == "bisect":
            from harness.bisect import search

            return search.run(args)
        return {"compare": cmd_compare, "bless": cmd_bless, "list": cmd_list}[args.command](args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
