"""summary.json: the machine-readable verdicts.

Schema "tfrepro-summary", version 1. A reader checks ``schema`` and ``version``;
fields may be added within a version, never renamed or removed (that bumps it).

    schema        "tfrepro-summary"
    version       1
    verdict       one line: "PASS: no regression", "FAIL: regression", ...
    exit_code     what `python -m harness compare` exits with (0, 1, 3, 4, 5)
    counts        {outcome: number of verdicts}, every outcome of harness.status.Outcome
    environments  [{id, python, requirements, exclude_newer, flavour, backend, tags,
                    env_vars, lineage, status, versions}] in report order (lineage by
                    lineage, version order); status is "ok" or the environment
                    verdict's status ("missing" = not run, "unavailable", "error");
                    versions is the result's {package: version} or null
    cases         [case name], sorted
    problems      [sentence] about unreadable inputs
    verdicts      [{env, case, check, variant, status, outcome, message, against,
                    divergence: {stage, observable, where} | null, packages: [str],
                    diffs: [{observable, status, n_total, n_differ, n_beyond, max_abs,
                             max_rel, max_ulps, first, note}],
                    details, known: {env, case, check, reason, link} | null}]
                  one per environment × case × check; check is "environment", "run",
                  "golden", "determinism", "invariant:<name>", "claim:<name>",
                  "drift:previous" or "drift:reference"

Strict JSON: NaN and infinities anywhere are written as the strings "nan", "inf"
and "-inf".
"""

from __future__ import annotations

import json
import math

from harness.check.evaluate import Evaluation
from harness.core.status import Check, Outcome
from harness.report import text

SCHEMA = "tfrepro-summary"
VERSION = 1


def _strict(value):
    """``value`` with every non-finite float replaced by its name (JSON has none)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _finite_only(data) -> bool:
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        return False
    return True


def build(ev: Evaluation) -> dict:
    env_status = {v.env: v.status.value for v in ev.verdicts if v.check == Check.ENVIRONMENT}
    data = {
        "schema": SCHEMA,
        "version": VERSION,
        "verdict": text.verdict_line(ev),
        "exit_code": ev.exit_code,
        "counts": {o.value: len(ev.by_outcome(o)) for o in Outcome},
        "environments": [
            dict(s.to_json(), status=env_status.get(s.id, "ok"),
                 versions=ev.results[s.id].versions if s.id in ev.results else None)
            for s in ev.specs
        ],
        "cases": ev.cases,
        "problems": list(ev.problems),
        "verdicts": [v.to_json() for v in ev.verdicts],
    }
    return data if _finite_only(data) else _strict(data)


def render(ev: Evaluation) -> str:
    data = build(ev)
    # No indent: the C encoder is many times faster, and the full matrix has thousands of verdicts.
    return json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":")) + "\n"
