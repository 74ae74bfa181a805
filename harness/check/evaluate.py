"""Everything the comparison step knows, computed once: the verdicts, the drift map
and the environment table. The report and the summary only render this."""

from __future__ import annotations

import dataclasses
import os
import shlex

from packaging.version import Version

from harness.check import fingerprints, known
from harness.check.verdicts import (
    Verdict,
    claim_verdicts,
    compare_case,
    explain,
    invariant_verdicts,
    run_verdicts,
)
from harness.core import store
from harness.core.status import EXIT_CODES, Outcome, Status
from harness.matrix import envs


@dataclasses.dataclass(frozen=True)
class Options:
    results_dir: str = "results"
    golden_dir: str = "golden"
    known_failures: str = "known_failures.toml"
    reference: str = envs.REFERENCE_ENV
    fail_on_drift: bool = False
    strict_known: bool = False
    strict_claims: bool = False


@dataclasses.dataclass(frozen=True)
class Evaluation:
    specs: tuple[envs.EnvSpec, ...]
    verdicts: tuple[Verdict, ...]
    results: dict  # env -> results document (only those that loaded)
    problems: tuple[str, ...]  # broken files and other messages about inputs
    options: Options

    def by_outcome(self, outcome: Outcome) -> list[Verdict]:
        return [v for v in self.verdicts if v.outcome == outcome]

    @property
    def exit_code(self) -> int:
        present = {v.outcome for v in self.verdicts}
        for outcome, code in EXIT_CODES:
            if outcome in present:
                return code
        return 0

    @property
    def cases(self) -> list[str]:
        names: list[str] = []
        for doc in self.results.values():
            names += [c for c in doc.get("cases", {}) if c not in names]
        return sorted(names)


def _load(folder: str, env_id: str, kind: str) -> tuple[dict | None, str | None]:
    path = store.document_path(folder, env_id)
    try:
        return store.read_document(path, kind), None
    except FileNotFoundError:
        return None, None
    except store.DocumentError as exc:
        return None, str(exc)


def ordered(specs: list[envs.EnvSpec]) -> list[envs.EnvSpec]:
    """Version order within each lineage, lineages in order of first appearance."""
    lineages: list[str] = []
    for s in specs:
        if s.lineage not in lineages:
            lineages.append(s.lineage)
    return sorted(specs, key=lambda s: (lineages.index(s.lineage), Version(s.framework_version)))


def golden_verdicts(env: str, result: dict, golden: dict | None, golden_problem: str | None,
                    golden_path: str) -> list[Verdict]:
    out = []
    for case in result["cases"]:
        if golden_problem:
            out.append(Verdict(env, case, "golden", Status.ERROR, Outcome.ERROR,
                               f"cannot compare with golden values: {golden_problem} (nothing was overwritten)."))
            continue
        if golden is None or case not in golden["cases"]:
            where = "no golden file " + golden_path if golden is None else f"{golden_path} has no {case}"
            out.append(Verdict(env, case, "golden", Status.MISSING, Outcome.MISSING,
                               f"{where}: check the results, then run "
                               f"`nox -s bless -- {shlex.quote(env)} --case {shlex.quote(case)}`."))
            continue
        status, per_variant = compare_case(golden, result, case)
        if status == Status.IDENTICAL:
            out.append(Verdict(env, case, "golden", status, Outcome.PASS,
                               f"{case} matches its golden values in {env} bit for bit."))
            continue
        if status == Status.CLOSE:  # a pass, with how far the bits moved and where they first part
            what, divergence, variant = explain(golden, result, case, per_variant, status)
            out.append(Verdict(
                env, case, "golden", status, Outcome.PASS,
                f"{case} matches its golden values in {env} within tolerance, but the bits differ ({what}); "
                f"{divergence.describe() if divergence else ''}.",
                variant=variant or None, diffs=tuple(d for _, ds in per_variant for d in ds),
                divergence=divergence, against="golden"))
            continue
        what, divergence, variant = explain(golden, result, case, per_variant, status)
        changes = fingerprints.key_changes(golden.get("fingerprint"), result.get("fingerprint"))
        changes += fingerprints.platform_changes(golden.get("fingerprint"), result.get("fingerprint"))
        outcome = Outcome.REGRESSION if status == Status.DRIFT else Outcome.ERROR
        since = f" Since blessing: {', '.join(changes)}." if changes else " No package or platform changed since blessing."
        out.append(Verdict(
            env, case, "golden", status, outcome,
            f"{case} no longer matches its golden values in {env} ({what}); "
            f"{divergence.describe() if divergence else ''}.{since}",
            variant=variant or None, diffs=tuple(d for _, ds in per_variant for d in ds),
            divergence=divergence, packages=tuple(changes), against="golden"))
    for case in (golden or {}).get("cases", {}):
        if case not in result["cases"]:
            out.append(Verdict(env, case, "golden", Status.MISSING, Outcome.INFO,
                               f"{golden_path} holds {case}, which no case produces any more "
                               f"(orphan; `nox -s bless -- {env} --prune` removes it)."))
    out += machine_note(env, result, golden)
    return out


