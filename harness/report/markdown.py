"""report.md: the verdicts as GitHub-flavoured Markdown tables, small enough for a CI
job summary or a pull-request comment (no images; long lists are cut with a count).

Every string from results, case names or package strings goes through
``escape.md_cell``: pipes, backticks, emphasis and HTML are shown, never obeyed.
"""

from __future__ import annotations

from harness.core.status import Outcome
from harness.report import derive, model
from harness.report.escape import md_cell
from harness.report.model import ReportModel

MAX_ITEMS = 40  # flagged rows, and changed cases of the drift map; the rest are counted (index.html and
# summary.json have them all)
MESSAGE_LIMIT = 320  # characters of one cause or comparison sentence (there can be hundreds)
# A flagged item's whole explanation: where, how much and what changed since blessing come
# last, and a cut lost them. The list is short; the job summary's 1 MiB still holds hundreds.
FLAGGED_LIMIT = 3000
# A cell is the golden mark plus what it does not say already (the mark `?` says "missing").
STATE_WORDS = {"regression": "❌", "error": "💥", "nondeterministic": "🎲", "missing": "", "known": "☑️",
               "fixed": "✅ fixed", "drift": "↗️", "pass": "✅", "absent": "–", "not-run": "not run",
               "unavailable": "unavailable"}


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return out


def _grid(m: ReportModel) -> list[str]:
    if not m.cases:
        return ["No results yet."]
    rows = []
    env_rows = {r.spec.id: r for r in m.env_rows}
    for lineage, specs in m.lineages:
        for spec in specs:
            r = env_rows[spec.id]
            if r.state != "ok":
                cells = [md_cell(STATE_WORDS[r.state])] * len(m.cases)
            else:
                cells = []
                for case in m.cases:
                    c = m.cells[(spec.id, case)]
                    text = " ".join(x for x in (f"`{c.mark}`" if c.mark else "", STATE_WORDS[c.state]) if x)
                    cells.append(text + (" " + md_cell(", ".join(c.badges)) if c.badges else ""))
            rows.append([md_cell(lineage), md_cell(spec.id)] + cells)
    return _table(["lineage", "environment"] + [md_cell(c) for c in m.cases], rows) + [
        "", ("Golden mark: `=` identical, `~` close, `r` round-off (bits moved by a machine difference, explained "
        "by round-off), `D` drift, `?` missing, `E` error. "
        "❌ regression, 💥 error, 🎲 nondeterministic, ☑️ known failure, ↗️ drift from the previous version; "
        "inv ✗ broken invariants, claim ✗ claims that do not hold, Δ prev changed beyond tolerance since the "
        "previous version, then why, as the drift map says it: r round-off (moved by round-off alone, if by more than the "
        "tolerance), s random stream, c real change, ? unknown (the drift map below shows every change, within "
        "tolerance too).")]


def _causes(m: ReportModel) -> list[str]:
    """One row per cause that several verdicts share (or that holds round-off passes)."""
    shown = m.shown_causes
    if not shown:
        return []
    rows = [[f"#{g.index + 1}", md_cell(g.kind), md_cell(g.words, MESSAGE_LIMIT),
             md_cell(f"{len(g.verdicts)} ({g.outcome_words})"),
             md_cell(g.reach, 400) + ("<br>" + md_cell(g.env_list, 400) if len(g.envs) > 1 else "")]
            for g in shown]
    return ["### Shared causes", "",
            "Verdicts that share one cause are one item; round-off verdicts pass.", ""] + _table(
        ["", "kind", "cause", "verdicts", "environments × cases"], rows) + [""]


def _flagged(m: ReportModel) -> list[str]:
    rows = []
    for section in m.sections:
        for v in section.items:
            variant = f"/{v.variant}" if v.variant else ""
            detail = md_cell(v.message, FLAGGED_LIMIT)
            if v.packages:
                detail += "<br>packages: " + md_cell(", ".join(v.packages), 200)
            shared = m.shared_cause(v)
            if shared is not None:
                detail += f"<br>shared cause #{shared.index + 1}: " + md_cell(f"{shared.headline} ({shared.words})",
                                                                              300)
            rows.append([section.outcome.value, md_cell(v.env), md_cell(v.case + variant), md_cell(v.check_id), detail])
    for group in m.missing:
        rows.append([Outcome.MISSING.value, md_cell(f"{len(group.envs)} env(s): " + ", ".join(group.envs), 400),
                     md_cell(group.case), "golden", "check the results, then: " + md_cell(group.command, 400)])
    if not rows:
        return ["Nothing is flagged: every check passed."]
    out = _table(["outcome", "environment", "case", "check", "explanation"], rows[:MAX_ITEMS])
    if len(rows) > MAX_ITEMS:
        out += ["", f"… and {len(rows) - MAX_ITEMS} more flagged item(s): see index.html or summary.json."]
    return out


