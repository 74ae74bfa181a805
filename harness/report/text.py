"""The text summary printed at the end of a run: grouped, one sentence per item."""

from __future__ import annotations

from harness.check.evaluate import Evaluation
from harness.core.status import Check, Outcome, Status

SECTIONS = (
    (Outcome.REGRESSION, "REGRESSIONS (golden drift, broken invariants)"),
    (Outcome.MISSING, "MISSING GOLDEN VALUES"),
    (Outcome.NONDETERMINISTIC, "NONDETERMINISM"),
    (Outcome.ERROR, "ERRORS (environments unavailable, cases that raised, hung or crashed)"),
    (Outcome.KNOWN, "KNOWN FAILURES (listed in known_failures.toml; do not fail the run)"),
    (Outcome.FIXED, "FIXED KNOWN FAILURES (listed, but passing now)"),
    (Outcome.STALE, "STALE KNOWN-FAILURE ENTRIES"),
)

MARK = {Status.IDENTICAL: "=", Status.CLOSE: "~", Status.ROUNDOFF: "r", Status.DRIFT: "D", Status.MISSING: "?",
        Status.ERROR: "E", Status.NONDETERMINISTIC: "N", Status.UNAVAILABLE: "U"}


def golden_grid(ev: Evaluation) -> list[str]:
    cases = ev.cases
    width = max([len(s.id) for s in ev.specs] + [11])
    lines = ["golden: " + "  ".join(f"{i + 1}={c}" for i, c in enumerate(cases)),
             f"{'environment':<{width}}  " + "  ".join(f"{i + 1:>2}" for i in range(len(cases)))]
    index = {(v.env, v.case): v for v in ev.verdicts if v.check == Check.GOLDEN}
    env_level = {v.env: v for v in ev.verdicts if v.check == Check.ENVIRONMENT}
    for spec in ev.specs:
        if spec.id in env_level:
            status = env_level[spec.id].status
            lines.append(f"{spec.id:<{width}}  {'not run' if status == Status.MISSING else status.value}")
            continue
        cells = []
        for case in cases:
            v = index.get((spec.id, case))
            cells.append(f"{MARK[v.status] if v else '-':>2}")
        lines.append(f"{spec.id:<{width}}  " + "  ".join(cells))
    lines.append("  = identical  ~ close (bits differ, within tolerance)  r round-off (another machine)  D drift  "
                 "? missing  E error")
    return lines


def drift_lines(ev: Evaluation) -> list[str]:
    lines = []
    for v in ev.verdicts:
        if v.check == Check.DRIFT_PREVIOUS and v.status not in (Status.IDENTICAL,):
            lines.append(f"  {v.env} vs {v.against} [{v.case}] {v.status.value}: {v.message}")
            if v.packages:
                lines.append(f"      packages: {', '.join(v.packages)}")
    return lines


def render(ev: Evaluation) -> str:
    out = []
    for problem in ev.problems:
        out.append(f"! {problem}")
    out += golden_grid(ev)
    for outcome, title in SECTIONS:
        items = ev.by_outcome(outcome)
        if not items:
            continue
        out.append("")
        out.append(f"{title}: {len(items)}")
        for v in items:
            variant = f"/{v.variant}" if v.variant else ""
            out.append(f"  [{v.env}] {v.case}{variant} {v.check_id}: {v.message}")
    notes = [v for v in ev.verdicts if v.outcome == Outcome.INFO and v.check in (Check.GOLDEN, Check.ENVIRONMENT)]
    if notes:
        out.append("")
        out.append(f"NOTES: {len(notes)}")
        out += [f"  [{v.env}] {v.case} {v.check_id}: {v.message}" for v in notes]
    drift = drift_lines(ev)
    if drift:
        out.append("")
        out.append(f"CROSS-VERSION DRIFT (information; --fail-on-drift makes it fail): {len(drift)} lines")
        out += drift
    out.append("")
    counts = {o: len(ev.by_outcome(o)) for o in Outcome}
    out.append("verdict: " + verdict_line(ev) + "  (" + ", ".join(f"{n} {o.value}" for o, n in counts.items() if n) + ")")
    return "\n".join(out)


def verdict_line(ev: Evaluation) -> str:
    code = ev.exit_code
    return {
        0: "PASS: no regression",
        1: "FAIL: regression",
        5: "FAIL: golden values missing",
        3: "FAIL: nondeterminism",
        4: "FAIL: infrastructure errors",
    }.get(code, f"exit {code}")
