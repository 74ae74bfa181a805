"""Write report/: index.html for people, report.md for CI summaries, junit.xml for CI
test views, summary.json for machines. Each file is written atomically, so a
report folder never holds a half-written file."""

from __future__ import annotations

import os
import tempfile
import time

from harness.check.evaluate import Evaluation
from harness.report import html, junit, markdown, model, summary_json

FILES = ("index.html", "report.md", "junit.xml", "summary.json")


def _write_atomic(path: str, data: bytes) -> None:
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def render_all(ev: Evaluation) -> dict[str, bytes]:
    """Every report file's bytes, by file name (nothing written)."""
    view = model.build(ev)
    return {
        "index.html": html.render(view).encode("utf-8"),
        "report.md": markdown.render(view).encode("utf-8"),
        "junit.xml": junit.render(ev),
        "summary.json": summary_json.render(ev, view.causes, view.drift_map, view.reference).encode("utf-8"),
    }


def write_report(ev: Evaluation, folder: str) -> str:
    """Write the four files into ``folder``; returns the absolute path of index.html."""
    started = time.perf_counter()
    os.makedirs(folder, exist_ok=True)
    for name, data in render_all(ev).items():
        _write_atomic(os.path.join(folder, name), data)
    index = os.path.abspath(os.path.join(folder, "index.html"))
    print(f"report written in {time.perf_counter() - started:.1f} s: {', '.join(FILES)} in "
          f"{os.path.abspath(folder)}")
    return index
