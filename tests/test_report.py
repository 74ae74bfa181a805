"""The report (index.html, report.md, junit.xml, summary.json) from small explicit
result documents, hostile strings and non-finite values included."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import numpy as np
import pytest
from lxml import etree
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from harness import cli
from harness.check import evaluate
from harness.check.verdicts import Verdict
from harness.core.documents.observables import Kind, Observable
from harness.core.status import Check, Outcome, Status
from harness.matrix import envs
from harness.report import derive, escape, plots, text, write
from tests import fakes

HOSTILE_CASE = '<script>alert("case")</script>|`x`&amp;\nsecond line'
HOSTILE_VARIANT = "v|<b>`&\n2"
HOSTILE_PACKAGE = "evil<script>|`pkg`&"
XSD = os.path.join(os.path.dirname(__file__), "data", "junit.xsd")

OLD, NEW, KERAS3 = "tf2.14-keras2", "tf2.15-keras2", "tf2.16-keras3.0"
SPECS = envs.select(ids=[OLD, NEW, KERAS3, "jax-keras3.15"])
CLAIM = {"name": "loss falls <fast>", "text": "the loss | falls `below` 0.5 & <i>stays</i>",
         "lhs": {"variant": HOSTILE_VARIANT, "observable": "loss", "pick": "last"}, "op": "<", "rhs": 0.5}
BROKEN = dict(fakes.SAME, name="same <twice> | ok", a=HOSTILE_VARIANT, b="b")


def histogram(shift: float) -> dict:
    """A (snapshot, layer, bin) observable, as the deep net's pre-activation histograms."""
    counts = [[[float(abs(b - 4 + layer) + shift) for b in range(9)] for layer in range(3)] for _ in range(2)]
    return {"kind": "array", "dtype": "float64", "shape": [2, 3, 9], "axes": ["snapshot", "layer", "bin"],
            "values": [x for snap in counts for row in snap for x in row]}


def hostile_case(loss: list[float], other_loss: list[float]) -> dict:
    a = fakes.variant(loss)
    a["observables"]["preactivation_histogram"] = histogram(0.0)
    b = fakes.variant(other_loss)
    b["observables"]["preactivation_histogram"] = histogram(1.0)
    return fakes.case({HOSTILE_VARIANT: a, "b": b}, invariants=[BROKEN], claims=[CLAIM])


def hostile_evaluation(folder) -> evaluate.Evaluation:
    """Three environments with results: one drifts from its golden values, one breaks an
    invariant, one has no golden values; a fourth was not run."""
    results, golden = folder / "results", folder / "golden"
    nan, inf = math.nan, math.inf
    packages = {"tensorflow-cpu": "2.15.0", "numpy": "1.26.2", HOSTILE_PACKAGE: "1.0<b>|\n`2`"}
    fakes.write(results, fakes.result(OLD, {HOSTILE_CASE: hostile_case([1.0, 0.5, 0.25], [1.0, 0.5, 0.25])},
                                      packages={"tensorflow-cpu": "2.14.0", "numpy": "1.26.2"}))
    fakes.write(results, fakes.result(NEW, {HOSTILE_CASE: hostile_case([1.0, nan, inf], [1.0, 0.75, 0.5])},
                                      packages=packages))
    fakes.write(results, fakes.result(KERAS3, {HOSTILE_CASE: hostile_case([2.0, 1.0, 0.4], [2.0, 1.0, 0.4])}))
    blessed = fakes.result(OLD, {HOSTILE_CASE: hostile_case([1.0, 0.6, 0.3], [1.0, 0.6, 0.3])},
                           packages={"tensorflow-cpu": "2.13.0", "numpy": "1.26.2"})
    fakes.write(golden, dict(fakes.golden(blessed), env={"id": OLD}))
    options = evaluate.Options(results_dir=str(results), golden_dir=str(golden),
                               known_failures=str(folder / "none.toml"), reference=NEW)
    return evaluate.evaluate(SPECS, options)


@pytest.fixture
def ev(tmp_path) -> evaluate.Evaluation:
    return hostile_evaluation(tmp_path)


