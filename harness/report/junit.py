"""junit.xml: one test case per environment × case × check, in the common JUnit format
(Ant/Jenkins ``testsuites > testsuite > testcase``), for CI systems.

One testsuite per environment. A verdict that fails the run is a ``failure``
(regression, missing golden values, nondeterminism) or an ``error``
(infrastructure), carrying its one-sentence explanation; a known failure, a stale
entry or an environment that was not run is ``skipped``; information (claims,
cross-version drift) passes, with its sentence in ``system-out`` when it is not a
plain agreement. A round-off verdict (bits moved on another machine, explained by
round-off) passes too, its sentence and cause in ``system-out``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from harness.check.evaluate import Evaluation
from harness.check.verdicts import Verdict
from harness.core.status import Check, Outcome, Status
from harness.report import derive
from harness.report.escape import xml_text

FAILURE_TYPES = {Outcome.REGRESSION: "regression", Outcome.MISSING: "missing-golden",
                 Outcome.NONDETERMINISTIC: "nondeterministic"}


def _classname(env: str) -> str:
    # CI front ends split a classname at its dots into packages; "tf2.15-keras2" would
    # become package "tf2" and class "15-keras2". Underscores keep an environment whole.
    return "tfrepro." + env.replace(".", "_")


def _name(v: Verdict) -> str:
    return f"{v.case}{f'/{v.variant}' if v.variant else ''} :: {v.check_id}"


def _body(v: Verdict) -> str:
    lines = [v.message]
    if v.divergence is not None:
        lines.append(f"first divergence: {v.divergence.describe()}")
    if v.cause:
        lines.append(f"cause: {v.cause.get('kind') or 'unknown'}: {derive.cause_words(v)}")
    if v.packages:
        lines.append("package differences: " + ", ".join(v.packages))
    lines += [d.describe() for d in v.diffs if d.status not in (Status.IDENTICAL,)][:8]
    if v.details:
        lines += ["", v.details]
    return "\n".join(lines)


def _testcase(suite: ET.Element, v: Verdict, seconds: float) -> str:
    case = ET.SubElement(suite, "testcase", name=xml_text(_name(v)), classname=xml_text(_classname(v.env)),
                         time=f"{seconds:.3f}")
    message = xml_text(v.message)
    if v.outcome in FAILURE_TYPES:
        ET.SubElement(case, "failure", message=message, type=FAILURE_TYPES[v.outcome]).text = xml_text(_body(v))
        return "failures"
    if v.outcome == Outcome.ERROR:
        ET.SubElement(case, "error", message=message, type="error").text = xml_text(_body(v))
        return "errors"
    if v.outcome in (Outcome.KNOWN, Outcome.STALE) or (v.check == Check.ENVIRONMENT and v.status == Status.MISSING):
        reason = (v.known or {}).get("reason") or ""
        ET.SubElement(case, "skipped", message=xml_text(f"{v.outcome.value}: {v.message}"
                                                         + (f" ({reason})" if reason and reason not in v.message else "")))
        return "skipped"
    if v.status not in (Status.IDENTICAL, Status.CLOSE):
        said = v.message + (f"\ncause: {v.cause.get('kind') or 'unknown'}: {derive.cause_words(v)}" if v.cause else "")
        ET.SubElement(case, "system-out").text = xml_text(said)
    return "passed"


def build(ev: Evaluation) -> ET.Element:
    """junit.xml as an element tree: one testsuite per environment (the matrix's order, then
    any others), one testcase per verdict; a run verdict's time is the case's seconds."""
    order = [s.id for s in ev.specs]
    by_env: dict[str, list[Verdict]] = {}
    for v in ev.verdicts:
        by_env.setdefault(v.env, []).append(v)
    envs = [e for e in order if e in by_env] + sorted(e for e in by_env if e not in order)
    root = ET.Element("testsuites", name="tfrepro")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for env in envs:
        doc = ev.results.get(env)
        timing = (doc.timing.get("cases") if doc is not None else None) or {}
        suite = ET.SubElement(root, "testsuite", name=xml_text(env))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "passed": 0}
        suite_time = 0.0
        for v in by_env[env]:
            seconds = float(timing.get(v.case) or 0.0) if v.check == Check.RUN else 0.0
            seconds = seconds if math.isfinite(seconds) and seconds >= 0 else 0.0
            suite_time += seconds
            counts[_testcase(suite, v, seconds)] += 1
            counts["tests"] += 1
        for key in totals:
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
        suite.set("time", f"{suite_time:.3f}")
        total_time += suite_time
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root, space=" ")
    return root


def render(ev: Evaluation) -> bytes:
    """junit.xml as UTF-8 bytes with the XML declaration."""
    return ET.tostring(build(ev), encoding="utf-8", xml_declaration=True)
