"""What every output shows beside the verdicts themselves, derived from an Evaluation
without the report's heavy dependencies (the text summary uses it too):

- *cause groups*: verdicts that share one cause (``Verdict.cause["key"]``: the same
  machine difference since blessing, the same package change, the same kind of
  change on one cross-version edge) become one item: the cause in words, its kind,
  and the environments and cases it touched, with counts;
- the *drift map*: one row per cross-version comparison (drift:previous,
  drift:migration, drift:between; harness.check.edges), a mark per case for its
  classification (harness.check.causes), and the changed cases with their sentence;
  the reference comparison (drift:reference) is not classified and gets the golden
  grid's status marks instead;
- the *claims*: per claim, where it holds, fails or cannot be measured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from harness.check.evaluate import Evaluation
from harness.check.packages import KEY_PACKAGES
from harness.check.verdicts import Verdict
from harness.core.status import Check, Outcome, Status
from harness.matrix import envs

# The golden grid's marks (and the reference comparison's).
STATUS_MARK = {Status.IDENTICAL: "=", Status.CLOSE: "~", Status.ROUNDOFF: "r", Status.DRIFT: "D",
               Status.MISSING: "?", Status.ERROR: "E", Status.NONDETERMINISTIC: "N", Status.UNAVAILABLE: "U"}
# The drift map's marks: the classification of a cross-version difference.
DRIFT_MARKS = {"=": "identical", "r": "round-off", "s": "random stream", "c": "real change", "?": "unknown",
               "-": "not compared"}
REFERENCE_MARKS = {"=": "identical", "~": "close (bits differ, within tolerance)", "D": "beyond tolerance",
                   "?": "missing", "E": "error", "-": "not compared"}
CHECK_WORDS = {Check.DRIFT_PREVIOUS: "previous", Check.DRIFT_MIGRATION: "migration",
               Check.DRIFT_BETWEEN: "between", Check.DRIFT_REFERENCE: "reference"}
_PASSING = (Outcome.PASS, Outcome.INFO)  # outcomes no list of flagged items shows
_SEVERE = (Outcome.REGRESSION, Outcome.ERROR, Outcome.NONDETERMINISTIC, Outcome.MISSING)


def plural(n: int, word: str) -> str:
    """"1 case", "2 cases": ``n`` and ``word``, with an s unless n is 1."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def env_span(members: Sequence[str], order: Sequence[str]) -> str:
    """"tf2.0-keras2 … tf2.9-keras2 (10)" for a run of consecutive environments, else a list."""
    if len(members) <= 3:
        return ", ".join(members)
    where = {e: i for i, e in enumerate(order)}
    positions = [where.get(m, -1) for m in members]
    if -1 not in positions and positions == list(range(positions[0], positions[0] + len(members))):
        return f"{members[0]} … {members[-1]} ({len(members)})"
    return ", ".join(members)


def env_spans(members: Sequence[str], order: Sequence[str]) -> str:
    """``members`` in ``order``, each run of consecutive ones as env_span writes it:
    "tf1.15-keras2 … tf2.14-keras2 (14), tf2.16-keras3.0 … jax-keras3.15 (17)"."""
    where = {e: i for i, e in enumerate(order)}
    runs: list[list[str]] = []
    for m in sorted(members, key=lambda e: where.get(e, len(order))):
        if runs and m in where and runs[-1][-1] in where and where[m] == where[runs[-1][-1]] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(env_span(r, order) for r in runs)


# -- one cause, one item -----------------------------------------------------------------
def _unrecorded(fact: str) -> bool:
    return " does not record " in fact


def _unrecorded_note(facts: Iterable[str]) -> str:
    sides = list(dict.fromkeys(f.partition(" does not record ")[0] for f in facts if _unrecorded(f)))
    if not sides:
        return ""
    return f" (and the facts {' and '.join(sides)} {'does' if len(sides) == 1 else 'do'} not record)"


def _is_package_change(change: str) -> bool:
    """"tensorflow-cpu 2.13.0 → 2.14.0", "+ keras 3.0.5", "- h5py 2.9.0" (as
    harness.check.packages.package_changes writes them), not a machine fact."""
    words = change.split(" ")
    if len(words) == 3 and words[0] in ("+", "-"):
        return True
    return len(words) == 4 and words[2] == "→" and words[0] in KEY_PACKAGES