@pytest.fixture
def files(ev) -> dict[str, bytes]:
    return write.render_all(ev)


def test_the_fixture_has_every_kind_of_flag(ev):
    outcomes = {v.outcome for v in ev.verdicts}
    assert {Outcome.REGRESSION, Outcome.MISSING, Outcome.PASS, Outcome.INFO} <= outcomes
    assert any(v.check == "golden" and v.outcome == Outcome.REGRESSION and v.env == OLD for v in ev.verdicts)
    assert ev.cases == [HOSTILE_CASE]


# -- escaping ---------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, shown", [
    ("a|b", r"a\|b"),
    ("`code`", r"\`code\`"),
    ("<script>", "&lt;script&gt;"),
    ("a & b", "a &amp; b"),
    ("one\ntwo", "one two"),
    ("*bold* _it_ [l](x)", r"\*bold\* \_it\_ \[l\]\(x\)"),
    ("back\\slash", "back\\\\slash"),
])
def test_md_cell(raw, shown):
    assert escape.md_cell(raw) == shown


def test_xml_text_drops_characters_xml_cannot_hold():
    assert escape.xml_text("a\x00b\x1bc\td\ne") == "a\ufffdb\ufffdc\td\ne"


@pytest.mark.parametrize("value, shown", [(math.nan, "NaN"), (math.inf, "inf"), (-math.inf, "-inf"),
                                          (0.123456, "0.1235"), (None, "–"), (3, "3")])
def test_numbers(value, shown):
    assert escape.number(value) == shown


# -- index.html -------------------------------------------------------------------------------
def test_html_escapes_everything_and_loads_nothing(files):
    page = files["index.html"].decode()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    assert HOSTILE_PACKAGE not in page and escape.html_text(HOSTILE_PACKAGE) in page
    doc = lxml_html.fromstring(page)
    assert doc.xpath("//script") == []
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert csp and "default-src 'none'" in csp[0]
    for src in doc.xpath("//img/@src"):
        assert src.startswith("data:image/png;base64,")
    assert not [u for u in doc.xpath("//@src | //@href") if not u.startswith(("data:", "#"))]


def test_html_structure(ev, files):
    doc = lxml_html.fromstring(files["index.html"].decode())
    assert [s.get("id") for s in doc.xpath("//section")] == ["causes", "grid", "flagged", "drift", "cases", "claims",
                                                             "environments"]
    verdict = doc.xpath("//p[contains(@class, 'verdict')]")[0].text_content()
    assert verdict.startswith("FAIL: regression") and "exit code 1" in verdict
    # The grid: environments in the evaluation's order (lineage by lineage, version order).
    assert [th.text_content() for th in doc.xpath("//table[@class='grid']//th[@class='env']")] == [s.id for s in ev.specs]
    assert len(doc.xpath("//table[@class='grid']//tr[@class='lineage']")) == 3  # tf.keras, keras3, keras3-jax
    header = doc.xpath("//table[@class='grid']/thead//th")[1].text_content()
    assert header == HOSTILE_CASE
    assert doc.xpath(f"//table[@class='grid']//tr[th='{OLD}']/td")[0].get("class") == "cell s-regression"
    assert "not run" in doc.xpath("//table[@class='grid']//tr[th='jax-keras3.15']/td")[0].text_content()
    # Flagged items carry the sentence, the first divergence and the package differences.
    items = doc.xpath("//section[@id='flagged']//article")
    golden = [a for a in items if OLD in a.xpath("string(h4)") and "golden" in a.xpath("string(h4)")]
    assert golden, "the golden drift of the old environment is flagged"
    facts = golden[0].xpath("string(dl)")
    assert "first divergence" in facts and "they part first in loss at epoch 1" in facts
    assert "tensorflow-cpu 2.13.0 → 2.14.0" in facts
    assert any("same <twice> | ok" in a.text_content() for a in items)  # the broken invariant, as text
    # Per case: plots (trajectory, curves, histograms, final values) and the values table with NaN/inf.
    captions = [f.text_content() for f in doc.xpath("//section[@id='cases']//figcaption")]
    assert any(c.startswith("trajectory:") for c in captions)
    assert any(c.startswith("loss per epoch") for c in captions)
    assert any(c.startswith("preactivation_histogram:") for c in captions)
    assert any(c.startswith("final values per environment") for c in captions)
    cells = [td.text_content() for td in doc.xpath("//section[@id='cases']//table//td")]
    assert "NaN" not in cells and "inf" in cells  # last loss of NEW is inf
    # Claims: one row, holds in the environments where the hostile variant's loss ends below 0.5.
    row = doc.xpath("//section[@id='claims']//tbody/tr")[0]
    assert "the loss | falls `below` 0.5 & <i>stays</i>" in row.text_content()
    assert [i.get("class") for i in row.xpath(".//div[@class='strip']/i")] == ["holds", "fails", "gap", "holds"]
    # Environments: hostile package names as text, differences against the previous version.
    env_rows = doc.xpath("//section[@id='environments']//tbody/tr[not(@class)]")
    assert len(env_rows) == len(ev.specs)
    new_row = next(r for r in env_rows if r.xpath("string(th)") == NEW).text_content()
    assert "vs tf2.14-keras2" in new_row and "tensorflow-cpu 2.14.0 → 2.15.0" in new_row
    assert f"+ {HOSTILE_PACKAGE} 1.0<b>|\n`2`" in new_row


