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

from harness.report import escape, html_sections
from harness.report.html_style import CSS
from harness.report.model import ReportModel

e = escape.html_text

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
# The sections after the header, in reading order.
SECTIONS = (html_sections.causes, html_sections.grid, html_sections.flagged, html_sections.drift,
            html_sections.cases, html_sections.claims, html_sections.environments)


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
    """index.html as one string: the header, then SECTIONS, with the style sheet inline and
    a Content-Security-Policy that loads nothing."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>tfrepro report: {e(m.verdict)}</title><style>{CSS}</style></head><body><main>"]
    for section in (_header, *SECTIONS):
        parts += section(m)
    parts.append("</main></body></html>")
    return "\n".join(parts)
