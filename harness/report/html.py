"""index.html: one self-contained page (no script, no network: the plots are data: URIs
and a Content-Security-Policy forbids loading anything else).

Reading order: the verdict and its counts; the causes several verdicts share (one
item each, round-off passes included); the case × environment grid; the flagged
items (each pointing at its shared cause); the drift map (a mark per cross-version
comparison and case for its classification, each changed case with its sentence,
and the comparison with the reference); per case, its plots and final values; the
claims; the environments.
Every string from results, case names or package strings goes through
``escape.html_text``.
"""

from __future__ import annotations

import datetime
import re

from harness.check.verdicts import Verdict
from harness.core.status import Check, Outcome
from harness.report import derive, escape, model, plots
from harness.report.model import CauseGroup, Cell, EdgeRow, ReportModel

e = escape.html_text

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STATE_LABELS = {
    "regression": "regression", "error": "error", "nondeterministic": "nondeterministic",
    "missing": "golden missing", "known": "known failure", "fixed": "known failure fixed",
    "drift": "drift vs previous version", "pass": "pass", "absent": "case not run",
    "not-run": "environment not run", "unavailable": "environment unavailable",
}

CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; }
main { max-width: 1240px; margin: 0 auto; padding: 12px 20px 40px; }
h1 { font-size: 20px; margin: 6px 0 2px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
h4 { font-size: 14px; margin: 0 0 4px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f8fa; padding: 6px 8px; margin: 4px 0; }
.verdict { font-size: 18px; font-weight: 650; padding: 8px 12px; border-radius: 6px; margin: 8px 0; }
.verdict.pass { background: #dafbe1; color: #116329; } .verdict.fail { background: #ffebe9; color: #a40e26; }
.meta, .muted { color: var(--muted); font-size: 12.5px; }
ul.counts { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 6px; }
ul.counts li { padding: 2px 8px; border-radius: 10px; font-size: 13px; border: 1px solid var(--line); }
ul.counts .c-regression { background: #ffc9c9; } ul.counts .c-error { background: #f4c6ef; }
ul.counts .c-nondeterministic { background: #ffd8a8; } ul.counts .c-missing { background: #fff3bf; }
ul.counts .c-known, ul.counts .c-stale { background: #e5dbff; } ul.counts .c-fixed { background: #c5f6fa; }
ul.counts .c-pass { background: #d3f9d8; }
nav { font-size: 13px; margin: 6px 0 0; } nav a { margin-right: 12px; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { border: 1px solid var(--line); padding: 2px 6px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; position: sticky; top: 0; }
table.grid td { min-width: 110px; white-space: nowrap; }
th.env, td.status { white-space: nowrap; } table.grid th.env { font-weight: 500; }
tr.lineage th { background: #eef1f4; font-weight: 600; font-size: 12px; }
.mark { font-weight: 700; font-family: ui-monospace, monospace; margin-right: 4px; }
.badge { display: inline-block; font-size: 11px; padding: 0 5px; border-radius: 8px; background: rgba(0,0,0,.08);
         margin-right: 3px; }
.s-regression { background: #ffc9c9; } .s-error { background: #f4c6ef; } .s-nondeterministic { background: #ffd8a8; }
.s-missing { background: #fff3bf; } .s-known { background: #e5dbff; } .s-fixed { background: #c5f6fa; }
.s-drift { background: #ffe8cc; } .s-pass { background: #d3f9d8; } .s-absent, .s-not-run { background: #f1f3f5;
  color: var(--muted); } .s-unavailable { background: #dee2e6; }
.legend span { display: inline-block; margin: 2px 8px 2px 0; padding: 0 6px; font-size: 12px;
               border: 1px solid var(--line); }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: 600; }
.item { border-left: 5px solid #adb5bd; padding: 6px 10px; margin: 8px 0; background: #fbfbfc; }
.item.s-regression { border-color: #e03131; } .item.s-error { border-color: #ae3ec9; }
.item.s-nondeterministic { border-color: #f08c00; } .item.s-known { border-color: #7950f2; }
.item.s-fixed { border-color: #1098ad; } .item.s-drift { border-color: #f76707; }
.item.s-regression, .item.s-error, .item.s-nondeterministic, .item.s-known, .item.s-fixed, .item.s-drift,
.item.s-missing { background: #fbfbfc; }
.item p { margin: 2px 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 1px 10px; margin: 4px 0; font-size: 13px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.pkg { display: inline-block; font-family: ui-monospace, monospace; font-size: 12px; background: #eef1f4;
       padding: 0 4px; margin: 1px 3px 1px 0; border-radius: 3px; }
figure { margin: 10px 0 16px; } figure img { max-width: 100%; height: auto; border: 1px solid #eef1f4; }
figcaption { font-size: 12.5px; color: var(--muted); }
.strip { display: flex; flex-wrap: nowrap; gap: 2px; align-items: center; }
.strip i { display: inline-block; width: 11px; height: 14px; } .strip .gap { width: 6px; }
.strip .holds { background: #40c057; } .strip .fails { background: #e03131; } .strip .unmeasured { background: #ced4da; }
.scroll { overflow-x: auto; max-width: 100%; }
td.num { text-align: right; font-family: ui-monospace, monospace; }
table.drift td.m { text-align: center; font-family: ui-monospace, monospace; font-weight: 700; min-width: 28px; }
.m-same { background: #d3f9d8; } .m-r { background: #e7f5ff; } .m-s { background: #fff3bf; }
.m-c { background: #ffc9c9; } .m-q { background: #dee2e6; } .m-none { background: #f1f3f5; color: var(--muted); }
.m-close { background: #e7f5ff; } .m-beyond { background: #ffe8cc; }
.item.s-pass { border-color: #2f9e44; } .item.s-cause { border-color: #1c7ed6; }
"""


def _cell_html(cell: Cell) -> str:
    badges = "".join(f'<span class="badge">{e(b)}</span>' for b in cell.badges)
    mark = f'<span class="mark">{e(cell.mark)}</span>' if cell.mark else ""
    title = f"{cell.env} · {cell.case}: {STATE_LABELS[cell.state]}"
    if cell.notes:
        title += "\n" + "\n".join(f"• {n}" for n in cell.notes[:8])
    return f'<td class="cell s-{cell.state}" title="{e(title)}">{mark}{badges or e(STATE_LABELS[cell.state])}</td>'


def _grid(m: ReportModel) -> list[str]:
    out = ['<section id="grid"><h2>Cases × environments</h2>',
           ('<p class="muted">Golden comparison mark: = identical, ~ close (bits differ, within tolerance), '
            'r round-off (bits moved by a machine difference, explained by round-off), D drift, ? missing, '
            'E error; "Δ prev" carries the drift map\'s mark. The colour is the worst verdict of the cell; '
            'hover for the sentences.</p>'),
           '<div class="scroll"><table class="grid"><thead><tr><th>environment</th>']
    out += [f'<th><a href="#case-{i}">{e(case)}</a></th>' for i, case in enumerate(m.cases)]
    out.append("</tr></thead><tbody>")
    rows = {r.spec.id: r for r in m.env_rows}
    for lineage, specs in m.lineages:
        out.append(f'<tr class="lineage"><th colspan="{len(m.cases) + 1}">{e(model.lineage_title(lineage))} '
                   f'<span class="muted">({len(specs)})</span></th></tr>')
        for spec in specs:
            row = rows[spec.id]
            out.append(f'<tr><th class="env">{e(spec.id)}</th>')
            if row.state != "ok":
                out.append(f'<td class="s-{row.state}" colspan="{max(1, len(m.cases))}" title="{e(row.note)}">'
                           f'{e(STATE_LABELS.get(row.state, row.state))}</td>')
            else:
                out += [_cell_html(m.cells[(spec.id, case)]) for case in m.cases]
            out.append("</tr>")
    out.append("</tbody></table></div>")
    out.append('<p class="legend">' + "".join(f'<span class="s-{s}">{e(label)}</span>'
                                              for s, label in STATE_LABELS.items()) + "</p></section>")
    return out


def _packages(items: tuple[str, ...] | list[str]) -> str:
    return "".join(f'<span class="pkg">{e(p)}</span>' for p in items) or '<span class="muted">none</span>'


def _diff_table(v: Verdict) -> str:
    rows = [d for d in v.diffs if d.status.value not in ("identical",)][:8]
    if not rows:
        return ""
    out = [('<table><thead><tr><th>observable</th><th>status</th><th>differ</th><th>beyond tol.</th>'
            '<th>max |Δ|</th><th>max rel</th><th>ULP</th><th>first at</th></tr></thead><tbody>')]
    for d in rows:
        where = ", ".join(f"{k} {val}" for k, val in (d.first or {}).items())
        out.append(f"<tr><td>{e(d.observable)}</td><td>{e(d.status.value)}</td>"
                   f'<td class="num">{d.n_differ}/{d.n_total}</td><td class="num">{d.n_beyond}</td>'
                   f'<td class="num">{e(escape.number(d.max_abs, 3))}</td>'
                   f'<td class="num">{e(escape.number(d.max_rel, 3))}</td>'
                   f'<td class="num">{e(escape.number(d.max_ulps))}</td><td>{e(where or d.note)}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _item(v: Verdict, state: str, group: CauseGroup | None = None, mark: str = "", packages: bool = True) -> str:
    variant = f"/{v.variant}" if v.variant else ""
    facts = []
    if group is not None:
        facts.append(("shared cause", (f'<a href="#cause-{group.index}">#{group.index + 1}</a> '
                      f"{e(group.headline)}: {e(group.words)}")))
    if v.check.drift and v.cause:
        facts.append(("cause", f'<span class="mark">{e(mark)}</span>{e(derive.drift_kind(v))}'))
    if v.divergence is not None:
        facts.append(("first divergence", e(v.divergence.describe())))
    if v.against:
        facts.append(("compared with", e(v.against)))
    if packages and (v.packages or v.check == Check.GOLDEN or v.check.drift):
        facts.append(("package differences", _packages(v.packages)))
    if v.known:
        link = str(v.known.get("link") or "")
        shown = f' <span class="mono">{e(link)}</span>' if link else ""
        facts.append(("known failure", e(v.known.get("reason", "")) + shown))
    message = v.message
    note = f" Known failure: {(v.known or {}).get('reason')}"
    if v.known and message.endswith(note):
        message = message[: -len(note)]  # the reason is shown below, once
    out = [(f'<article class="item s-{state}"><h4>{e(v.env)} · {e(v.case)}{e(variant)} · '
            f'<span class="mono">{e(v.check_id)}</span> <span class="badge">{e(v.status.value)}</span></h4>'),
           f"<p>{e(message)}</p>"]
    if facts:
        out.append('<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{val}</dd>" for k, val in facts) + "</dl>")
    table = _diff_table(v)
    if table:
        out.append(f'<details><summary>sizes per observable</summary><div class="scroll">{table}</div></details>')
    if v.details:
        summary = "what moved, where they part" if v.cause else "details"
        out.append(f"<details><summary>{summary}</summary><pre>{e(v.details)}</pre></details>")
    out.append("</article>")
    return "".join(out)


def _flagged(m: ReportModel) -> list[str]:
    out = ['<section id="flagged"><h2>Flagged items</h2>']
    if not (m.sections or m.missing):
        out.append("<p>Nothing is flagged: every check passed.</p>")
    state_of = {Outcome.REGRESSION: "regression", Outcome.ERROR: "error", Outcome.NONDETERMINISTIC: "nondeterministic",
                Outcome.KNOWN: "known", Outcome.FIXED: "fixed", Outcome.STALE: "known"}
    for section in m.sections:
        out.append(f'<details class="section"{" open" if section.expanded else ""}>'
                   f"<summary>{e(section.title)}: {len(section.items)}</summary>")
        out += [_item(v, state_of.get(section.outcome, "pass"), m.shared_cause(v)) for v in section.items]
        out.append("</details>")
    if m.missing:
        total = sum(len(g.envs) for g in m.missing)
        out.append(f'<details class="section" open><summary>MISSING GOLDEN VALUES: {total}</summary>')
        for group in m.missing:
            out.append(f'<article class="item s-missing"><h4>{e(group.case)}: no golden values in '
                       f"{len(group.envs)} environment(s)</h4><p>{_packages(group.envs)}</p>"
                       f"<p>Check the results, then bless them: <code>{e(group.command)}</code></p></article>")
        out.append("</details>")
    out.append("</section>")
    return out


def _causes(m: ReportModel) -> list[str]:
    out = ['<section id="causes"><h2>Shared causes</h2>']
    shown = m.shown_causes
    if not shown:
        out.append('<p class="muted">No cause is shared by several verdicts, and no verdict passed by round-off.</p>'
                   "</section>")
        return out
    out.append('<p class="muted">Verdicts that share one cause (the same machine difference since blessing, the '
               "same package change) are one item here; round-off verdicts are passes. Regressions are also "
               'listed one by one under <a href="#flagged">flagged items</a>.</p>')
    for g in shown:
        state = "regression" if g.severe else ("pass" if g.kind == "round-off" else "cause")
        members = "".join(f"<li>{e(v.env)} · {e(v.case)}{e('/' + v.variant if v.variant else '')} · "
                          f'<span class="mono">{e(v.check_id)}</span> <span class="badge">{e(v.status.value)}</span>'
                          f"</li>" for v in g.verdicts)
        facts = [("environments", _packages(g.envs)), ("cases", _packages(g.cases)),
                 ("outcomes", e(g.outcome_words))]
        out.append(f'<article class="item s-{state}" id="cause-{g.index}"><h4>#{g.index + 1} '
                   f'<span class="badge">{e(g.kind)}</span> {e(g.words)}</h4><p>{e(g.summary)}</p>'
                   '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{val}</dd>" for k, val in facts) + "</dl>"
                   + (f"<details><summary>every difference ({len(g.facts)})</summary>{_packages(g.facts)}</details>"
                      if g.facts else "")
                   + f"<details><summary>the {len(g.verdicts)} verdict(s)</summary><ul>{members}</ul></details>"
                   + "</article>")
    out.append("</section>")
    return out


_MARK_CLASS = {"=": "same", "r": "r", "s": "s", "c": "c", "?": "q", "-": "none", "~": "close", "D": "beyond",
               "E": "q"}


def _mark_cell(row: EdgeRow, case: str) -> str:
    mark = row.mark(case)
    v = row.verdicts.get(case)
    title = f"{row.label} · {case}: " + (f"{derive.drift_kind(v)}. {v.message}" if v is not None else "not compared")
    return f'<td class="m m-{_MARK_CLASS.get(mark, "q")}" title="{e(title)}">{e(mark)}</td>'


def _drift(m: ReportModel) -> list[str]:
    out = ['<section id="drift"><h2>Cross-version drift</h2>']
    if not m.drift_map and not m.reference:
        out.append('<p class="muted">No two environments with results were compared.</p></section>')
        return out
    if m.drift_map:
        out.append('<p class="muted">Each row compares two environments: the previous version in a lineage, a '
                   "migration users make (TF 2.15 to 2.16, tf.keras to standalone Keras, TensorFlow to JAX), or the "
                   "pair asked for with --between. Mark: "
                   + ", ".join(f"{e(k)} {e(w)}" for k, w in derive.DRIFT_MARKS.items())
                   + ". Information: --fail-on-drift makes drift fail the run.</p>")
        out.append('<div class="scroll"><table class="drift"><thead><tr><th>comparison</th><th>check</th>'
                   + "".join(f"<th>{e(c)}</th>" for c in m.cases) + "</tr></thead><tbody>")
        for r in m.drift_map:
            out.append(f'<tr><th class="env">{e(r.label)}</th><td>{e(r.check_word)}</td>'
                       + "".join(_mark_cell(r, c) for c in m.cases) + "</tr>")
        out.append("</tbody></table></div>")
        for r in derive.important_first(m.drift_map):
            if not r.changed:
                continue
            opened = " open" if r.check != Check.DRIFT_PREVIOUS or len(m.drift_map) <= 6 else ""
            out.append(f'<details class="section"{opened}><summary>{e(r.headline)}: {e(r.tally)}</summary>')
            if r.packages:
                out.append(f'<p class="muted">differences: {_packages(r.packages)}</p>')
            out += [_item(v, "drift", None, derive.drift_mark(v), packages=False) for v in r.changed]
            out.append("</details>")
    if m.reference:
        out.append(f"<h3>Against the reference environment {e(m.reference[0].before)}</h3>")
        out.append('<p class="muted">Not classified (information). Mark: '
                   + ", ".join(f"{e(k)} {e(w)}" for k, w in derive.REFERENCE_MARKS.items()) + ".</p>")
        out.append('<div class="scroll"><table class="drift"><thead><tr><th>environment</th>'
                   + "".join(f"<th>{e(c)}</th>" for c in m.cases) + "</tr></thead><tbody>")
        for r in m.reference:
            out.append(f'<tr><th class="env">{e(r.after)}</th>' + "".join(_mark_cell(r, c) for c in m.cases)
                       + "</tr>")
        out.append("</tbody></table></div>")
    out.append("</section>")
    return out


def _first_paragraph(ev, case: str) -> str:
    for doc in ev.results.values():
        entry = doc.cases.get(case)
        text = entry.declaration.doc if entry is not None and entry.declaration is not None else ""
        if text:
            return re.split(r"\n\s*\n", text.strip())[0]
    return ""


def _finals_table(ev, case: str) -> str:
    columns, rows = model.final_metrics(ev, case)
    if not columns:
        return ""
    out = [('<details><summary>final values per environment (table)</summary><div class="scroll"><table>'
            "<thead><tr><th>environment</th>")]
    out += [f"<th>{e(variant)}<br>last {e(name)}</th>" for variant, name in columns]
    out.append("</tr></thead><tbody>")
    for env, values in rows:
        out.append(f"<tr><th class=\"env\">{e(env)}</th>" +
                   "".join(f'<td class="num">{e(escape.number(x))}</td>' for x in values) + "</tr>")
    out.append("</tbody></table></div></details>")
    return "".join(out)


def _cases(m: ReportModel) -> list[str]:
    out = ['<section id="cases"><h2>Cases</h2>']
    if not m.cases:
        out.append("<p>No results yet.</p>")
    drawn = plots.all_plots(m.ev)
    for i, case in enumerate(m.cases):
        out.append(f'<article id="case-{i}"><h3>{e(case)}</h3>')
        intro = _first_paragraph(m.ev, case)
        if intro:
            out.append(f'<p class="muted">{e(intro)}</p>')
        for plot in drawn[case]:
            out.append(f'<figure><img src="{plot.data_uri}" alt="{e(case)}: {e(plot.title)}">'
                       f"<figcaption><b>{e(plot.title)}</b>. {e(plot.caption)}</figcaption></figure>")
        out.append(_finals_table(m.ev, case))
        out.append("</article>")
    out.append("</section>")
    return out


def _claims(m: ReportModel) -> list[str]:
    out = ['<section id="claims"><h2>Claims of the seeds</h2>']
    if not m.claims:
        out.append('<p class="muted">No case declares a claim.</p></section>')
        return out
    out.append('<p class="muted">Each square is an environment in the grid\'s order: green holds, red does '
               "not hold, grey cannot be measured. Claims are information unless --strict-claims.</p>")
    out.append('<div class="scroll"><table><thead><tr><th>case</th><th>claim</th><th>holds</th>'
               "<th>per environment</th><th>does not hold in</th></tr></thead><tbody>")
    lineage_of = {s.id: s.lineage for s in m.ev.specs}
    for row in m.claims:
        strip, previous = [], None
        for env, state, message in row.per_env:
            if previous is not None and lineage_of.get(env) != previous:
                strip.append('<i class="gap"></i>')
            previous = lineage_of.get(env)
            strip.append(f'<i class="{state}" title="{e(env)}: {e(message)}"></i>')
        fails = row.envs_where("fails")
        out.append(f"<tr><td>{e(row.case)}</td><td><span class=\"mono\">{e(row.name)}</span><br>{e(row.text)}</td>"
                   f'<td class="num">{len(row.envs_where("holds"))}/{len(row.per_env)}</td>'
                   f'<td><div class="strip">{"".join(strip)}</div></td><td>{_packages(fails) if fails else "–"}</td></tr>')
    out.append("</tbody></table></div></section>")
    return out


def _environments(m: ReportModel) -> list[str]:
    shown = [c for c in model.KEY_COLUMNS if any(c in r.versions for r in m.env_rows)]
    out = ['<section id="environments"><h2>Environments</h2>',
           ('<p class="muted">Versions as installed (from each result\'s fingerprint); differences are against '
            "the previous environment of the same lineage that has results.</p>"),
           '<div class="scroll"><table><thead><tr><th>environment</th><th>status</th><th>Python</th>']
    out += [f"<th>{e(c)}</th>" for c in shown]
    out.append("<th>differences from the previous version</th></tr></thead><tbody>")
    for lineage, specs in m.lineages:
        out.append(f'<tr class="lineage"><th colspan="{len(shown) + 4}">{e(model.lineage_title(lineage))}</th></tr>')
        rows = {r.spec.id: r for r in m.env_rows}
        for spec in specs:
            r = rows[spec.id]
            diff = "" if r.state == "ok" else f'<span class="muted">pinned: {e(" ".join(spec.requirements))}</span>'
            if r.previous:
                diff = f'<span class="muted">vs {e(r.previous)}:</span> {_packages(r.key_changes)}'
                if r.other_changes:
                    diff += (f"<details><summary>{len(r.other_changes)} other difference(s)</summary>"
                             f"{_packages(r.other_changes)}</details>")
            status = e(STATE_LABELS.get(r.state, r.state)) if r.state != "ok" else "ran"
            out.append(f'<tr><th class="env">{e(spec.id)}</th><td class="status s-{r.state if r.state != "ok" else "pass"}"'
                       f' title="{e(r.note)}">{status}</td><td>{e(r.python)}</td>'
                       + "".join(f"<td>{e(r.versions.get(c, ''))}</td>" for c in shown) + f"<td>{diff}</td></tr>")
    out.append("</tbody></table></div></section>")
    return out


def _header(m: ReportModel) -> list[str]:
    ev = m.ev
    counts = "".join(f'<li class="c-{o.value}">{n} {e(o.value)}</li>' for o, n in m.counts.items() if n)
    ran = len(ev.results)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ['<header><h1>tfrepro: is it a bug?</h1>',
           (f'<p class="verdict {"pass" if m.passed else "fail"}">{e(m.verdict)} '
            f'<span class="muted">(exit code {m.exit_code})</span></p>'),
           f'<ul class="counts">{counts}</ul>',
           (f'<p class="meta">{ran} of {len(ev.specs)} environments have results · {len(m.cases)} case(s) · '
            f"results from <code>{e(ev.options.results_dir)}</code>, golden values from "
            f"<code>{e(ev.options.golden_dir)}</code>, reference environment <code>{e(ev.options.reference)}</code>"
            f" · written {e(stamp)}</p>")]
    out += [f'<p class="item s-error">{e(p)}</p>' for p in ev.problems]
    out.append('<nav><a href="#causes">shared causes</a><a href="#grid">grid</a><a href="#flagged">flagged items</a>'
               '<a href="#drift">drift map</a><a href="#cases">cases</a><a href="#claims">claims</a>'
               '<a href="#environments">environments</a></nav></header>')
    return out


def render(m: ReportModel) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>tfrepro report: {e(m.verdict)}</title><style>{CSS}</style></head><body><main>"]
    parts += _header(m) + _causes(m) + _grid(m) + _flagged(m) + _drift(m) + _cases(m) + _claims(m) + _environments(m)
    parts.append("</main></body></html>")
    return "\n".join(parts)
