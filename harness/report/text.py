"""The text summary printed at the end of a run: grouped, one sentence per item.

Reading order: the golden grid; the causes several verdicts share (one item each,
round-off passes included, so a machine difference is named once); the flagged
verdicts by outcome (each pointing at its shared cause); notes; the claims (a mark
per environment); the drift map (a mark per cross-version comparison and case for
its classification, then each changed case with its sentence); the comparison with
the reference environment; the verdict line."""

from __future__ import annotations

from harness.check.evaluate import Evaluation
from harness.check.verdicts import Verdict
from harness.core.status import Check, Outcome, Status
from harness.report import derive

SECTIONS = (
    (Outcome.REGRESSION, "REGRESSIONS (golden drift, broken invariants)"),
    (Outcome.MISSING, "MISSING GOLDEN VALUES"),
    (Outcome.NONDETERMINISTIC, "NONDETERMINISM"),
    (Outcome.ERROR, "ERRORS (environments unavailable, cases that raised, hung or crashed)"),
    (Outcome.KNOWN, "KNOWN FAILURES (listed in known_failures.toml; do not fail the run)"),
    (Outcome.FIXED, "FIXED KNOWN FAILURES (listed, but passing now)"),
    (Outcome.STALE, "STALE KNOWN-FAILURE ENTRIES"),
)

MARK = derive.STATUS_MARK
# More environments not run than this (a run of a few of the matrix's) are one line in the
# grid and one note, not a row and a note each: the summary stays about what ran.
NOT_RUN_ROWS = 3
CLAIM_MARK = {"holds": "+", "fails": "x", "unmeasured": "."}


def _numbered(cases: list[str]) -> str:
    return "  ".join(f"{i + 1}={c}" for i, c in enumerate(cases))


def not_run(ev: Evaluation) -> list[str]:
    """The environments selected but not run (no results), in the grid's order, when
    there are more than NOT_RUN_ROWS of them (else none: each keeps its row and note)."""
    absent = [v.env for v in ev.verdicts if v.check == Check.ENVIRONMENT and v.status == Status.MISSING]
    return absent if len(absent) > NOT_RUN_ROWS else []


def _not_run_line(ev: Evaluation, absent: list[str]) -> str:
    return (f"not run: {derive.plural(len(absent), 'environment')}: "
            f"{derive.env_spans(absent, [s.id for s in ev.specs])} (`nox -s matrix` runs every one, "
            f"`nox -s \"matrix(ID)\"` one of them)")


def golden_grid(ev: Evaluation) -> list[str]:
    """The golden comparison as a text grid: a column per case (numbered), a row per
    environment, a mark per verdict, and the legend. Many environments not run are one
    line under the rows (see NOT_RUN_ROWS)."""
    cases = ev.cases
    absent_in_order = not_run(ev)
    absent = set(absent_in_order)
    width = max([len(s.id) for s in ev.specs if s.id not in absent] + [11])
    lines = ["golden: " + _numbered(cases),
             f"{'environment':<{width}}  " + "  ".join(f"{i + 1:>2}" for i in range(len(cases)))]
    index = {(v.env, v.case): v for v in ev.verdicts if v.check == Check.GOLDEN}
    env_level = {v.env: v for v in ev.verdicts if v.check == Check.ENVIRONMENT}
    for spec in ev.specs:
        if spec.id in absent:
            continue
        if spec.id in env_level:
            status = env_level[spec.id].status
            lines.append(f"{spec.id:<{width}}  {'not run' if status == Status.MISSING else status.value}")
            continue
        cells = []
        for case in cases:
            v = index.get((spec.id, case))
            cells.append(f"{MARK[v.status] if v else '-':>2}")
        lines.append(f"{spec.id:<{width}}  " + "  ".join(cells))
    if absent:
        lines.append(_not_run_line(ev, absent_in_order))
    lines.append("  = identical  ~ close (bits differ, within tolerance)  r round-off (bits moved by a machine "
                 "difference, explained by round-off)  D drift  ? missing  E error")
    return lines


def cause_lines(groups: tuple[derive.CauseGroup, ...]) -> list[str]:
    """One item per cause that several verdicts share (or that holds round-off passes)."""
    shown = [g for g in groups if g.shown and not g.drift]
    if not shown:
        return []
    total = sum(len(g.verdicts) for g in shown)
    out = ["", (f"SHARED CAUSES (verdicts with one cause, one item each): {derive.plural(len(shown), 'cause')}, "
               f"{derive.plural(total, 'verdict')}")]
    for g in shown:
        out.append(f"  #{g.index + 1} {g.summary} ({g.outcome_words})")
        out.append(f"      cause: {g.words}")
        if len(g.envs) > 1:
            out.append(f"      environments: {g.env_list}")
    return out


def _shared(v: Verdict, by_key: dict[str, derive.CauseGroup]) -> str:
    key = (v.cause or {}).get("key") if isinstance(v.cause, dict) else None
    group = by_key.get(str(key)) if key else None
    if group is None or not group.shown:
        return ""
    return f"      shared cause #{group.index + 1}: {group.headline} ({group.words})"