def test_plots_are_png_and_follow_the_axes(ev):
    made = plots.case_plots(ev, HOSTILE_CASE)
    assert [p.title.split(":")[0].split(" per ")[0] for p in made] == [
        "trajectory", "loss", "preactivation_histogram", "final values"]
    for p in made:
        assert p.png.startswith(b"\x89PNG\r\n\x1a\n") and len(p.png) > 2000


@pytest.mark.parametrize("axes, shape, kind", [
    (["epoch"], [20], "curve"),
    (["step"], [5], "curve"),
    (["step", "layer"], [180, 2], "trajectory"),
    (["snapshot", "layer"], [6, 7], "trajectory"),
    (["snapshot", "layer", "bin"], [6, 7, 15], "histogram"),
    (["step", "layer", "bin"], [3, 2, 10], "histogram"),
    (["layer"], [3], None),  # final weight sums: a value per layer, shown in no figure
    (["sample", "output"], [10, 12], None),
    (["step"], [0], None),
])
def test_shape_class(axes, shape, kind):
    obs = Observable(Kind.TABLE, [0.0] * math.prod(shape), tuple(shape), tuple(axes))
    assert plots.shape_class(obs) == kind


def test_lines_that_coincide_are_drawn_once():
    a = np.array([1.0, 2.0, 3.0])
    panels = {"e1": [a, a], "e2": [a + 1e-6, a], "e3": [a * 2, a], "e4": [a, None]}
    assert plots.group_lines(["e1", "e2", "e3", "e4"], panels) == [["e1", "e2"], ["e3"], ["e4"]]
    assert plots.group_label(["x1", "x2", "x3", "x4"], ["x0", "x1", "x2", "x3", "x4"]) == "x1 … x4 (4)"
    assert plots.group_label(["x0", "x2", "x3", "x4"], ["x0", "x1", "x2", "x3", "x4"]) == "x0, x2, x3 +1 more"


def test_thirty_environments_that_all_differ_are_grouped_by_lineage():
    specs = tuple(envs.select(tags=["default"]))
    ev = evaluate.Evaluation(specs, (), {}, (), evaluate.Options())
    panels = {s.id: [np.arange(5.0) * (i + 1)] for i, s in enumerate(specs)}
    grouped = plots.grouping(ev, panels)
    lineages = {s.lineage for s in specs}
    assert len(specs) > 30 and len(grouped.legend) == len(lineages)
    assert set(grouped.drawn) == {s.id for s in specs}
    assert grouped.legend[0][0] == "tf.keras: tf1.14-keras2 → tf2.15-keras2, light → dark"


def test_few_environments_are_named_in_the_legend(ev):
    panels = {OLD: [np.arange(3.0)], NEW: [np.arange(3.0)], KERAS3: [np.arange(3.0) * 5]}
    grouped = plots.grouping(ev, panels)
    assert [label for label, _ in grouped.legend] == [f"{OLD}, {NEW}", KERAS3]


