"""What every report format shows, derived once from an Evaluation.

The renderers (html, markdown, junit) only lay this out; nothing here formats
markup. Environments keep the Evaluation's order: lineage by lineage, each in
version order.
"""

from __future__ import annotations

import dataclasses
import functools
import shlex

from harness.check import fingerprints
from harness.check.evaluate import Evaluation
from harness.check.packages import key_changes, package_changes
from harness.check.verdicts import Verdict
from harness.core.documents.observables import Kind, Observable
from harness.core.documents.results import VariantResult
from harness.core.status import Check, Outcome, Status
from harness.matrix import envs
from harness.report import derive, text
from harness.report.derive import CauseGroup, ClaimRow, EdgeRow

__all__ = ["CauseGroup", "ClaimRow", "EdgeRow", "ReportModel", "build"]

LINEAGE_TITLES = {
    envs.BUNDLED: "TensorFlow with its bundled tf.keras (Keras 2)",
    envs.KERAS3: "Keras 3 on TensorFlow",
    envs.TF_KERAS: "the tf-keras package (Keras 2) on TensorFlow",
    envs.STANDALONE: "standalone Keras 2 on TensorFlow",
    f"{envs.KERAS3}-jax": "Keras 3 on JAX",
}

# A grid cell takes the state of its worst verdict; the order is the severity.
CELL_STATES = ("regression", "error", "nondeterministic", "missing", "known", "fixed", "drift", "pass",
               "absent", "not-run", "unavailable")
_STATE_OF_OUTCOME = {
    Outcome.REGRESSION: "regression", Outcome.ERROR: "error", Outcome.NONDETERMINISTIC: "nondeterministic",
    Outcome.MISSING: "missing", Outcome.KNOWN: "known", Outcome.FIXED: "fixed", Outcome.STALE: "known",
}
# Severe sections are shown expanded; the rest folded when long.
SEVERE = (Outcome.REGRESSION, Outcome.NONDETERMINISTIC, Outcome.ERROR)
KEY_COLUMNS = ("tensorflow", "keras", "tf-keras", "jax", "numpy", "protobuf")


@dataclasses.dataclass(frozen=True)
class Cell:
    env: str
    case: str
    state: str  # one of CELL_STATES
    mark: str  # the golden mark of the text summary ("=", "~", "D", "?", "E") or ""
    badges: tuple[str, ...]  # short notes: "inv ✗2", "known 2", "Δ prev"
    notes: tuple[str, ...]  # the sentences behind the state, worst first


@dataclasses.dataclass(frozen=True)
class EnvRow:
    spec: envs.EnvSpec
    state: str  # "ok", "not-run", "unavailable", "error"
    note: str  # why it is not ok
    python: str
    versions: dict[str, str]  # KEY_COLUMNS -> version, where installed
    previous: str | None  # the environment before it in its lineage, when it has results
    key_changes: tuple[str, ...]  # vs previous: key packages
    other_changes: tuple[str, ...]  # vs previous: every other package and the platform


@dataclasses.dataclass(frozen=True)
class Section:
    outcome: Outcome
    title: str
    items: tuple[Verdict, ...]
    expanded: bool


@dataclasses.dataclass(frozen=True)
class MissingGroup:
    """Golden values missing for one case, in several environments: one bless command."""

    case: str
    envs: tuple[str, ...]
    command: str


@dataclasses.dataclass(frozen=True)
class ReportModel:
    ev: Evaluation
    verdict: str
    exit_code: int
    counts: dict[Outcome, int]
    lineages: tuple[tuple[str, tuple[envs.EnvSpec, ...]], ...]
    env_rows: tuple[EnvRow, ...]
    cells: dict[tuple[str, str], Cell]
    sections: tuple[Section, ...]
    missing: tuple[MissingGroup, ...]
    claims: tuple[ClaimRow, ...]
    causes: tuple[CauseGroup, ...]  # every cause key with its verdicts (derive.cause_groups)
    drift_map: tuple[EdgeRow, ...]  # drift:previous, drift:migration, drift:between, classified
    reference: tuple[EdgeRow, ...]  # drift:reference (not classified)

    @property
    def cases(self) -> list[str]:
        return self.ev.cases

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def shown_causes(self) -> tuple[CauseGroup, ...]:
        """The golden causes that get an item: shared by several verdicts, or holding passes."""
        return tuple(g for g in self.causes if g.shown and not g.drift)

    def shared_cause(self, v: Verdict) -> CauseGroup | None:
        """The shown cause group ``v`` belongs to, if any."""
        key = v.cause.get("key") if isinstance(v.cause, dict) else None
        group = self._by_key.get(str(key)) if key else None
        return group if group is not None and group.shown and not group.drift else None

    @functools.cached_property
    def _by_key(self) -> dict[str, CauseGroup]:
        return {g.key: g for g in self.causes}


