"""The style sheet of index.html: inline (the page's Content-Security-Policy allows
inline styles and data: images, nothing else). The state classes (.s-<state>, .c-<outcome>,
.m-<mark>) are the ones harness.report.html_items and .html_sections write.
"""

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
