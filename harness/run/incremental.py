"""Incremental runs: which cases of an environment need running again.

A case's result depends on its source, on the packages installed (the lock file)
and on the runner that executed it (harness/inenv/*.py), so each case entry of
results/<env>.json records the sha256 of all three, and the runs per variant.
The plan compares those digests with the files as they are now; it reads nothing
but the results document, so nox can decide before it syncs a virtualenv. Content,
not timestamps: a fresh checkout or a `touch` changes nothing, an edit does.

Everything is re-run when forced, when there is no readable result of this
schema, when the environment was unavailable or its definition changed. A case is
re-run when it is new, when any of its digests differ, or when it had errors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from harness import config
from harness.core import store
from harness.matrix import envs, locks

RUNNER_DIR = config.RUNNER_DIR
FORCE_HINT = "--force or HARNESS_FORCE=1 re-runs it"


def file_digest(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def runner_digest(folder: str = RUNNER_DIR) -> str:
    """One digest over the in-environment runner's sources, names included."""
    total = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            total.update(name.encode() + b"\0" + bytes.fromhex(file_digest(os.path.join(folder, name))))
    return total.hexdigest()


@dataclasses.dataclass(frozen=True)
class RunInputs:
    """What the results of one environment depend on, by content."""

    env: dict  # the environment's definition, as results record it (EnvSpec.to_json())
    lock_sha256: str | None
    runner_sha256: str
    repeat: int
    cases: tuple[tuple[str, str], ...]  # (case, sha256 of its source), in run order

    def stamp(self) -> dict:
        """The digests every case entry of this run records."""
        return {"lock_sha256": self.lock_sha256, "runner_sha256": self.runner_sha256, "repeat": self.repeat}


def collect_inputs(spec: envs.EnvSpec, case_files: dict[str, str], repeat: int, root: str) -> RunInputs:
    return RunInputs(
        env=json.loads(json.dumps(spec.to_json())),  # as read back: tuples become lists
        lock_sha256=locks.lock_digest(spec, root),
        runner_sha256=runner_digest(),
        repeat=repeat,
        cases=tuple((name, file_digest(path)) for name, path in case_files.items()),
    )


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one environment's run will do, and why."""

    env: str
    inputs: RunInputs
    run: tuple[tuple[str, str], ...]  # (case, why it runs)
    keep: tuple[str, ...]  # cases whose previous results still hold
    drop: tuple[str, ...]  # previous cases no selected case folder has any more
    whole: str | None = None  # why everything runs, when it does
    since: str | None = None  # when the kept results were made

    @property
    def up_to_date(self) -> bool:
        return not self.run

    def describe(self) -> str:
        dropped = f"; dropping {', '.join(self.drop)} (no such case any more)" if self.drop else ""
        if self.up_to_date:
            return (f"up to date, skipped: lock, runner and {_cases(len(self.keep))} unchanged since "
                    f"{self.since or 'the last run'} ({FORCE_HINT}){dropped}")
        if self.whole:
            return f"running {_cases(len(self.run))}: {self.whole}{dropped}"
        reasons = {why for _, why in self.run}
        if not self.keep and len(reasons) == 1:
            return f"running {_cases(len(self.run))}: {reasons.pop()}{dropped}"
        what = ", ".join(f"{case} ({why})" for case, why in self.run)
        kept = f"; keeping {', '.join(self.keep)}" if self.keep else ""
        return f"running {len(self.run)} of {_cases(len(self.run) + len(self.keep))}: {what}{kept}{dropped}"


def _cases(n: int) -> str:
    return f"{n} case" if n == 1 else f"{n} cases"


def read_previous(results_dir: str, env_id: str) -> tuple[dict | None, str | None]:
    """The last result and, when it cannot be used as a whole, why."""
    path = store.document_path(results_dir, env_id)
    try:
        doc = store.read_document(path, store.RESULTS_KIND)
    except FileNotFoundError:
        return None, "no previous result"
    except store.DocumentError as exc:
        return None, f"the previous result is unusable ({exc})"
    if doc.get("status") != "ok":
        return None, f"the previous result was {doc.get('status')} ({doc.get('reason')})"
    return doc, None


