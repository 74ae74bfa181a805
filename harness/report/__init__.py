"""The report: summary.json, report.md, junit.xml and index.html from an Evaluation."""

from harness.report.write import write_report

__all__ = ["write_report"]
