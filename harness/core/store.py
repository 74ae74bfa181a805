"""Reading and writing the documents on disk: results/<env>.json and golden/<env>.json.

Writes are atomic (a temporary file in the same folder, fsync, rename), so an
interrupted run or a full disk never leaves a half-written file behind and the
previous file survives. Reads never crash: a broken document is reported as a
``DocumentError`` naming the file and what is wrong, and the caller turns it into
a verdict.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from typing import Any

from harness.core.documents.golden import Golden
from harness.core.documents.results import Results
from harness.core.documents.schema import (
    GOLDEN_KIND,
    GOLDEN_VERSION,
    RESULTS_KIND,
    RESULTS_VERSION,
    check_header,
)
from harness.core.errors import InfrastructureError
from harness.core.reader import DocumentError, Where

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def safe_name(name: str) -> str:
    """``name`` if it is usable as a file name, else a clear error: environment and
    case names become file names, and must never reach outside their folder."""
    if not _SAFE_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"{name!r} is not a safe name (letters, digits, '.', '_', '+', '-'; no path)")
    return name


def document_path(folder: str, env_id: str) -> str:
    """``folder/<env_id>.json``; ValueError when ``env_id`` is not a safe file name."""
    return os.path.join(folder, safe_name(env_id) + ".json")


def _read_umask() -> int:
    """The process's umask (read once, at import: setting it is process-wide, and the
    evidence phase writes from threads)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_json(path: str, data: Any) -> None:
    """Write ``data`` to ``path`` atomically; on any failure the old file is intact."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        # mkstemp makes the file 0600; a results or golden file is shared like any other file
        # the user writes (the umask decides, as open() would).
        os.chmod(tmp, 0o666 & ~_UMASK)
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


def sha256_file(path: str) -> str:
    """The hex sha256 of a file's bytes (content, never timestamps, decides what changed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load(path: str) -> Any:
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
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); truncated?") from exc


# Results read in this process, by file identity: `compare --evidence` reads every file to
# plan the evidence and again to compare, and a file the evidence step did not change is
# the same document (they are frozen). Files are only ever replaced whole (write_json:
# a new inode), so a changed file never matches an old entry.
_READ: dict[str, tuple[tuple[int, int, int, int], Results]] = {}


def read_results(path: str) -> Results:
    """results/<env>.json, validated; FileNotFoundError when absent, DocumentError when unusable."""
    try:
        st = os.stat(path)
        identity = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        identity = None
    key = os.path.realpath(path)
    known = _READ.get(key)
    if identity is not None and known is not None and known[0] == identity:
        return known[1]
    data = _load(path)
    where = Where(path, fix="re-run the environment, or delete the file")
    check_header(where, data, RESULTS_KIND, RESULTS_VERSION,
                 "it is run again (results of an older harness are not compared)")
    doc = Results.from_json(where, data)
    if identity is not None:
        _READ[key] = (identity, doc)
    return doc


def read_golden(path: str) -> Golden:
    """golden/<env>.json, validated and upgraded to the current schema in memory."""
    data = _load(path)
    where = Where(path, fix="restore it from version control, or bless the environment again with --force")
    check_header(where, data, GOLDEN_KIND, GOLDEN_VERSION, "bless it again")
    return Golden.from_json(where, data)


def newer_schema(path: str, kind: str, version: int) -> int | None:
    """The schema version of the document at ``path`` when it is newer than ``version``
    (a newer harness wrote it: it must not be overwritten), else None."""
    try:
        data = _load(path)
    except (FileNotFoundError, DocumentError):
        return None
    found = data.get("version") if isinstance(data, dict) and data.get("schema") == kind else None
    return found if isinstance(found, int) and not isinstance(found, bool) and found > version else None


def write_results(path: str, doc: Results) -> None:
    """Write results atomically; refuses to replace a file a newer harness wrote."""
    newer = newer_schema(path, RESULTS_KIND, RESULTS_VERSION)
    if newer is not None:
        raise DocumentError(f"{path}: written by a newer harness (schema {newer}); this one "
                            f"(schema {RESULTS_VERSION}) leaves it as it is: upgrade tfrepro, "
                            "or use another --results folder")
    write_json(path, doc.to_json())


def write_golden(path: str, doc: Golden) -> None:
    """Write golden values atomically; DocumentError when the file there is a newer schema
    (a newer harness wrote it: it is left as it is)."""
    newer = newer_schema(path, GOLDEN_KIND, GOLDEN_VERSION)
    if newer is not None:
        raise DocumentError(f"{path}: written by a newer harness (schema {newer}); upgrade tfrepro to bless")
    write_json(path, doc.to_json())


class Busy(InfrastructureError):
    """Another process holds the lock of a document (a run or a bless of the same environment)."""


# How long a writer waits for the lock, by what it is: a bless takes seconds, so a second
# bless of the same environment waits for the first and then merges into what it wrote; a
# run takes minutes, so a second run fails at once and says so.
WAIT_SECONDS = {"bless": 120.0, "run": 0.0}


class exclusive:
    """One writer per document (a run's results, a bless's golden file): a second
    writer at the same time waits (a bless) or fails clearly (a run) instead of losing
    the first one's work. Raises Busy (exit code 4) when the lock stays taken."""

    def __init__(self, path: str, what: str = "run", wait: float | None = None):
        self.what = what
        self.wait = WAIT_SECONDS.get(what, 0.0) if wait is None else wait
        self.lock_path = os.path.join(os.path.dirname(path) or ".", "." + os.path.basename(path) + ".lock")

    def __enter__(self):
        os.makedirs(os.path.dirname(self.lock_path) or ".", exist_ok=True)
        self.fh = open(self.lock_path, "a+")  # held until __exit__
        give_up = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    break
                time.sleep(0.05)
        self.fh.close()
        waited = f" (waited {self.wait:g} s)" if self.wait else ""
        raise Busy(
            f"another {self.what} is writing {self.lock_path[:-5].replace('/.', '/')} right now{waited}; "
            "wait for it" + (" or use a separate --results folder" if self.what == "run" else "")
        ) from None

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