def _change_words(packages: Sequence[str], machine: Sequence[str]) -> str:
    recorded = [m for m in machine if not _unrecorded(m)]
    parts = []
    if packages:
        parts.append(("package change: " if len(packages) == 1 else "package changes: ") + ", ".join(packages))
    if recorded:
        parts.append("another machine: " + ", ".join(recorded))
    elif machine:
        parts.append("perhaps another machine")
    return ("; ".join(parts) or "nothing recorded changed since blessing") + _unrecorded_note(machine)


def cause_words(v: Verdict) -> str:
    """The cause of a verdict in words, short: the package and machine differences (the
    facts a fingerprint does not record are mentioned, not listed), or the edge."""
    cause = v.cause or {}
    if isinstance(cause.get("machine"), list):  # a golden difference judged by round-off
        return _change_words([str(p) for p in cause.get("packages") or []], [str(m) for m in cause["machine"]])
    if v.check.drift:
        return f"{v.against} → {v.env}"
    changes = [str(p) for p in v.packages]  # a golden verdict: the key packages, then the machine
    return _change_words([c for c in changes if _is_package_change(c)],
                         [c for c in changes if not _is_package_change(c)])


def cause_facts(v: Verdict) -> tuple[str, ...]:
    """Every difference behind the cause, in full (what cause_words shortens)."""
    cause = v.cause or {}
    if isinstance(cause.get("machine"), list):
        return tuple(str(p) for p in cause.get("packages") or []) + tuple(str(m) for m in cause["machine"])
    return tuple(str(p) for p in v.packages)


@dataclasses.dataclass(frozen=True)
class CauseGroup:
    """Verdicts that share one cause key: one item in every output."""

    index: int  # its place in the report's list (its anchor: "cause-<index>")
    key: str
    kind: str  # "round-off", "beyond round-off", "random stream", "real change", ...
    mark: str | None  # the drift map's mark of the kind, where it has one
    words: str  # the cause in words
    facts: tuple[str, ...]  # the differences in full
    verdicts: tuple[Verdict, ...]
    envs: tuple[str, ...]  # in report order
    cases: tuple[str, ...]  # sorted
    order: tuple[str, ...]  # every environment in report order (to name runs of them)

    @property
    def checks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.check_id for v in self.verdicts))

    @property
    def drift(self) -> bool:
        return all(v.check.drift for v in self.verdicts)

    @property
    def outcomes(self) -> dict[Outcome, int]:
        counts: dict[Outcome, int] = {}
        for v in self.verdicts:
            counts[v.outcome] = counts.get(v.outcome, 0) + 1
        return {o: counts[o] for o in Outcome if o in counts}

    @property
    def severe(self) -> bool:
        return any(v.outcome in _SEVERE for v in self.verdicts)

    @property
    def shown(self) -> bool:
        """Worth an item of its own: several verdicts share it, or it holds passes that
        no list of flagged items shows (a round-off verdict)."""
        return len(self.verdicts) > 1 or any(v.outcome in _PASSING for v in self.verdicts)

    @property
    def headline(self) -> str:
        """"round-off in 26 verdicts"."""
        return f"{self.kind} in {plural(len(self.verdicts), 'verdict')}"

    @property
    def outcome_words(self) -> str:
        """"26 pass" or "2 regression, 1 pass"."""
        return ", ".join(f"{n} {o.value}" for o, n in self.outcomes.items())

    @property
    def full_product(self) -> bool:
        pairs = {(v.env, v.case) for v in self.verdicts}
        return len(pairs) == len(self.envs) * len(self.cases)

    @property
    def reach(self) -> str:
        """"13 environments × deep_saturation, residual_block", or where not every
        environment has every case, which cases in which environment."""
        cases = ", ".join(self.cases)
        if len(self.envs) == 1:
            return f"{self.envs[0]} × {cases}"
        if self.full_product:
            return f"{len(self.envs)} environments × {cases}"
        per_env: dict[str, set[str]] = {}
        for v in self.verdicts:
            per_env.setdefault(v.env, set()).add(v.case)
        # Environments with the same cases together: "deep_saturation, residual_block in 13
        # environments; deep_saturation in jax-keras3.15".
        by_cases: dict[tuple[str, ...], list[str]] = {}
        for env in sorted(per_env, key=self._at):
            by_cases.setdefault(tuple(sorted(per_env[env])), []).append(env)
        return "; ".join(f"{', '.join(cs)} in " + (es[0] if len(es) == 1 else f"{len(es)} environments")
                         for cs, es in sorted(by_cases.items(), key=lambda kv: -len(kv[1])))

    @property
    def env_list(self) -> str:
        return env_span(self.envs, self.order)

    @property
    def summary(self) -> str:
        """"round-off in 26 verdicts: 13 environments × deep_saturation, residual_block"."""
        return f"{self.headline}: {self.reach}"

    def _at(self, env: str) -> int:
        return self.order.index(env) if env in self.order else len(self.order)

    def to_json(self, positions: dict[int, int]) -> dict:
        return {"key": self.key, "kind": self.kind, "mark": self.mark, "cause": self.words,
                "facts": list(self.facts), "summary": self.summary, "checks": list(self.checks),
                "count": len(self.verdicts), "outcomes": {o.value: n for o, n in self.outcomes.items()},
                "envs": list(self.envs), "cases": list(self.cases), "shown": self.shown,
                "verdicts": [positions[id(v)] for v in self.verdicts]}


