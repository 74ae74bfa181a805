"""The pieces of index.html that several sections share: the labels of the cell
states, package chips, and one verdict as an article (its facts, the sizes per
observable, the details). Every string goes through ``escape.html_text``.
"""

from __future__ import annotations

from harness.check.verdicts import Verdict
from harness.core.status import Check
from harness.report import derive, escape
from harness.report.model import CauseGroup

e = escape.html_text

STATE_LABELS = {
    "regression": "regression", "error": "error", "nondeterministic": "nondeterministic",
    "missing": "golden missing", "known": "known failure", "fixed": "known failure fixed",
    "drift": "drift vs previous version", "pass": "pass", "absent": "case not run",
    "not-run": "environment not run", "unavailable": "environment unavailable",
}


def chips(items: tuple[str, ...] | list[str]) -> str:
    """Each item (a package change, an environment) as an escaped chip; "none" when empty."""
    return "".join(f'<span class="pkg">{e(p)}</span>' for p in items) or '<span class="muted">none</span>'


def diff_table(v: Verdict) -> str:
    """The sizes of the first 8 observables that are not identical (values that differ and
    beyond tolerance, max |Δ|, relative, ULPs, where first), as an HTML table; "" when none."""
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


def item(v: Verdict, state: str, group: CauseGroup | None = None, mark: str = "", packages: bool = True) -> str:
    """One verdict as an <article> of class ``s-<state>``: its message, its facts (shared
    cause, drift ``mark`` and cause, first divergence, package differences unless
    ``packages`` is False, known failure), the sizes per observable and the details."""
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
        facts.append(("package differences", chips(v.packages)))
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
    table = diff_table(v)
    if table:
        out.append(f'<details><summary>sizes per observable</summary><div class="scroll">{table}</div></details>')
    if v.details:
        summary = "what moved, where they part" if v.cause else "details"
        out.append(f"<details><summary>{summary}</summary><pre>{e(v.details)}</pre></details>")
    out.append("</article>")
    return "".join(out)