# -- report.md --------------------------------------------------------------------------------
def _tables(tokens) -> list[list[list[str]]]:
    """Each table as rows of cell texts (inline content as parsed)."""
    tables, rows, row = [], None, None
    for tok in tokens:
        if tok.type == "table_open":
            rows = []
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(tok.content)
        elif tok.type == "tr_close":
            rows.append(row)
            row = None
        elif tok.type == "table_close":
            tables.append(rows)
    return tables


def test_markdown_renders_as_tables_with_hostile_strings_as_text(ev, files):
    text = files["report.md"].decode()
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    tables = _tables(tokens)
    assert len(tables) >= 4  # grid, flagged, claims, environments
    for table in tables:
        assert len({len(r) for r in table}) == 1, "a pipe in a string split a cell"
    grid = tables[0]
    assert [r[1] for r in grid[1:]] == [s.id for s in ev.specs]
    rendered = md.render(text)
    assert "<script" not in rendered.lower() and "&lt;script&gt;" in rendered
    for tok in tokens:
        for child in tok.children or []:
            if child.type == "html_inline":
                assert child.content in ("<br>",), child.content
    html_cells = lxml_html.fromstring(rendered).xpath("//table[1]/thead//th")
    assert html_cells[2].text_content() == HOSTILE_CASE.replace("\n", " ")
    assert text.splitlines()[0] == "## ❌ tfrepro: FAIL: regression"
    assert len(text) < 20_000


# -- junit.xml --------------------------------------------------------------------------------
def test_junit_validates_and_has_one_testcase_per_verdict(ev, files):
    schema = etree.XMLSchema(etree.parse(XSD))
    doc = etree.fromstring(files["junit.xml"])
    schema.assertValid(doc)
    cases = doc.findall(".//testcase")
    assert len(cases) == len(ev.verdicts)
    assert {s.get("name") for s in doc.findall("testsuite")} == {s.id for s in SPECS}
    failures = doc.findall(".//testcase/failure")
    regressions = [v for v in ev.verdicts if v.outcome in (Outcome.REGRESSION, Outcome.MISSING)]
    assert int(doc.get("failures")) == len(failures) == len(regressions)
    golden = next(c for c in cases if c.get("name") == f"{HOSTILE_CASE}/{HOSTILE_VARIANT} :: golden"
                  and c.get("classname") == "tfrepro.tf2_14-keras2")
    failure = golden.find("failure")
    assert failure.get("type") == "regression" and "no longer matches its golden values" in failure.get("message")
    assert "first divergence: they part first in loss at epoch 1" in failure.text
    assert "cause: unknown: package change: tensorflow-cpu 2.13.0 → 2.14.0" in failure.text
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert any("jax-keras3.15" in c.get("classname").replace("_", ".") for c in skipped)


def test_junit_survives_control_characters(tmp_path):
    doc = fakes.result(NEW, {"c\x00ase\x1b": fakes.case({"a": fakes.variant([1.0, 2.0])})})
    fakes.write(tmp_path / "results", doc)
    ev = evaluate.evaluate(envs.select(ids=[NEW]), evaluate.Options(
        results_dir=str(tmp_path / "results"), golden_dir=str(tmp_path / "golden")))
    xml = write.render_all(ev)["junit.xml"]
    etree.XMLSchema(etree.parse(XSD)).assertValid(etree.fromstring(xml))
    assert "c\ufffdase\ufffd :: golden" in xml.decode()