def _key(v: Verdict) -> str | None:
    key = v.cause.get("key") if isinstance(v.cause, dict) else None
    return str(key) if key else None


def cause_groups(ev: Evaluation) -> tuple[CauseGroup, ...]:
    """Every verdict with a cause key, grouped by it: the groups with a regression first,
    then the largest; each lists its environments in report order."""
    order = tuple(s.id for s in ev.specs)
    where = {e: i for i, e in enumerate(order)}
    members: dict[str, list[Verdict]] = {}
    for v in ev.verdicts:
        key = _key(v)
        if key is not None:
            members.setdefault(key, []).append(v)
    made = []
    for first, (key, vs) in enumerate(members.items()):
        lead = vs[0]
        cause = lead.cause or {}
        kind = str(cause.get("kind") or "unknown")
        mark = cause.get("mark") or ("r" if kind == "round-off" else None)
        group_envs = sorted({v.env for v in vs}, key=lambda e: (where.get(e, len(order)), e))
        group = CauseGroup(0, key, kind, str(mark) if mark else None, cause_words(lead), cause_facts(lead),
                           tuple(vs), tuple(group_envs), tuple(sorted({v.case for v in vs})), order)
        made.append(((not group.severe, group.drift, -len(vs), first), group))
    made.sort(key=lambda t: t[0])
    return tuple(dataclasses.replace(g, index=i) for i, (_, g) in enumerate(made))


# -- the drift map -----------------------------------------------------------------------
def drift_mark(v: Verdict) -> str:
    """One letter for a cross-version verdict: = identical, else the classification's
    mark (r s c ?), or for the unclassified reference comparison the status mark."""
    if v.status == Status.IDENTICAL:
        return "="
    if v.check == Check.DRIFT_REFERENCE:
        return STATUS_MARK.get(v.status, "?")
    mark = (v.cause or {}).get("mark")
    return str(mark) if mark in DRIFT_MARKS else "?"


def drift_kind(v: Verdict) -> str:
    """The classification in words ("real change"), or the status for the reference."""
    if v.status == Status.IDENTICAL:
        return "identical"
    if v.check == Check.DRIFT_REFERENCE:
        return REFERENCE_MARKS.get(STATUS_MARK.get(v.status, "?"), v.status.value)
    return str((v.cause or {}).get("kind") or "unknown (not classified)")


def edge_sentence(v: Verdict) -> str:
    """A cross-version verdict's sentence without its opening "<case> changed from A
    to B", which the edge it is listed under says already."""
    opening = f"{v.case} changed from {v.against} to {v.env}"
    if v.message.startswith(opening) and v.message[len(opening):len(opening) + 2] in (": ", ". "):
        rest = v.message[len(opening) + 2:]
        return rest[:1].upper() + rest[1:] if v.message[len(opening)] == "." else rest
    return v.message


