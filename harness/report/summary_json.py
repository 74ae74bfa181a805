"""summary.json: the machine-readable verdicts (schema "tfrepro-summary", version 1).

Top level: schema, version, verdict, exit_code, counts (per outcome), environments
(id, lineage, python, requirements, status), cases, verdicts (Verdict.to_json()),
problems. Non-finite floats are written as strings ("inf", "nan") so that strict
JSON readers accept the file.
"""

from __future__ import annotations

from harness import summary
from harness.evaluate import Evaluation
from harness.status import Outcome

SCHEMA = "tfrepro-summary"
VERSION = 1


def build(ev: Evaluation) -> dict:
    env_status = {v.env: v.status.value for v in ev.verdicts if v.check == "environment"}
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "verdict": summary.verdict_line(ev),
        "exit_code": ev.exit_code,
        "counts": {o.value: len(ev.by_outcome(o)) for o in Outcome},
        "environments": [
            dict(s.to_json(), status=env_status.get(s.id, "ok"),
                 versions=(ev.results.get(s.id) or {}).get("versions"))
            for s in ev.specs
        ],
        "cases": ev.cases,
        "problems": list(ev.problems),
        "verdicts": [v.to_json() for v in ev.verdicts],
    }