# -- summary.json -----------------------------------------------------------------------------
def test_summary_json_is_strict_and_versioned(ev, files):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    data = json.loads(files["summary.json"], parse_constant=refuse)
    assert (data["schema"], data["version"]) == ("tfrepro-summary", 2)
    assert data["exit_code"] == ev.exit_code == 1 and data["verdict"] == "FAIL: regression"
    assert [e["id"] for e in data["environments"]] == [s.id for s in ev.specs]
    assert data["cases"] == [HOSTILE_CASE]
    assert len(data["verdicts"]) == len(ev.verdicts)
    drift = [d for v in data["verdicts"] for d in v["diffs"] if d["max_abs"] == "inf"]
    assert drift, "the loss that became inf is reported as the string 'inf'"
    assert {d["variant"] for v in data["verdicts"] for d in v["diffs"]} >= {HOSTILE_VARIANT, "b"}
    golden = next(v for v in data["verdicts"] if v["check"] == "golden" and v["outcome"] == "regression")
    assert golden["cause"]["kind"] == "unknown" and golden["cause"]["mark"] == "?"
    assert [g["key"] for g in data["causes"]] == [golden["cause"]["key"], f"unknown: {OLD} → {NEW}",
                                                  f"unknown: {NEW} → {KERAS3}"]
    assert [(r["check"], r["marks"]) for r in data["drift_map"]] == [
        ("drift:previous", {HOSTILE_CASE: "?"}), ("drift:migration", {HOSTILE_CASE: "?"})]
    assert [(r["after"], r["marks"]) for r in data["reference"]] == [(OLD, {HOSTILE_CASE: "D"}),
                                                                     (KERAS3, {HOSTILE_CASE: "D"})]


# -- writing ----------------------------------------------------------------------------------
def test_write_report_writes_four_files_and_returns_index(ev, tmp_path):
    folder = tmp_path / "report"
    index = write.write_report(ev, str(folder))
    assert index == str(folder / "index.html") and os.path.isabs(index)
    assert sorted(os.listdir(folder)) == sorted(write.FILES)  # no temporary file left behind