@dataclasses.dataclass(frozen=True)
class EdgeRow:
    """One cross-version comparison: ``before`` → ``after``, a verdict per shared case."""

    before: str
    after: str
    check: Check
    why: str
    verdicts: dict[str, Verdict]  # case -> its verdict

    @property
    def label(self) -> str:
        return f"{self.before} → {self.after}"

    @property
    def check_word(self) -> str:
        return CHECK_WORDS.get(self.check, self.check.value)

    def mark(self, case: str) -> str:
        v = self.verdicts.get(case)
        return drift_mark(v) if v is not None else "-"

    @property
    def changed(self) -> tuple[Verdict, ...]:
        return tuple(v for case, v in sorted(self.verdicts.items()) if v.status != Status.IDENTICAL)

    @property
    def packages(self) -> tuple[str, ...]:
        """What differs between the two environments (every verdict of an edge carries it)."""
        return next((v.packages for v in self.verdicts.values() if v.packages), ())

    @property
    def tally(self) -> str:
        """"2 real change, 1 round-off", or "identical" where nothing changed."""
        counts: dict[str, int] = {}
        for v in self.changed:
            kind = drift_kind(v)
            counts[kind] = counts.get(kind, 0) + 1
        if not counts:
            return f"identical ({plural(len(self.verdicts), 'case')})"
        same = len(self.verdicts) - len(self.changed)
        return ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])) + (
            f", {same} identical" if same else "")

    @property
    def headline(self) -> str:
        """"tf2.15-keras2 → tf2.16-keras3.0 (migration: TF 2.16 made Keras 3 …)"."""
        return f"{self.label} ({self.check_word}{': ' + self.why if self.why else ''})"

    def to_json(self) -> dict:
        return {"check": self.check.value, "before": self.before, "after": self.after, "why": self.why,
                "marks": {case: self.mark(case) for case in sorted(self.verdicts)}, "tally": self.tally,
                "packages": list(self.packages)}


_WHY = {(before, after): why for before, after, why in envs.MIGRATIONS}


def _edges(ev: Evaluation, reference: bool) -> tuple[EdgeRow, ...]:
    rows: dict[tuple[Check, str, str], dict[str, Verdict]] = {}
    for v in ev.verdicts:
        if v.check.drift and v.against and (v.check == Check.DRIFT_REFERENCE) == reference:
            rows.setdefault((v.check, v.against, v.env), {})[v.case] = v
    out = []
    for (check, before, after), verdicts in rows.items():
        why = _WHY.get((before, after), "") if check == Check.DRIFT_MIGRATION else (
            "asked for with --between" if check == Check.DRIFT_BETWEEN else "")
        out.append(EdgeRow(before, after, check, why, verdicts))
    return tuple(out)


def drift_map(ev: Evaluation) -> tuple[EdgeRow, ...]:
    """The classified cross-version comparisons, in the order harness.check.edges makes
    them: each environment against its predecessor, then the migrations, then --between."""
    return _edges(ev, reference=False)


def reference_map(ev: Evaluation) -> tuple[EdgeRow, ...]:
    """Each environment against the reference environment (information, not classified)."""
    return _edges(ev, reference=True)


def important_first(rows: Sequence[EdgeRow]) -> list[EdgeRow]:
    """Migrations and --between before the steps within a lineage (where a list is cut)."""
    rank = {Check.DRIFT_BETWEEN: 0, Check.DRIFT_MIGRATION: 1}
    return sorted(rows, key=lambda r: rank.get(r.check, 2))


# -- claims ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ClaimRow:
    case: str
    name: str
    text: str
    per_env: tuple[tuple[str, str, str], ...]  # (env, "holds" | "fails" | "unmeasured", message)

    def envs_where(self, state: str) -> list[str]:
        return [env for env, s, _ in self.per_env if s == state]


def claims(ev: Evaluation) -> tuple[ClaimRow, ...]:
    """One row per declared claim (by case, then name): in every environment of the grid's
    order that measured it, whether it holds, fails or cannot be measured, and why."""
    declared: dict[tuple[str, str], str] = {}
    for doc in ev.results.values():
        for case, entry in doc.cases.items():
            for claim in entry.declaration.claims if entry.declaration is not None else ():
                declared.setdefault((case, claim.name), claim.text)
    index = {(v.case, v.name, v.env): v for v in ev.verdicts if v.check == Check.CLAIM}
    rows = []
    for (case, name), claim_text in sorted(declared.items()):
        per_env = []
        for spec in ev.specs:
            v = index.get((case, name, spec.id))
            if v is None:
                continue
            # A claim that cannot be evaluated (a value missing, a misnamed observable: its own
            # error verdict says which) is not measured, never "does not hold".
            state = ("unmeasured" if v.status in (Status.MISSING, Status.ERROR) else
                     "holds" if v.status.agrees else "fails")
            per_env.append((spec.id, state, v.message))
        rows.append(ClaimRow(case, name, claim_text, tuple(per_env)))
    return tuple(rows)
