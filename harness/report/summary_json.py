"""summary.json: the machine-readable verdicts.

Schema "tfrepro-summary", version 2. A reader checks ``schema`` and ``version``;
fields may be added within a version, never renamed or removed (that bumps it).
Version 2 added ``causes``, ``drift_map`` and ``reference``, the verdicts' ``cause``,
the diffs' ``variant``, and the checks drift:migration and drift:between.

    schema        "tfrepro-summary"
    version       2
    verdict       one line: "PASS: no regression", "FAIL: regression", ...
    exit_code     what `python -m harness compare` exits with (0, 1, 3, 4, 5)
    counts        {outcome: number of verdicts}, every outcome of harness.core.status.Outcome
    environments  [{id, python, requirements, exclude_newer, flavour, backend, tags,
                    env_vars, lineage, status, versions}] in report order (lineage by
                    lineage, version order); status is "ok" or the environment
                    verdict's status ("missing" = not run, "unavailable", "error");
                    versions is the result's {package: version} or null
    cases         [case name], sorted
    problems      [sentence] about unreadable inputs
    verdicts      [{env, case, check, variant, status, outcome, message, against,
                    divergence: {stage, observable, where, text} | null, packages: [str],
                    diffs: [{observable, variant, status, n_total, n_differ, n_beyond,
                             max_abs, max_rel, max_ulps, first, note}],
                    details, known: {env, case, check, reason, link} | null,
                    cause: {...} | null}]
                  one per environment × case × check; check is "environment", "run",
                  "golden", "determinism", "invariant:<name>", "claim:<name>",
                  "drift:previous", "drift:migration", "drift:between" or
                  "drift:reference"; status is "identical", "close", "round-off" (a
                  golden difference on another machine that round-off explains: a
                  pass), "drift", "missing", "error", "nondeterministic" or
                  "unavailable"; diffs list every observable that is not identical,
                  each with the variant it belongs to; details is, for a classified
                  difference, what moved in each variant and where the runs part.
                  cause is null where nothing was classified, else either
                    a golden difference judged by round-off (another machine):
                      {kind: "round-off" | "beyond round-off", key, machine: [str],
                       packages: [str], roundoff: {variant: {...}}}
                    or a classified difference (cross-version, or golden on the
                    blessing machine; harness.check.causes):
                      {kind: "round-off" | "random stream" | "real change" |
                       "random stream, then unknown" | "unknown", mark: "r" | "s" |
                       "c" | "?", key, variants: [{variant, cause, sentence,
                       roundoff: {...} | null}]}
                  key is the same string for every verdict one cause explains.
    causes        [{key, kind, mark, cause, facts, summary, checks, count, outcomes,
                    envs, cases, shown, verdicts}]: the verdicts grouped by their
                  cause key, one entry per key; cause is the cause in words ("another
                  machine: kernel a → b (and the facts the blessing fingerprint does
                  not record)"), facts every difference behind it in full, summary
                  "round-off in 26 verdicts: 13 environments × a, b", checks the
                  check ids it covers, count the number of verdicts, outcomes
                  {outcome: number}, envs in report order, cases sorted, shown whether
                  the report gives it an item (several verdicts, or passes), verdicts
                  the positions of its verdicts in ``verdicts``. Groups with a
                  regression come first, then golden before drift, then the largest.
    drift_map     [{check, before, after, why, marks: {case: mark}, tally,
                    packages: [str]}] one per classified cross-version comparison
                  (drift:previous, drift:migration, drift:between) in report order;
                  mark is "=" identical, "r" round-off, "s" random stream (also
                  "random stream, then unknown"), "c" real change, "?" unknown or not
                  classified; tally says it in words ("2 real change, 1 identical");
                  packages are the differences between the two environments.
    reference     the same for each environment against the reference environment
                  (drift:reference, not classified): mark is "=" identical, "~"
                  close, "D" beyond tolerance, "?" missing, "E" error.

Strict JSON: NaN and infinities anywhere are written as the strings "nan", "inf"
and "-inf".
"""

from __future__ import annotations

import json
import math

from harness.check.evaluate import Evaluation
from harness.core.status import Check, Outcome
from harness.report import derive, text

SCHEMA = "tfrepro-summary"
VERSION = 2


def _strict(value):
    """``value`` with every non-finite float replaced by its name (JSON has none)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _finite_only(data) -> bool:
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        return False
    return True


def build(ev: Evaluation, causes: tuple[derive.CauseGroup, ...] | None = None,
          drift_map: tuple[derive.EdgeRow, ...] | None = None,
          reference: tuple[derive.EdgeRow, ...] | None = None) -> dict:
    """The summary; the groups and maps come from the report model where it has them."""
    positions = {id(v): i for i, v in enumerate(ev.verdicts)}
    causes = derive.cause_groups(ev) if causes is None else causes
    drift_map = derive.drift_map(ev) if drift_map is None else drift_map
    reference = derive.reference_map(ev) if reference is None else reference
    env_status = {v.env: v.status.value for v in ev.verdicts if v.check == Check.ENVIRONMENT}
    data = {
        "schema": SCHEMA,
        "version": VERSION,
        "verdict": text.verdict_line(ev),
        "exit_code": ev.exit_code,
        "counts": {o.value: len(ev.by_outcome(o)) for o in Outcome},
        "environments": [
            dict(s.to_json(), status=env_status.get(s.id, "ok"),
                 versions=ev.results[s.id].versions if s.id in ev.results else None)
            for s in ev.specs
        ],
        "cases": ev.cases,
        "problems": list(ev.problems),
        "verdicts": [v.to_json() for v in ev.verdicts],
        "causes": [g.to_json(positions) for g in causes],
        "drift_map": [r.to_json() for r in drift_map],
        "reference": [r.to_json() for r in reference],
    }
    return data if _finite_only(data) else _strict(data)


def render(ev: Evaluation, causes: tuple[derive.CauseGroup, ...] | None = None,
           drift_map: tuple[derive.EdgeRow, ...] | None = None,
           reference: tuple[derive.EdgeRow, ...] | None = None) -> str:
    """summary.json as one line of strict JSON (no NaN, UTF-8 kept); the causes, drift map
    and reference comparison are derived from ``ev`` when not given."""
    data = build(ev, causes, drift_map, reference)
    # No indent: the C encoder is many times faster, and the full matrix has thousands of verdicts.
    return json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":")) + "\n"