def test_compare_prints_where_index_html_is(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fakes.write(tmp_path / "results", fakes.result(NEW, {"toy": fakes.case({"a": fakes.variant([1.0, 0.5])})}))
    assert cli.main(["compare", "--report", "out"]) == 5
    assert f"report: {tmp_path / 'out' / 'index.html'}" in capsys.readouterr().out
    assert (tmp_path / "out" / "report.md").exists()


# -- one cause, one item; the drift map ---------------------------------------------------------
E13, E14, E15, K3, TFK = "tf2.13-keras2", "tf2.14-keras2", "tf2.15-keras2", "tf2.16-keras3.0", "tf2.16-tfkeras"
MACHINE = ["kernel 6.18.44-fc-v669 → 6.18.44-fc-v657",
           "the blessing fingerprint does not record CPU vendor, cache sizes <L2> | `L3`"]
MACHINE_KEY = "machine: kernel 6.18.44-fc-v669 → 6.18.44-fc-v657; the earlier fingerprint does not record CPU vendor"
MACHINE_WORDS = ("another machine: kernel 6.18.44-fc-v669 → 6.18.44-fc-v657 "
                 "(and the facts the blessing fingerprint does not record)")


def _roundoff(env: str, case: str) -> Verdict:
    cause = {"kind": "round-off", "key": MACHINE_KEY, "machine": MACHINE, "packages": [],
             "roundoff": {"a": {"explained": True}}}
    return Verdict(env, case, Check.GOLDEN, Status.ROUNDOFF, Outcome.PASS,
                   f"{case} differs from its golden values in {env} by round-off alone (a: within the envelope).",
                   variant="a", packages=tuple(MACHINE), against="golden", cause=cause)


def _real_change(env: str, case: str) -> Verdict:
    cause = {"kind": "real change", "mark": "c", "key": "real change: keras 3.0.0 → 3.0.1",
             "variants": [{"variant": "a", "cause": "real change", "sentence": "step 0", "roundoff": None}]}
    return Verdict(env, case, Check.GOLDEN, Status.DRIFT, Outcome.REGRESSION,
                   f"{case} no longer matches its golden values in {env}. real change at step 0.",
                   variant="a", packages=("keras 3.0.0 → 3.0.1",), against="golden", cause=cause)


KINDS = {"r": "round-off", "s": "random stream", "c": "real change", "?": "unknown"}


def _edge(check: Check, before: str, after: str, case: str, mark: str) -> Verdict:
    if mark == "=":
        return Verdict(after, case, check, Status.IDENTICAL, Outcome.INFO,
                       f"{case} in {after} is bit for bit the same as in {before}.", against=before)
    kind = KINDS[mark]
    cause = {"kind": kind, "mark": mark, "key": f"{kind}: {before} → {after}",
             "variants": [{"variant": "a", "cause": kind, "sentence": f"SENTENCE {case} {after}", "roundoff": None}]}
    return Verdict(after, case, check, Status.DRIFT, Outcome.INFO,
                   f"{case} changed from {before} to {after}: {kind}: SENTENCE {case} {after}", variant="a",
                   packages=("keras 2.15.0 → 3.0.0",), against=before, cause=cause,
                   details=f"a: loss moved; they part first in loss at epoch 0 ({case}, {after})")


EDGES = [  # (check, before, after, {case: mark})
    (Check.DRIFT_PREVIOUS, E13, E14, {"alpha": "=", "beta": "s"}),
    (Check.DRIFT_PREVIOUS, E14, E15, {"alpha": "=", "beta": "="}),
    (Check.DRIFT_MIGRATION, E15, K3, {"alpha": "c", "beta": "r"}),
    (Check.DRIFT_MIGRATION, E15, TFK, {"alpha": "=", "beta": "?"}),
    (Check.DRIFT_BETWEEN, E13, TFK, {"alpha": "s"}),
]


@pytest.fixture
def caused(tmp_path) -> evaluate.Evaluation:
    """Five environments with two cases each: six golden verdicts (three environments) moved
    by one machine difference (round-off, passes), two by one package change (regressions),
    and cross-version verdicts with every classification on previous, migration and
    --between edges."""
    specs = envs.select(ids=[E13, E14, E15, K3, TFK])
    toy = {"alpha": fakes.case({"a": fakes.variant([1.0, 0.5])}), "beta": fakes.case({"a": fakes.variant([2.0, 1.0])})}
    for spec in specs:
        fakes.write(tmp_path / "results", fakes.result(spec.id, toy))
    base = evaluate.evaluate(specs, evaluate.Options(results_dir=str(tmp_path / "results"),
                                                     golden_dir=str(tmp_path / "golden"),
                                                     known_failures=str(tmp_path / "none.toml")))
    verdicts = [v for v in base.verdicts if v.check != Check.GOLDEN and not v.check.drift]
    verdicts += [_roundoff(env, case) for env in (E13, E14, E15) for case in ("alpha", "beta")]
    verdicts += [_real_change(K3, case) for case in ("alpha", "beta")]
    verdicts += [Verdict(TFK, case, Check.GOLDEN, Status.IDENTICAL, Outcome.PASS, f"{case} matches.")
                 for case in ("alpha", "beta")]
    verdicts += [_edge(check, before, after, case, mark) for check, before, after, marks in EDGES
                 for case, mark in marks.items()]
    return dataclasses.replace(base, verdicts=tuple(verdicts))


def test_verdicts_that_share_a_cause_are_one_group_with_counts(caused):
    groups = derive.cause_groups(caused)
    golden = [g for g in groups if not g.drift]
    assert [(g.kind, len(g.verdicts)) for g in golden] == [("real change", 2), ("round-off", 6)]  # regressions first
    machine = golden[1]
    assert machine.key == MACHINE_KEY and machine.words == MACHINE_WORDS
    assert machine.envs == (E13, E14, E15) and machine.cases == ("alpha", "beta")
    assert machine.summary == "round-off in 6 verdicts: 3 environments × alpha, beta"
    assert machine.outcome_words == "6 pass" and machine.shown and not machine.severe
    assert golden[0].summary == f"real change in 2 verdicts: {K3} × alpha, beta"
    assert golden[0].words == "package change: keras 3.0.0 → 3.0.1"
    # Drift verdicts group per edge and kind (their key names the edge).
    migration = next(g for g in groups if g.key == f"real change: {E15} → {K3}")
    assert migration.drift and migration.checks == ("drift:migration",) and migration.words == f"{E15} → {K3}"


def test_group_reach_when_not_every_environment_has_every_case():
    specs = tuple(envs.select(ids=[E13, E14, E15]))
    verdicts = (_roundoff(E13, "a"), _roundoff(E13, "b"), _roundoff(E15, "a"))
    ev = evaluate.Evaluation(specs, verdicts, {}, (), evaluate.Options())
    (group,) = derive.cause_groups(ev)
    assert not group.full_product
    assert group.reach == f"a, b in {E13}; a in {E15}"
    assert derive.env_span([E13, E14, E15, K3], [E13, E14, E15, K3, TFK]) == f"{E13} … {K3} (4)"
    # One regression alone is listed among the regressions, not again as a cause.
    alone = evaluate.Evaluation(specs, (_real_change(E13, "a"),), {}, (), evaluate.Options())
    assert [g.shown for g in derive.cause_groups(alone)] == [False]


def test_the_text_summary_names_a_shared_cause_once(caused):
    out = text.render(caused)
    assert out.count(MACHINE_WORDS) == 1
    lines = out.splitlines()
    head = lines.index("SHARED CAUSES (verdicts with one cause, one item each): 2 causes, 8 verdicts")
    assert head < next(i for i, line in enumerate(lines) if line.startswith("REGRESSIONS"))  # up front
    assert lines[head + 1:head + 6] == [
        f"  #1 real change in 2 verdicts: {K3} × alpha, beta (2 regression)",
        "      cause: package change: keras 3.0.0 → 3.0.1",
        "  #2 round-off in 6 verdicts: 3 environments × alpha, beta (6 pass)",
        f"      cause: {MACHINE_WORDS}",
        f"      environments: {E13}, {E14}, {E15}",
    ]
    # The regressions are still listed one by one, each pointing at its group.
    regressions = lines[lines.index("REGRESSIONS (golden drift, broken invariants): 2") + 1:][:4]
    assert regressions[0].startswith(f"  [{K3}] alpha/a golden: alpha no longer matches")
    assert regressions[1] == "      shared cause #1: real change in 2 verdicts (package change: keras 3.0.0 → 3.0.1)"
    assert regressions[2].startswith(f"  [{K3}] beta/a golden:")


def test_the_text_summary_draws_the_drift_map(caused):
    lines = text.render(caused).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("CROSS-VERSION DRIFT"))
    assert lines[start] == ("CROSS-VERSION DRIFT (information; --fail-on-drift makes it fail): "
                            "5 comparisons, 5 changed case(s)")
    rows = [line.split() for line in lines[start + 3:start + 8]]
    assert rows == [
        ["previous", E13, "→", E14, "=", "s"],
        ["previous", E14, "→", E15, "=", "="],
        ["migration", E15, "→", K3, "c", "r"],
        ["migration", E15, "→", TFK, "=", "?"],
        ["between", E13, "→", TFK, "s", "-"],
    ]
    assert lines[start + 8].split("  ")[1:] == ["= identical", "r round-off", "s random stream", "c real change",
                                                "? unknown", "- not compared"]
    block = lines.index(f"  {E15} → {K3} (migration: TF 2.16 made Keras 3 the keras that tf.keras means): "
                        "1 real change, 1 round-off")
    assert lines[block + 1:block + 4] == [
        "      packages: keras 2.15.0 → 3.0.0",
        f"    c alpha: real change: SENTENCE alpha {K3}",
        f"    r beta: round-off: SENTENCE beta {K3}",
    ]
    assert f"  {E13} → {TFK} (between: asked for with --between): 1 random stream" in lines
    assert not any(line.startswith(f"  {E14} → {E15}") for line in lines), "an identical edge has no items"