def lineages(specs: tuple[envs.EnvSpec, ...] | list[envs.EnvSpec]) -> tuple[tuple[str, tuple[envs.EnvSpec, ...]], ...]:
    """``specs`` grouped by lineage: (lineage, its specs), in the order each lineage first appears."""
    groups: dict[str, list[envs.EnvSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.lineage, []).append(spec)
    return tuple((name, tuple(members)) for name, members in groups.items())


def lineage_title(lineage: str) -> str:
    """The heading of a lineage ("Keras 3 on TensorFlow"…), or its name when it has none."""
    return LINEAGE_TITLES.get(lineage, lineage)


def _cell(env: str, case: str, verdicts: list[Verdict]) -> Cell:
    states = [_STATE_OF_OUTCOME.get(v.outcome, "pass") for v in verdicts]
    drift = [v for v in verdicts if v.check == Check.DRIFT_PREVIOUS and v.status == Status.DRIFT]
    if drift:
        states.append("drift")
    state = min(states, key=CELL_STATES.index) if states else "absent"
    golden = next((v for v in verdicts if v.check == Check.GOLDEN), None)
    badges = []
    broken = [v for v in verdicts if v.check == Check.INVARIANT and v.outcome == Outcome.REGRESSION]
    known = [v for v in verdicts if v.outcome == Outcome.KNOWN]
    errors = [v for v in verdicts if v.outcome == Outcome.ERROR and v.check != Check.GOLDEN]
    claims = [v for v in verdicts if v.check == Check.CLAIM and v.status == Status.DRIFT]
    for items, label in ((broken, "inv ✗"), (errors, "error"), (known, "known"), (claims, "claim ✗")):
        if items:
            badges.append(f"{label} {len(items)}" if len(items) > 1 else label)
    if any(v.outcome == Outcome.NONDETERMINISTIC for v in verdicts):
        badges.append("nondet")
    if drift:
        badges.append("Δ prev " + derive.drift_mark(drift[0]))
    flagged = sorted((v for v in verdicts if v.outcome not in (Outcome.PASS, Outcome.INFO)),
                     key=lambda v: CELL_STATES.index(_STATE_OF_OUTCOME.get(v.outcome, "pass")))
    notes = tuple(v.message for v in flagged + drift + claims)
    return Cell(env, case, state, text.MARK[golden.status] if golden else "", tuple(badges), notes)


def _env_row(spec: envs.EnvSpec, ev: Evaluation, env_verdict: Verdict | None, previous: str | None) -> EnvRow:
    doc = ev.results.get(spec.id)
    fp = doc.fingerprint if doc is not None else {}
    packages = {k.lower(): v for k, v in (fp.get("packages") or {}).items()}
    recorded = {k.lower(): v for k, v in (doc.versions if doc is not None else {}).items()}
    versions = {}
    for name in KEY_COLUMNS:
        found = packages.get(name) or recorded.get(name)
        if name == "tensorflow":
            found = found or packages.get("tensorflow-cpu")
        if found:
            versions[name] = str(found)
    if env_verdict is None:
        state, note = "ok", ""
    else:
        state = {Status.MISSING: "not-run", Status.UNAVAILABLE: "unavailable"}.get(env_verdict.status, "error")
        note = env_verdict.message
    key: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    if previous and doc is not None:
        before = ev.results[previous].fingerprint if previous in ev.results else None
        key = tuple(key_changes(before, fp))
        other = tuple(c for c in package_changes(before, fp) if c not in key)
        other += tuple(fingerprints.platform_changes(before, fp))
    return EnvRow(spec, state, note, str(fp.get("python") or spec.python), versions,
                  previous if doc is not None else None, key, other)


def _sections(ev: Evaluation) -> tuple[Section, ...]:
    out = []
    for outcome, title in text.SECTIONS:
        if outcome == Outcome.MISSING:
            continue  # grouped per case instead: one bless command each
        items = tuple(ev.by_outcome(outcome))
        if items:
            out.append(Section(outcome, title, items, outcome in SEVERE or len(items) <= 6))
    return tuple(out)


def _missing(ev: Evaluation) -> tuple[MissingGroup, ...]:
    by_case: dict[str, list[str]] = {}
    for v in ev.by_outcome(Outcome.MISSING):
        by_case.setdefault(v.case, []).append(v.env)
    with_results = set(ev.results)
    groups = []
    for case, env_ids in by_case.items():
        target = "all" if set(env_ids) >= with_results else " ".join(shlex.quote(e) for e in env_ids)
        groups.append(MissingGroup(case, tuple(env_ids), f"nox -s bless -- {target} --case {shlex.quote(case)}"))
    return tuple(groups)


def build(ev: Evaluation) -> ReportModel:
    """The report model of an evaluation: the grid's cells, a row per environment, the
    flagged sections, the missing golden values, claims, shared causes, the drift map and
    the reference comparison; every renderer reads this, nothing else."""
    by_cell: dict[tuple[str, str], list[Verdict]] = {}
    env_level: dict[str, Verdict] = {}
    for v in ev.verdicts:
        if v.check == Check.ENVIRONMENT:
            env_level[v.env] = v
        else:
            by_cell.setdefault((v.env, v.case), []).append(v)
    cells = {}
    for spec in ev.specs:
        if spec.id in env_level:
            continue
        present = ev.results[spec.id].cases if spec.id in ev.results else {}
        for case in ev.cases:
            verdicts = by_cell.get((spec.id, case), [])
            cells[(spec.id, case)] = _cell(spec.id, case, verdicts) if case in present else Cell(
                spec.id, case, "absent", "", (), (f"{case} was not run in {spec.id}.",))
    rows = []
    last_with_results: dict[str, str] = {}
    for spec in ev.specs:
        rows.append(_env_row(spec, ev, env_level.get(spec.id), last_with_results.get(spec.lineage)))
        if spec.id in ev.results:
            last_with_results[spec.lineage] = spec.id
    return ReportModel(
        ev=ev, verdict=text.verdict_line(ev), exit_code=ev.exit_code,
        counts={o: len(ev.by_outcome(o)) for o in Outcome}, lineages=lineages(ev.specs),
        env_rows=tuple(rows), cells=cells, sections=_sections(ev), missing=_missing(ev),
        claims=derive.claims(ev), causes=derive.cause_groups(ev), drift_map=derive.drift_map(ev),
        reference=derive.reference_map(ev),
    )


def final_metrics(ev: Evaluation, case: str) -> tuple[list[tuple[str, str]], list[tuple[str, list[float | None]]]]:
    """The last value of every per-epoch (or per-step) series and every scalar, per
    variant: columns (variant, observable) and one row of values per environment."""
    columns: list[tuple[str, str]] = []
    for spec in ev.specs:
        for variant, v in variants_of(ev, spec.id, case).items():
            for name, obs in v.observables.items():
                if _is_final_metric(obs) and (variant, name) not in columns:
                    columns.append((variant, name))
    rows = []
    for spec in ev.specs:
        variants = variants_of(ev, spec.id, case)
        if not variants:
            continue
        values: list[float | None] = []
        for variant, name in columns:
            found = variants.get(variant)
            values.append(_last(found.observables.get(name) if found is not None else None))
        rows.append((spec.id, values))
    return columns, rows


def variants_of(ev: Evaluation, env: str, case: str) -> dict[str, VariantResult]:
    """The variants of ``case`` that ran in ``env`` (none where it did not)."""
    doc = ev.results.get(env)
    entry = doc.cases.get(case) if doc is not None else None
    return {name: v for name, v in entry.variants.items() if v.ok} if entry is not None else {}


def _is_final_metric(obs: Observable) -> bool:
    if not obs.kind.numeric:
        return False
    return obs.kind == Kind.SCALAR or (len(obs.axes) == 1 and obs.axes[0] in ("epoch", "step"))


def _last(obs: Observable | None) -> float | None:
    if obs is None or not obs.kind.numeric or not obs.values:
        return None
    return float(obs.values[-1])