def machine_note(env: str, result: dict, golden: dict | None) -> list[Verdict]:
    """Results from another machine than the golden values (CI runners, merged results): say so once."""
    before, after = (golden or {}).get("fingerprint"), result.get("fingerprint")
    changes = fingerprints.platform_changes(before, after) if before and after else []
    if not changes:
        return []
    return [Verdict(env, "*", "golden", Status.CLOSE, Outcome.INFO,
                    f"{env} ran on another machine than its golden values were blessed on ({'; '.join(changes)}); "
                    "bits may differ there, so the golden comparisons of this environment rely on tolerances.",
                    packages=tuple(changes), against="golden")]


def drift_verdicts(env: str, result: dict, other_env: str, other: dict, check: str) -> list[Verdict]:
    out = []
    changes = tuple(fingerprints.key_changes(other.get("fingerprint"), result.get("fingerprint"))
                    + fingerprints.platform_changes(other.get("fingerprint"), result.get("fingerprint")))
    for case in result["cases"]:
        if case not in other.get("cases", {}):
            continue
        status, per_variant = compare_case(other, result, case)
        if status == Status.IDENTICAL:
            message = f"{case} in {env} is bit for bit the same as in {other_env}."
            divergence, variant, what = None, None, ""
        else:
            what, divergence, variant = explain(other, result, case, per_variant, status)
            message = (f"{case} changed from {other_env} to {env} ({what}); "
                       f"{divergence.describe() if divergence else ''}.")
        out.append(Verdict(env, case, check, status, Outcome.INFO, message, variant=variant or None,
                           diffs=tuple(d for _, ds in per_variant for d in ds), divergence=divergence,
                           packages=changes, against=other_env))
    return out


def evaluate(specs: list[envs.EnvSpec], options: Options = Options()) -> Evaluation:
    specs = ordered(specs)
    verdicts: list[Verdict] = []
    problems: list[str] = []
    results: dict[str, dict] = {}
    for spec in specs:
        result, problem = _load(options.results_dir, spec.id, store.RESULTS_KIND)
        if problem:
            problems.append(problem)
            verdicts.append(Verdict(spec.id, "*", "environment", Status.ERROR, Outcome.ERROR,
                                    f"the results of {spec.id} cannot be read: {problem}"))
            continue
        if result is None:
            verdicts.append(Verdict(spec.id, "*", "environment", Status.MISSING, Outcome.INFO,
                                    f"{spec.id} has not been run: `nox -s \"matrix({spec.id})\"`."))
            continue
        if result.get("status") != "ok":
            verdicts.append(Verdict(spec.id, "*", "environment", Status.UNAVAILABLE, Outcome.ERROR,
                                    f"{spec.id} is unavailable: {result.get('reason')}",
                                    details="\n".join((result.get("error") or {}).get("traceback", []))))
            continue
        results[spec.id] = result
        golden_path = store.document_path(options.golden_dir, spec.id)
        golden, golden_problem = _load(options.golden_dir, spec.id, store.GOLDEN_KIND)
        if golden_problem:
            problems.append(golden_problem)
        verdicts += run_verdicts(spec.id, result)
        verdicts += golden_verdicts(spec.id, result, golden, golden_problem, golden_path)
        verdicts += invariant_verdicts(spec.id, result)
        verdicts += claim_verdicts(spec.id, result)
    verdicts += _cross_version(specs, results, options)
    verdicts += _orphan_goldens(specs, options)
    try:
        entries = known.load(options.known_failures)
    except ValueError as exc:
        problems.append(str(exc))
        entries = []
    verdicts = known.apply(verdicts, entries)
    verdicts = [_strict(v, options) for v in verdicts]
    return Evaluation(tuple(specs), tuple(verdicts), results, tuple(problems), options)


def _cross_version(specs, results, options) -> list[Verdict]:
    out: list[Verdict] = []
    previous: dict[str, str] = {}
    for spec in specs:
        before = previous.get(spec.lineage)
        previous[spec.lineage] = spec.id
        if spec.id not in results:
            continue
        if before and before in results:
            out += drift_verdicts(spec.id, results[spec.id], before, results[before], "drift:previous")
        ref = options.reference
        if ref != spec.id and ref in results:
            out += drift_verdicts(spec.id, results[spec.id], ref, results[ref], "drift:reference")
    return out


def _orphan_goldens(specs, options) -> list[Verdict]:
    known_ids = {s.id for s in envs.all_envs()}
    out: list[Verdict] = []
    try:
        names = sorted(os.listdir(options.golden_dir))
    except OSError:
        return out
    for name in names:
        if name.endswith(".json") and name[:-5] not in known_ids:
            out.append(Verdict(name[:-5], "*", "golden", Status.MISSING, Outcome.INFO,
                               f"{os.path.join(options.golden_dir, name)} belongs to no environment of the "
                               "matrix (orphan); delete it if the environment is gone for good."))
    return out


def _strict(verdict: Verdict, options: Options) -> Verdict:
    if options.fail_on_drift and verdict.check.startswith("drift:") and verdict.status == Status.DRIFT:
        return dataclasses.replace(verdict, outcome=Outcome.REGRESSION)
    if options.strict_known and verdict.outcome == Outcome.FIXED:
        return dataclasses.replace(verdict, outcome=Outcome.REGRESSION)
    if options.strict_claims and verdict.check.startswith("claim:") and verdict.status == Status.DRIFT:
        return dataclasses.replace(verdict, outcome=Outcome.REGRESSION)
    return verdict