def test_the_text_summary_shows_claims_and_the_reference(ev):
    out = text.render(ev)
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("CLAIMS"))
    # OLD holds, NEW does not (its loss ends at inf), then a lineage gap, KERAS3 holds.
    assert lines[head + 1].startswith("  +x +  ")
    assert f"the loss | falls `below` 0.5 & <i>stays</i> (2/3 hold; does not hold in {NEW})" in out
    ref = next(i for i, line in enumerate(lines) if line.startswith("REFERENCE DRIFT"))
    assert lines[ref] == f"REFERENCE DRIFT (against {NEW}; information): 2 of 2 comparisons beyond tolerance"
    assert [line.split() for line in lines[ref + 2:ref + 4]] == [[OLD, "D"], [KERAS3, "D"]]


def test_shared_causes_and_drift_map_in_every_file(caused):
    files = write.render_all(caused)
    # summary.json: the groups with counts and the positions of their verdicts; the map.
    data = json.loads(files["summary.json"])
    assert data["version"] == 2
    machine = next(g for g in data["causes"] if g["key"] == MACHINE_KEY)
    assert (machine["count"], machine["outcomes"], machine["envs"], machine["cases"]) == (
        6, {"pass": 6}, [E13, E14, E15], ["alpha", "beta"])
    assert machine["cause"] == MACHINE_WORDS and machine["facts"] == MACHINE and machine["shown"]
    assert {(data["verdicts"][i]["status"], data["verdicts"][i]["cause"]["key"]) for i in machine["verdicts"]} == {
        ("round-off", MACHINE_KEY)}
    marks = {(r["before"], r["after"]): r["marks"] for r in data["drift_map"]}
    assert marks[(E15, K3)] == {"alpha": "c", "beta": "r"} and marks[(E13, TFK)] == {"alpha": "s"}
    assert [r["check"] for r in data["drift_map"]] == [c.value for c, *_ in EDGES]
    # junit.xml: round-off verdicts pass, with their cause.
    doc = etree.fromstring(files["junit.xml"])
    etree.XMLSchema(etree.parse(XSD)).assertValid(doc)
    roundoff = [c for c in doc.iter("testcase") if c.get("name") == "alpha/a :: golden"
                and c.get("classname") == "tfrepro.tf2_13-keras2"]
    assert len(roundoff) == 1 and [child.tag for child in roundoff[0]] == ["system-out"]
    assert f"cause: round-off: {MACHINE_WORDS}" in roundoff[0].findtext("system-out")
    assert int(doc.get("failures")) == 2
    # index.html: the causes section, the regressions linking to theirs, the drift map.
    page = lxml_html.fromstring(files["index.html"].decode())
    articles = page.xpath("//section[@id='causes']/article")
    assert [a.get("id") for a in articles] == ["cause-0", "cause-1"]
    assert "round-off in 6 verdicts: 3 environments × alpha, beta" in articles[1].text_content()
    assert MACHINE[1] in articles[1].text_content()  # every difference, in full and as text
    links = page.xpath("//section[@id='flagged']//article//a/@href")
    assert links == ["#cause-0", "#cause-0"]
    table = page.xpath("//section[@id='drift']//table[@class='drift']")[0]
    rows = [[td.text_content() for td in tr.xpath("th|td")] for tr in table.xpath("tbody/tr")]
    assert rows[2] == [f"{E15} → {K3}", "migration", "c", "r"]
    assert rows[4] == [f"{E13} → {TFK}", "between", "s", "-"]
    assert "SENTENCE alpha tf2.16-keras3.0" in table.xpath("tbody/tr[3]/td[2]/@title")[0]
    blocks = page.xpath("//section[@id='drift']/details")
    assert blocks[0].get("open") is not None and "between" in blocks[0].xpath("string(summary)")
    grid = [td.text_content() for td in page.xpath(f"//table[@class='grid']//tr[th='{E14}']/td")]
    assert "Δ prev s" in grid[1] and "Δ prev" not in grid[0]  # the grid's badge carries the map's mark
    # report.md: valid tables; the shared causes first; the map and its items, migrations first.
    md = MarkdownIt("commonmark").enable("table")
    tables = _tables(md.parse(files["report.md"].decode()))
    for t in tables:
        assert len({len(r) for r in t}) == 1
    causes, drift, items = tables[0], tables[3], tables[4]
    assert [r[0] for r in causes] == ["", "#1", "#2"] and "round-off" in causes[2][1]
    assert [r[2:] for r in drift[1:]] == [["`=`", "`s`"], ["`=`", "`=`"], ["`c`", "`r`"], ["`=`", "`?`"],
                                          ["`s`", "`-`"]]
    assert [r[1] for r in items[1:]] == ["alpha", "alpha", "beta", "beta", "beta"]
    assert "between" in items[1][0] and "migration" in items[2][0]
