"""Reading and writing the JSON documents: results/<env>.json and golden/<env>.json.

Writes are atomic (a temporary file in the same folder, fsync, rename), so an
interrupted run or a full disk never leaves a half-written file behind and the
previous file survives. Reads never crash: a broken document is reported as a
``DocumentError`` naming the file and what is wrong, and the caller turns it into
a verdict.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from typing import Any

RESULTS_KIND = "tfrepro-results"
GOLDEN_KIND = "tfrepro-golden"
SCHEMA_VERSION = 1

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


class DocumentError(Exception):
    """A results or golden file that cannot be used; the message names the file."""


def safe_name(name: str) -> str:
    """``name`` if it is usable as a file name, else a clear error: environment and
    case names become file names, and must never reach outside their folder."""
    if not _SAFE_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"{name!r} is not a safe name (letters, digits, '.', '_', '+', '-'; no path)")
    return name


def document_path(folder: str, env_id: str) -> str:
    return os.path.join(folder, safe_name(env_id) + ".json")


def write_json(path: str, data: Any) -> None:
    """Write ``data`` to ``path`` atomically; on any failure the old file is intact."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):  # a full disk or a file size limit: say which file, and that it is intact
            raise OSError(exc.errno, f"cannot write {path} ({exc.strerror}); "
                          "the previous file, if any, is unchanged") from exc
        raise


def read_document(path: str, kind: str) -> dict:
    """Load and validate a document of ``kind``; DocumentError says what is wrong."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path}: cannot be read ({exc})") from exc
    if not text.strip():
        raise DocumentError(f"{path}: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); truncated?") from exc
    if not isinstance(data, dict) or data.get("schema") != kind:
        raise DocumentError(f"{path}: not a {kind} document")
    version = data.get("version")
    if not isinstance(version, int):
        raise DocumentError(f"{path}: no schema version")
    if version > SCHEMA_VERSION:
        raise DocumentError(
            f"{path}: written by a newer harness (schema {version}, this one reads {SCHEMA_VERSION}); "
            "upgrade the harness"
        )
    if version < SCHEMA_VERSION:
        raise DocumentError(
            f"{path}: schema {version} is older than {SCHEMA_VERSION}; re-run the environment "
            "(and bless again for a golden file)"
        )
    if not isinstance(data.get("cases"), dict):
        raise DocumentError(f"{path}: has no 'cases' table")
    return data


class Busy(RuntimeError):
    """Another process holds the lock of a document (a run or a bless of the same environment)."""


class exclusive:
    """One writer per environment's results: a second run at once fails clearly."""

    def __init__(self, path: str):
        self.lock_path = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".lock")

    def __enter__(self):
        self.fh = open(self.lock_path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise Busy(
                f"another run is writing {self.lock_path[:-5].replace('/.', '/')} right now; "
                "wait for it or use a separate --results folder"
            ) from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
