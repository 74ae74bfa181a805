"""Write report/: summary.json for machines, report.md for CI summaries."""

from __future__ import annotations

import os

from harness import store
from harness.evaluate import Evaluation
from harness.report import summary_json


def write_report(ev: Evaluation, folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    store.write_json(os.path.join(folder, "summary.json"), summary_json.build(ev))
    return os.path.join(folder, "summary.json")
