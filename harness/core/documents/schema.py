"""The schema header of the two document files: their kind, their version, and
what a reader does with a version it did not write.

Schema versions follow asv's habit (``api_version`` and upgrade functions): an
older golden file is upgraded when read (harness.core.documents.golden); an older
results file is compared as it is but run again by the next matrix; a newer one is
refused, never overwritten.
"""

from __future__ import annotations

from typing import Any

from harness.core.reader import Where

RESULTS_KIND = "tfrepro-results"
GOLDEN_KIND = "tfrepro-golden"
RESULTS_VERSION = 2
GOLDEN_VERSION = 2


def check_header(where: Where, data: Any, kind: str, version: int, older: str) -> None:
    """The schema and version of a document; ``older`` says what to do with an older one.

    Raises DocumentError at ``where`` when ``data`` is not a ``kind`` document, has no
    version, or has a newer one (a newer harness wrote it), or an older one other than
    schema 1 (which the documents upgrade when read)."""
    if not isinstance(data, dict) or data.get("schema") != kind:
        raise where.error(f"not a {kind} document")
    found = data.get("version")
    if not isinstance(found, int) or isinstance(found, bool):
        raise where.error("no schema version")
    if found > version:
        raise where.error(f"written by a newer harness (schema {found}, this one reads {version}); "
                          "upgrade tfrepro (it is left as it is)", fix=False)
    if found < version and found != 1:  # schema 1 of either kind is upgraded when read
        raise where.error(f"schema {found} is older than {version}; {older}")
