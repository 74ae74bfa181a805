"""The sections of index.html, in reading order after the header: the causes
several verdicts share, the case × environment grid, the flagged items, the drift
map, per case its plots and final values, the claims, the environments. Each takes
the report model and returns HTML lines; every string goes through
``escape.html_text``.
"""

from __future__ import annotations

import re

from harness.core.status import Check, Outcome
from harness.report import derive, escape, model, plots
from harness.report.html_items import STATE_LABELS, chips, item
from harness.report.model import Cell, EdgeRow, ReportModel

e = escape.html_text


def _cell_html(cell: Cell) -> str:
    badges = "".join(f'<span class="badge">{e(b)}</span>' for b in cell.badges)
    mark = f'<span class="mark">{e(cell.mark)}</span>' if cell.mark else ""
    title = f"{cell.env} · {cell.case}: {STATE_LABELS[cell.state]}"
    if cell.notes:
        title += "\n" + "\n".join(f"• {n}" for n in cell.notes[:8])
    return f'<td class="cell s-{cell.state}" title="{e(title)}">{mark}{badges or e(STATE_LABELS[cell.state])}</td>'


def grid(m: ReportModel) -> list[str]:
    """The case × environment grid, by lineage: each cell's marks and worst state, its
    sentences on hover; an environment that did not run is one row-wide cell."""
    out = ['<section id="grid"><h2>Cases × environments</h2>',
           ('<p class="muted">Golden comparison mark: = identical, ~ close (bits differ, within tolerance), '
            'r round-off (bits moved by a machine difference, explained by round-off), D drift, ? missing, '
            'E error; "Δ prev": changed beyond tolerance since the previous version, then why, as the '
            'drift map says it: r round-off (moved by round-off alone, if by more than the tolerance), s random stream, '
            'c real change, ? unknown (the map shows every change). The colour is the worst verdict of the cell; '
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



def flagged(m: ReportModel) -> list[str]:
    """Every flagged verdict, one <details> per outcome, then the cases without golden values
    with the command that blesses them."""
    out = ['<section id="flagged"><h2>Flagged items</h2>']
    if not (m.sections or m.missing):
        out.append("<p>Nothing is flagged: every check passed.</p>")
    state_of = {Outcome.REGRESSION: "regression", Outcome.ERROR: "error", Outcome.NONDETERMINISTIC: "nondeterministic",
                Outcome.KNOWN: "known", Outcome.FIXED: "fixed", Outcome.STALE: "known"}
    for section in m.sections:
        out.append(f'<details class="section"{" open" if section.expanded else ""}>'
                   f"<summary>{e(section.title)}: {len(section.items)}</summary>")
        out += [item(v, state_of.get(section.outcome, "pass"), m.shared_cause(v)) for v in section.items]
        out.append("</details>")
    if m.missing:
        total = sum(len(g.envs) for g in m.missing)
        out.append(f'<details class="section" open><summary>MISSING GOLDEN VALUES: {total}</summary>')
        for group in m.missing:
            out.append(f'<article class="item s-missing"><h4>{e(group.case)}: no golden values in '
                       f"{len(group.envs)} environment(s)</h4><p>{chips(group.envs)}</p>"
                       f"<p>Check the results, then bless them: <code>{e(group.command)}</code></p></article>")
        out.append("</details>")
    out.append("</section>")
    return out


def causes(m: ReportModel) -> list[str]:
    """The causes several verdicts share (and round-off passes), one article each with the
    environments, cases and outcomes it covers."""
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
        facts = [("environments", chips(g.envs)), ("cases", chips(g.cases)),
                 ("outcomes", e(g.outcome_words))]
        out.append(f'<article class="item s-{state}" id="cause-{g.index}"><h4>#{g.index + 1} '
                   f'<span class="badge">{e(g.kind)}</span> {e(g.words)}</h4><p>{e(g.summary)}</p>'
                   '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{val}</dd>" for k, val in facts) + "</dl>"
                   + (f"<details><summary>every difference ({len(g.facts)})</summary>{chips(g.facts)}</details>"
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


def drift(m: ReportModel) -> list[str]:
    """The drift map (a mark per comparison and case, then each changed case with its
    sentence) and the comparison with the reference environment."""
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
                out.append(f'<p class="muted">differences: {chips(r.packages)}</p>')
            out += [item(v, "drift", None, derive.drift_mark(v), packages=False) for v in r.changed]
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


def cases(m: ReportModel) -> list[str]:
    """Per case: the first paragraph of its docstring, its plots, and its final values per
    environment as a table."""
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


def claims(m: ReportModel) -> list[str]:
    """The claims table: per claim, how many environments it holds in and a strip of one
    square per environment (holds, fails, cannot be measured)."""
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
                   f'<td><div class="strip">{"".join(strip)}</div></td><td>{chips(fails) if fails else "–"}</td></tr>')
    out.append("</tbody></table></div></section>")
    return out


def environments(m: ReportModel) -> list[str]:
    """The environments table, by lineage: status, Python, the key package versions, and the
    package differences from the previous environment of the lineage with results."""
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
                diff = f'<span class="muted">vs {e(r.previous)}:</span> {chips(r.key_changes)}'
                if r.other_changes:
                    diff += (f"<details><summary>{len(r.other_changes)} other difference(s)</summary>"
                             f"{chips(r.other_changes)}</details>")
            status = e(STATE_LABELS.get(r.state, r.state)) if r.state != "ok" else "ran"
            out.append(f'<tr><th class="env">{e(spec.id)}</th><td class="status s-{r.state if r.state != "ok" else "pass"}"'
                       f' title="{e(r.note)}">{status}</td><td>{e(r.python)}</td>'
                       + "".join(f"<td>{e(r.versions.get(c, ''))}</td>" for c in shown) + f"<td>{diff}</td></tr>")
    out.append("</tbody></table></div></section>")
    return out