def drift_map_lines(ev: Evaluation, rows: tuple[derive.EdgeRow, ...]) -> list[str]:
    """The CROSS-VERSION DRIFT part: a mark per edge and case, then the changed cases
    of each edge with their sentence."""
    if not rows:
        return []
    cases = ev.cases
    changed = sum(len(r.changed) for r in rows)
    width = max(len(r.label) for r in rows)
    out = ["", (f"CROSS-VERSION DRIFT (information; --fail-on-drift makes it fail): "
               f"{derive.plural(len(rows), 'comparison')}, {changed} changed case(s)"),
           "drift map: " + _numbered(cases),
           f"{'':<9} {'comparison':<{width}}  " + "  ".join(f"{i + 1:>2}" for i in range(len(cases)))]
    for r in rows:
        out.append(f"{r.check_word:<9} {r.label:<{width}}  " + "  ".join(f"{r.mark(c):>2}" for c in cases))
    out.append("  " + "  ".join(f"{m} {w}" for m, w in derive.DRIFT_MARKS.items()))
    for r in rows:
        if not r.changed:
            continue
        out.append("")
        out.append(f"  {r.headline}: {r.tally}")
        if r.packages:
            out.append(f"      packages: {', '.join(r.packages)}")
        for v in r.changed:
            out.append(f"    {derive.drift_mark(v)} {v.case}: {derive.edge_sentence(v)}")
    return out


def reference_lines(ev: Evaluation, rows: tuple[derive.EdgeRow, ...]) -> list[str]:
    """Each environment against the reference: one row of status marks per environment."""
    if not rows:
        return []
    cases = ev.cases
    reference = rows[0].before
    width = max([len(r.after) for r in rows] + [11])
    beyond = sum(1 for r in rows for v in r.changed if v.status == Status.DRIFT)
    out = ["", (f"REFERENCE DRIFT (against {reference}; information): {beyond} of "
               f"{sum(len(r.verdicts) for r in rows)} comparisons beyond tolerance"),
           f"{'environment':<{width}}  " + "  ".join(f"{i + 1:>2}" for i in range(len(cases)))]
    out += [f"{r.after:<{width}}  " + "  ".join(f"{r.mark(c):>2}" for c in cases) for r in rows]
    out.append("  " + "  ".join(f"{m} {w}" for m, w in derive.REFERENCE_MARKS.items()))
    return out


def claim_lines(ev: Evaluation, rows: tuple[derive.ClaimRow, ...]) -> list[str]:
    """Per claim, a mark per environment in the grid's order (a space between lineages),
    then where it does not hold."""
    if not rows:
        return []
    ran = [s for s in ev.specs if s.id in ev.results]
    out = ["", (f"CLAIMS (information; --strict-claims makes them fail): {len(rows)}; one mark per environment "
               "with results, in the grid's order, lineages apart: + holds  x does not hold  . cannot be "
               "measured  - not run there")]
    for row in rows:
        state_of = {env: state for env, state, _ in row.per_env}
        strip, previous = [], None
        for spec in ran:
            if previous is not None and spec.lineage != previous:
                strip.append(" ")
            previous = spec.lineage
            strip.append(CLAIM_MARK[state_of[spec.id]] if spec.id in state_of else "-")
        fails = row.envs_where("fails")
        holds = len(row.envs_where("holds"))
        where = f"; does not hold in {derive.env_span(fails, [s.id for s in ev.specs])}" if fails else ""
        out.append(f"  {''.join(strip)}  {row.case}: {row.text} ({holds}/{len(row.per_env)} hold{where})")
    return out


def render(ev: Evaluation) -> str:
    """The terminal summary: problems, the golden grid, shared causes, each flagged outcome
    with its verdicts, notes, claims, the drift map, the reference, and the verdict line."""
    groups = derive.cause_groups(ev)
    by_key = {g.key: g for g in groups}
    out = []
    for problem in ev.problems:
        out.append(f"! {problem}")
    out += golden_grid(ev)
    out += cause_lines(groups)
    for outcome, title in SECTIONS:
        items = ev.by_outcome(outcome)
        if not items:
            continue
        out.append("")
        out.append(f"{title}: {len(items)}")
        for v in items:
            variant = f"/{v.variant}" if v.variant else ""
            out.append(f"  [{v.env}] {v.case}{variant} {v.check_id}: {v.message}")
            shared = _shared(v, by_key)
            if shared:
                out.append(shared)
    absent = not_run(ev)
    notes = [v for v in ev.verdicts if v.outcome == Outcome.INFO and v.check in (Check.GOLDEN, Check.ENVIRONMENT)
             and not (v.check == Check.ENVIRONMENT and v.env in absent)]
    if notes:  # the environments not run are the grid's last line (see NOT_RUN_ROWS)
        out.append("")
        out.append(f"NOTES: {len(notes)}")
        out += [f"  [{v.env}] {v.case} {v.check_id}: {v.message}" for v in notes]
    out += claim_lines(ev, derive.claims(ev))
    out += drift_map_lines(ev, derive.drift_map(ev))
    out += reference_lines(ev, derive.reference_map(ev))
    out.append("")
    counts = {o: len(ev.by_outcome(o)) for o in Outcome}
    out.append("verdict: " + verdict_line(ev) + "  (" + ", ".join(f"{n} {o.value}" for o, n in counts.items() if n) + ")")
    return "\n".join(out)


def verdict_line(ev: Evaluation) -> str:
    """"PASS: no regression", "FAIL: regression", … for the evaluation's exit code."""
    code = ev.exit_code
    return {
        0: "PASS: no regression",
        1: "FAIL: regression",
        5: "FAIL: golden values missing",
        3: "FAIL: nondeterminism",
        4: "FAIL: infrastructure errors",
    }.get(code, f"exit {code}")