def _drift(m: ReportModel) -> list[str]:
    """The drift map: a mark per comparison and case, then each changed case with its
    sentence (migrations and --between first, where the list is cut)."""
    if not m.drift_map and not m.reference:
        return []
    out = ["", "### Cross-version drift", ""]
    if m.drift_map:
        rows = [[md_cell(r.check_word), md_cell(r.label)] + [f"`{r.mark(c)}`" for c in m.cases]
                for r in m.drift_map]
        out += _table(["check", "comparison"] + [md_cell(c) for c in m.cases], rows)
        out += ["", "Drift mark: " + ", ".join(f"`{k}` {w}" for k, w in derive.DRIFT_MARKS.items())
                + ". Information: `--fail-on-drift` makes drift fail the run.", ""]
        items = [[md_cell(r.label) + "<br>" + md_cell(r.check_word + (f": {r.why}" if r.why else ""), 200),
                  md_cell(v.case), f"`{derive.drift_mark(v)}` " + md_cell(derive.drift_kind(v)),
                  md_cell(derive.edge_sentence(v), MESSAGE_LIMIT)]
                 for r in derive.important_first(m.drift_map) for v in r.changed]
        if items:
            out += _table(["comparison", "case", "cause", "what changed"], items[:MAX_ITEMS])
            if len(items) > MAX_ITEMS:
                out += ["", f"… and {len(items) - MAX_ITEMS} more changed case(s): see index.html or summary.json."]
        else:
            out.append("Every comparison is bit for bit identical.")
    if m.reference:
        rows = [[md_cell(r.after)] + [f"`{r.mark(c)}`" for c in m.cases] for r in m.reference]
        out += ["", (f"<details><summary>Against the reference environment {md_cell(m.reference[0].before)}"
                    "</summary>"), ""]
        out += _table(["environment"] + [md_cell(c) for c in m.cases], rows)
        out += ["", "Mark: " + ", ".join(f"`{k}` {w}" for k, w in derive.REFERENCE_MARKS.items()) + ".",
                "", "</details>"]
    return out


def _claims(m: ReportModel) -> list[str]:
    if not m.claims:
        return []
    rows = [[md_cell(r.case), md_cell(r.text, 200), f"{len(r.envs_where('holds'))}/{len(r.per_env)}",
             md_cell(", ".join(r.envs_where("fails")), 400) or "–"] for r in m.claims]
    return ["", "### Claims", ""] + _table(["case", "claim", "holds", "does not hold in"], rows)


def _environments(m: ReportModel) -> list[str]:
    shown = [c for c in model.KEY_COLUMNS if any(c in r.versions for r in m.env_rows)]
    rows = []
    for r in m.env_rows:
        changes = ", ".join(r.key_changes) + (f" (+{len(r.other_changes)} other)" if r.other_changes else "")
        rows.append([md_cell(r.spec.id), md_cell(STATE_WORDS.get(r.state, "ran") if r.state != "ok" else "ran"),
                     md_cell(r.python)] + [md_cell(r.versions.get(c, "")) for c in shown]
                    + [md_cell(f"vs {r.previous}: {changes}" if r.previous and changes else "", 300)])
    return ["", "<details><summary>Environments</summary>", ""] + _table(
        ["environment", "status", "Python"] + shown + ["differences from the previous version"], rows) + [
        "", "</details>"]


def render(m: ReportModel) -> str:
    """report.md (for a CI summary): the verdict and counts, shared causes, the grid, the
    flagged items, the drift map, the claims and the environments, as Markdown tables."""
    counts = ", ".join(f"{n} {o.value}" for o, n in m.counts.items() if n) or "no verdicts"
    icon = "✅" if m.passed else "❌"
    out = [f"## {icon} tfrepro: {md_cell(m.verdict)}", "",
           f"{counts} · {len(m.ev.results)}/{len(m.ev.specs)} environments with results · exit code {m.exit_code}",
           ""]
    out += [f"> ⚠️ {md_cell(p, MESSAGE_LIMIT)}" for p in m.ev.problems]
    out += _causes(m)
    out += ["### Cases × environments", ""] + _grid(m)
    out += ["", "### Flagged", ""] + _flagged(m)
    out += _drift(m)
    out += _claims(m)
    out += _environments(m)
    out += ["", "_Full report with plots: index.html; machine-readable: summary.json; CI: junit.xml._", ""]
    return "\n".join(out)