def plan(inputs: RunInputs, previous: dict | None, unusable: str | None, force: bool = False,
         partial: bool = False) -> Plan:
    """Decide from ``previous`` (results/<env>.json as read, or None with the reason).

    ``partial``: only some cases were asked for (--case), so previous results of
    the others are kept rather than dropped."""
    env_id = inputs.env["id"]
    selected = {c for c, _ in inputs.cases}
    if force or previous is None:
        whole = "forced" if force else unusable or "no previous result"
        # A forced run of some cases (--case) still keeps the others' results.
        others = tuple(c for c in (previous or {}).get("cases", {}) if c not in selected) if partial else ()
        return Plan(env_id, inputs, tuple((c, whole) for c, _ in inputs.cases), others, (), whole)
    if _definition(previous.get("env") or {}) != _definition(inputs.env):
        whole = "the environment's definition changed (harness/matrix/envs.py)"
        return Plan(env_id, inputs, tuple((c, whole) for c, _ in inputs.cases), (), (), whole)
    old = previous["cases"]
    run, keep = [], []
    for case, source in inputs.cases:
        why = stale_reason(old.get(case), source, inputs)
        if why:
            run.append((case, why))
        else:
            keep.append(case)
    if partial:
        keep += [c for c in old if c not in selected]
        drop: list[str] = []
    else:
        drop = [c for c in old if c not in selected]
    return Plan(env_id, inputs, tuple(run), tuple(keep), tuple(drop), None, previous.get("created"))


def _definition(env: dict) -> dict:
    # Tags only select environments; they change no number.
    return {k: v for k, v in env.items() if k != "tags"}


def stale_reason(entry: dict | None, source_sha256: str, inputs: RunInputs) -> str | None:
    """Why a case's previous entry no longer stands for it; None when it does."""
    if entry is None:
        return "new case"
    if entry.get("source_sha256") != source_sha256:
        return "source changed"
    if entry.get("lock_sha256") != inputs.lock_sha256:
        return "lock changed" if entry.get("lock_sha256") else "no lock digest recorded"
    if entry.get("runner_sha256") != inputs.runner_sha256:
        return "runner changed" if entry.get("runner_sha256") else "no runner digest recorded"
    if entry.get("repeat") != inputs.repeat:
        return f"runs per variant changed ({entry.get('repeat')} -> {inputs.repeat})"
    if entry.get("status") != "ok" or any(v.get("status") != "ok" for v in entry.get("variants", {}).values()):
        return "it had errors"
    return None


def merge(new: dict, previous: dict | None, chosen: Plan) -> dict:
    """``new`` (the cases just run) completed with the kept cases of ``previous``.

    An environment that failed as a whole keeps nothing: its document says so."""
    if previous is None or new.get("status") != "ok":
        return new
    cases = {c: previous["cases"][c] for c in chosen.keep if c in previous["cases"]}
    cases.update(new["cases"])
    order = [c for c, _ in chosen.inputs.cases] + [c for c in cases if c not in dict(chosen.inputs.cases)]
    new["cases"] = {c: cases[c] for c in order if c in cases}
    old_timing = (previous.get("timing") or {}).get("cases", {})
    timing = new.setdefault("timing", {"cases": {}})
    timing["cases"] = {**{c: old_timing[c] for c in chosen.keep if c in old_timing}, **timing.get("cases", {})}
    return new


def without_dropped(previous: dict, chosen: Plan) -> dict:
    """The previous document, minus the cases no selected folder has any more."""
    doc = dict(previous)
    doc["cases"] = {c: e for c, e in previous["cases"].items() if c not in chosen.drop}
    return doc
