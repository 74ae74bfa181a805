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
Results are only ever merged: a run keeps every case it did not run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from harness import config
from harness.core import store
from harness.core.documents.results import CaseResult, Results
from harness.core.documents.schema import RESULTS_KIND, RESULTS_VERSION
from harness.core.errors import InfrastructureError
from harness.core.reader import DocumentError
from harness.inenv import determinism, numerics
from harness.inenv.cases import source_digest
from harness.matrix import envs, locks

RUNNER_DIR = config.RUNNER_DIR
FORCE_HINT = "--force or HARNESS_FORCE=1 re-runs it"


def file_digest(path: str) -> str:
    """The hex sha256 of a file's bytes."""
    return store.sha256_file(path)


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
    repeat: int | None  # the runs per variant asked for (None: decided per variant)
    numerics_sha256: str  # the variables that change numerics (oneDNN, threads, XLA flags …) the workers get
    cases: tuple[tuple[str, str], ...]  # (case, sha256 of its source and helpers), in run order

    def stamp(self) -> dict:
        """The digests every case entry of this run records."""
        return {"lock_sha256": self.lock_sha256, "runner_sha256": self.runner_sha256,
                "numerics_sha256": self.numerics_sha256, "repeat": self.repeat}


def numerics_digest(spec: envs.EnvSpec, environ: dict[str, str] | None = None) -> str:
    """The sha256 of the variables that change numerics, as this environment's workers
    will see them (the fingerprint's watch list): exporting ONEDNN_MAX_CPU_ISA, say,
    runs everything again, as a changed lock does."""
    env = determinism.process_env(dict(spec.env_vars), os.environ if environ is None else environ)
    watched = sorted(set(determinism.NUMERIC_ENV) | set(numerics.EXTRA_NUMERIC_ENV))
    chosen = sorted((k, v) for k, v in env.items() if numerics.watches(watched, k))
    return hashlib.sha256(json.dumps(chosen).encode()).hexdigest()


def collect_inputs(spec: envs.EnvSpec, case_files: dict[str, str], repeat: int | None, root: str,
                   environ: dict[str, str] | None = None) -> RunInputs:
    """What one environment's results depend on, by content: its definition, lock, runner,
    numeric variables, repeat count, and each case's source digest (helpers included)."""
    return RunInputs(
        env=json.loads(json.dumps(spec.to_json())),  # as read back: tuples become lists
        lock_sha256=locks.lock_digest(spec, root),
        runner_sha256=runner_digest(),
        repeat=repeat,
        numerics_sha256=numerics_digest(spec, environ),
        cases=tuple((name, source_digest(path)) for name, path in case_files.items()),
    )


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one environment's run will do, and why."""

    env: str
    inputs: RunInputs
    run: tuple[tuple[str, str], ...]  # (case, why it runs)
    keep: tuple[str, ...]  # selected cases whose previous results still hold
    others: tuple[str, ...]  # previous cases this run does not select: kept as they are
    whole: str | None = None  # why everything runs, when it does
    since: str | None = None  # when the kept results were made

    @property
    def up_to_date(self) -> bool:
        """Whether nothing needs running."""
        return not self.run

    def describe(self) -> str:
        """One line for the log: what runs and why, and what is kept."""
        dropped = ""  # results are never dropped; cases outside this run are kept as they are
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


def read_previous(results_dir: str, env_id: str) -> tuple[Results | None, str | None]:
    """The last result and, when it cannot be used as a whole, why. A result written by a
    newer harness is an InfrastructureError: it is never run over (nor overwritten)."""
    path = store.document_path(results_dir, env_id)
    newer = store.newer_schema(path, RESULTS_KIND, RESULTS_VERSION)
    if newer is not None:
        raise InfrastructureError(f"{path} was written by a newer harness (schema {newer}); this one "
                                  f"(schema {RESULTS_VERSION}) leaves it as it is: upgrade tfrepro, or use "
                                  "another --results folder")
    try:
        doc = store.read_results(path)
    except FileNotFoundError:
        return None, "no previous result"
    except DocumentError as exc:
        return None, f"the previous result is unusable ({exc})"
    if not doc.ok:
        return doc, f"the previous result was {doc.status.value} ({doc.reason})"
    if doc.upgraded_from is not None:
        return doc, f"the previous result was written with schema {doc.upgraded_from}"
    return doc, None


def plan(inputs: RunInputs, previous: Results | None, unusable: str | None, force: bool = False) -> Plan:
    """Decide from ``previous`` (results/<env>.json as read, or None) and, when it cannot
    be used as a whole, ``unusable`` (why). Cases of ``previous`` that this run does not
    select (another --case, another cases folder) are kept, never dropped."""
    env_id = inputs.env["id"]
    selected = {c for c, _ in inputs.cases}
    others = tuple(c for c in (previous.cases if previous is not None else {}) if c not in selected)
    if force or previous is None or unusable:
        whole = "forced" if force else unusable or "no previous result"
        return Plan(env_id, inputs, tuple((c, whole) for c, _ in inputs.cases), (), others, whole)
    if _definition(previous.env) != _definition(inputs.env):
        whole = "the environment's definition changed (harness/matrix/envs.py)"
        return Plan(env_id, inputs, tuple((c, whole) for c, _ in inputs.cases), (), others, whole)
    run, keep = [], []
    for case, source in inputs.cases:
        why = stale_reason(previous.cases.get(case), source, inputs)
        if why:
            run.append((case, why))
        else:
            keep.append(case)
    return Plan(env_id, inputs, tuple(run), tuple(keep), others, None, previous.created)


def _definition(env: dict) -> dict:
    # Tags only select environments; they change no number.
    return {k: v for k, v in env.items() if k != "tags"}


def stale_reason(entry: CaseResult | None, source_sha256: str, inputs: RunInputs) -> str | None:
    """Why a case's previous entry no longer stands for it; None when it does."""
    if entry is None:
        return "new case"
    if entry.source_sha256 != source_sha256:
        return "source changed"
    if entry.lock_sha256 != inputs.lock_sha256:
        return "lock changed" if entry.lock_sha256 else "no lock digest recorded"
    if entry.runner_sha256 != inputs.runner_sha256:
        return "runner changed" if entry.runner_sha256 else "no runner digest recorded"
    if entry.numerics_sha256 != inputs.numerics_sha256:
        return ("the variables that change numerics changed" if entry.numerics_sha256 else
                "no numerics digest recorded")
    if entry.repeat != inputs.repeat:
        return f"runs per variant changed ({entry.repeat} -> {inputs.repeat})"
    if not entry.ok:
        return "it had errors"
    return None


def merge(new: Results, previous: Results | None, chosen: Plan) -> Results:
    """``new`` (the cases just run) completed with every case of ``previous`` it did not
    run: results are only ever merged, never dropped by a run that did not produce them.
    When the environment failed as a whole, the document says so and still keeps them."""
    if previous is None:
        return new
    kept = {c: e for c, e in previous.cases.items() if c not in new.cases or not new.ok}
    cases = {**kept, **(new.cases if new.ok else {})}
    order = [c for c, _ in chosen.inputs.cases] + [c for c in previous.cases] + list(cases)
    ordered = {c: cases[c] for c in dict.fromkeys(order) if c in cases}
    old_timing = previous.timing.get("cases", {}) if isinstance(previous.timing.get("cases"), dict) else {}
    timing = dict(new.timing)
    timing["cases"] = {**{c: old_timing[c] for c in kept if c in old_timing}, **new.timing.get("cases", {})}
    return dataclasses.replace(new, cases=ordered, timing=timing)
