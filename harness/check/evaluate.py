"""Everything the comparison step knows, computed once: the verdicts, the drift map
and the environment table. The report and the summary only render this."""

from __future__ import annotations

import dataclasses
import os

from packaging.version import Version

from harness.check import causes, edges, known
from harness.check.drift import drift_verdicts
from harness.check.golden import golden_verdicts
from harness.check.options import Options
from harness.check.verdicts import Verdict, claim_verdicts, invariant_verdicts, run_verdicts
from harness.core import store
from harness.core.documents import Golden, Results
from harness.core.reader import DocumentError
from harness.core.status import EXIT_CODES, Check, Outcome, Status
from harness.matrix import envs


@dataclasses.dataclass(frozen=True)
class Evaluation:
    specs: tuple[envs.EnvSpec, ...]
    verdicts: tuple[Verdict, ...]
    results: dict[str, Results]  # env -> its results (only those that loaded and ran)
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
            names += [c for c in doc.cases if c not in names]
        return sorted(names)


def _load_results(folder: str, env_id: str) -> tuple[Results | None, str | None]:
    try:
        return store.read_results(store.document_path(folder, env_id)), None
    except FileNotFoundError:
        return None, None
    except DocumentError as exc:
        return None, str(exc)


def _load_golden(folder: str, env_id: str) -> tuple[Golden | None, str | None]:
    try:
        return store.read_golden(store.document_path(folder, env_id)), None
    except FileNotFoundError:
        return None, None
    except DocumentError as exc:
        return None, str(exc)


def ordered(specs: list[envs.EnvSpec]) -> list[envs.EnvSpec]:
    """Version order within each lineage, lineages in order of first appearance."""
    lineages: list[str] = []
    for s in specs:
        if s.lineage not in lineages:
            lineages.append(s.lineage)
    return sorted(specs, key=lambda s: (lineages.index(s.lineage), Version(s.framework_version)))


def evaluate(specs: list[envs.EnvSpec], options: Options = Options()) -> Evaluation:
    """Every verdict for the results of ``specs`` present in ``options.results_dir``.

    Raises DocumentError when known_failures.toml is malformed (nothing can be judged
    right without it); a broken results or golden file becomes an error verdict."""
    entries = known.load(options.known_failures)  # a usage error before anything is judged
    specs = ordered(specs)
    verdicts: list[Verdict] = []
    problems: list[str] = []
    results: dict[str, Results] = {}
    goldens: dict[str, tuple] = {}
    for spec in specs:
        result, problem = _load_results(options.results_dir, spec.id)
        if problem:
            problems.append(problem)
            verdicts.append(Verdict(spec.id, "*", Check.ENVIRONMENT, Status.ERROR, Outcome.ERROR,
                                    f"the results of {spec.id} cannot be read: {problem}"))
            continue
        if result is None:
            verdicts.append(Verdict(spec.id, "*", Check.ENVIRONMENT, Status.MISSING, Outcome.INFO,
                                    f"{spec.id} has not been run: `nox -s \"matrix({spec.id})\"`."))
            continue
        if not result.ok:
            verdicts.append(Verdict(spec.id, "*", Check.ENVIRONMENT, Status.UNAVAILABLE, Outcome.ERROR,
                                    f"{spec.id} is unavailable: {result.reason}",
                                    details="\n".join(result.error.traceback if result.error else ())))
            continue
        results[spec.id] = result
        golden_path = store.document_path(options.golden_dir, spec.id)
        golden, golden_problem = _load_golden(options.golden_dir, spec.id)
        if golden_problem:
            problems.append(golden_problem)
        verdicts += run_verdicts(spec.id, result)
        goldens[spec.id] = (result, golden, golden_problem, golden_path)
        verdicts += invariant_verdicts(spec.id, result)
        verdicts += claim_verdicts(spec.id, result)
    envelopes = causes.Envelopes(results)
    for env, (result, golden, golden_problem, golden_path) in goldens.items():
        verdicts += golden_verdicts(env, result, golden, golden_problem, golden_path, envelopes)
    verdicts += _cross_version(specs, results, options, envelopes)
    verdicts += _orphan_goldens(specs, options)
    ran = {(env, case) for env, doc in results.items() for case in doc.cases}
    verdicts = known.apply(verdicts, entries, ran)
    verdicts = [_strict(v, options) for v in verdicts]
    return Evaluation(tuple(specs), tuple(verdicts), results, tuple(problems), options)


def _cross_version(specs, results, options, envelopes: causes.Envelopes) -> list[Verdict]:
    out: list[Verdict] = []
    for edge in edges.edges(specs, results, options.reference, options.between):
        classify = envelopes if edge.check != Check.DRIFT_REFERENCE else None
        out += drift_verdicts(edge.after, results[edge.after], edge.before, results[edge.before], edge.check, classify)
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
            out.append(Verdict(name[:-5], "*", Check.GOLDEN, Status.MISSING, Outcome.INFO,
                               f"{os.path.join(options.golden_dir, name)} belongs to no environment of the "
                               "matrix (orphan); delete it if the environment is gone for good."))
    return out


def _strict(verdict: Verdict, options: Options) -> Verdict:
    if options.fail_on_drift and verdict.check.drift and verdict.status == Status.DRIFT:
        return dataclasses.replace(verdict, outcome=Outcome.REGRESSION)
    if options.strict_known and verdict.outcome == Outcome.FIXED:
        return dataclasses.replace(verdict, outcome=Outcome.REGRESSION)
    if options.strict_claims and verdict.check == Check.CLAIM and verdict.status == Status.DRIFT:
        return dataclasses.replace(verdict, outcome=Outcome.REGRESSION)
    return verdict
