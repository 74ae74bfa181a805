"""Everything the comparison step knows, computed once: the verdicts, the drift map
and the environment table. The report and the summary only render this."""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Mapping

from packaging.version import Version

from harness.check import causes, edges, known
from harness.check.drift import drift_verdicts
from harness.check.golden import golden_verdicts
from harness.check.options import Options
from harness.check.verdicts import Verdict, claim_verdicts, invariant_verdicts, run_verdicts
from harness.core import store
from harness.core.documents.golden import Golden
from harness.core.documents.results import Results
from harness.core.errors import UsageError
from harness.core.reader import DocumentError
from harness.core.status import EXIT_CODES, Check, Outcome, Status
from harness.inenv.cases import source_digest
from harness.matrix import envs


@dataclasses.dataclass(frozen=True)
class Evaluation:
    specs: tuple[envs.EnvSpec, ...]
    verdicts: tuple[Verdict, ...]
    results: dict[str, Results]  # env -> its results (only those that loaded and ran)
    problems: tuple[str, ...]  # broken files and other messages about inputs
    options: Options

    def by_outcome(self, outcome: Outcome) -> list[Verdict]:
        """The verdicts with ``outcome``, in evaluation order."""
        return [v for v in self.verdicts if v.outcome == outcome]

    @property
    def exit_code(self) -> int:
        """The exit code of the worst outcome present, in the order of status.EXIT_CODES; 0 when
        none of them is present (pass, known, fixed, stale, info)."""
        present = {v.outcome for v in self.verdicts}
        for outcome, code in EXIT_CODES:
            if outcome in present:
                return code
        return 0

    @property
    def cases(self) -> list[str]:
        """The cases with results in some environment, and those whose results are missing."""
        names: list[str] = []
        for doc in self.results.values():
            names += [c for c in doc.cases if c not in names]
        names += [v.case for v in self.verdicts if v.check == Check.RUN and v.status == Status.MISSING
                  and v.case not in names]
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


def evaluate(specs: list[envs.EnvSpec], options: Options = Options(),
             cases: Mapping[str, str] | None = None) -> Evaluation:
    """Every verdict for the results of ``specs`` present in ``options.results_dir``.

    ``cases``: the case modules that exist now (name -> path, harness.run.options.case_files);
    with them a case that has golden values but no results is *missing* (not an orphan), and
    results made from another version of a case's source are *stale*. None: neither is judged.

    Raises UsageError when the results folder does not exist, DocumentError when
    known_failures.toml is malformed (nothing can be judged right without either); a
    broken results or golden file becomes an error verdict, and a folder without results
    for any of ``specs`` the error verdict "nothing to compare"."""
    if not os.path.isdir(options.results_dir):
        raise UsageError(f"the results folder {options.results_dir} does not exist: check --results / "
                         "HARNESS_RESULTS, or run the matrix first (`nox -s matrix`)")
    entries = known.load(options.known_failures)  # a usage error before anything is judged
    specs = ordered(specs)
    cases = dict(cases or {})
    digests = _digests(cases)
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
        # A case deleted (or renamed) from the case folders: its old results stay in the file
        # (nothing is dropped) but are not judged; its golden values, if any, are then an
        # orphan, which _orphan_goldens says with the command that prunes them.
        result = result.without_retired(cases)
        results[spec.id] = result
        golden_path = store.document_path(options.golden_dir, spec.id)
        golden, golden_problem = _load_golden(options.golden_dir, spec.id)
        if golden_problem:
            problems.append(golden_problem)
        verdicts += _stale(spec.id, result, run_verdicts(spec.id, result), cases, digests)
        goldens[spec.id] = (result, golden, golden_problem, golden_path)
        verdicts += invariant_verdicts(spec.id, result)
        verdicts += claim_verdicts(spec.id, result)
    if not results and not any(v.outcome == Outcome.ERROR for v in verdicts):
        verdicts.append(_nothing_to_compare(specs, options))
    envelopes = causes.Envelopes(results)
    for env, (result, golden, golden_problem, golden_path) in goldens.items():
        absent = [c for c in (golden.cases if golden is not None else ()) if c not in result.cases and c in cases]
        verdicts += [_nothing_to_bless(v, result) for v in golden_verdicts(env, result, golden, golden_problem,
                                                                         golden_path, envelopes)
                     if not (v.case in absent and v.check == Check.GOLDEN and v.outcome == Outcome.INFO)]
        verdicts += [_missing_result(env, case, cases[case], options.results_dir) for case in absent
                     if not options.only or case in options.only]
    verdicts += _cross_version(specs, results, options, envelopes)
    verdicts += _orphan_goldens(specs, options)
    ran = {(env, case) for env, doc in results.items() for case in doc.cases}
    verdicts = known.apply(verdicts, entries, ran)
    verdicts = [_strict(v, options) for v in verdicts]
    return Evaluation(tuple(specs), tuple(verdicts), results, tuple(problems), options)


def _run_command(env: str, case: str) -> str:
    return f'nox -s "matrix({env})" -- --case {shlex.quote(case)}'


def _nothing_to_compare(specs: list[envs.EnvSpec], options: Options) -> Verdict:
    """The verdict for a results folder that holds nothing for the selected environments
    (an empty folder, a mistyped --results): never a PASS."""
    found = sorted(n for n in os.listdir(options.results_dir) if n.endswith(".json"))
    other = f" (it holds {', '.join(found[:5])}{' …' if len(found) > 5 else ''})" if found else " (it is empty)"
    return Verdict("*", "*", Check.ENVIRONMENT, Status.MISSING, Outcome.ERROR,
                   f"nothing to compare: {options.results_dir} has no results for any of the {len(specs)} "
                   f"selected environment(s){other}; check --results / HARNESS_RESULTS and --tag / "
                   "HARNESS_TAGS, or run them: `nox -s matrix`.")


def _missing_result(env: str, case: str, path: str, results_dir: str) -> Verdict:
    """A case with golden values and a module, but no results in ``env``: missing (run it),
    never an orphan to prune."""
    return Verdict(env, case, Check.RUN, Status.MISSING, Outcome.ERROR,
                   f"{case} has golden values in {env} and a module ({path}), but no results in "
                   f"{store.document_path(results_dir, env)}: run it: `{_run_command(env, case)}` "
                   "(it is not an orphan: do not prune it).")


def _digests(cases: Mapping[str, str]) -> dict[str, str]:
    """Each case's current source digest (its module and the helpers beside it), as runs record it."""
    out = {}
    for case, path in cases.items():
        try:
            out[case] = source_digest(path)
        except OSError:  # gone since it was listed: nothing to judge by
            pass
    return out


def _nothing_to_bless(verdict: Verdict, result: Results) -> Verdict:
    """A case without golden values none of whose variants ran has nothing to bless (bless
    refuses it): its golden verdict is an error pointing at the run, not a bless command."""
    entry = result.cases.get(verdict.case)
    if (verdict.check != Check.GOLDEN or verdict.outcome != Outcome.MISSING or entry is None
            or any(v.ok for v in entry.variants.values())):
        return verdict
    return dataclasses.replace(
        verdict, status=Status.ERROR, outcome=Outcome.ERROR,
        message=f"{verdict.case} has no golden values in {verdict.env}, and nothing to bless: no variant of it ran "
                "(see its run verdict); fix the case, run it again, then bless it.")


def _stale(env: str, result: Results, run: list[Verdict], cases: Mapping[str, str],
           digests: Mapping[str, str]) -> list[Verdict]:
    """``run``, where a case's results come from another version of its source (the module
    or a helper beside it was edited since): its pass replaced by a *stale* error that
    says to run it again."""
    stale = {}
    for case, entry in result.cases.items():
        path, now = cases.get(case), digests.get(case)
        if path is not None and now is not None and entry.source_sha256 is not None and entry.source_sha256 != now:
            stale[case] = Verdict(
                env, case, Check.RUN, Status.ERROR, Outcome.ERROR,
                f"the results of {case} in {env} are stale: {path} (or a helper beside it) changed since they "
                f"were made (source sha256 {entry.source_sha256[:12]} then, {now[:12]} now), so they are not "
                f"results of the case as it is; run it again: `{_run_command(env, case)}`.")
    if not stale:
        return run
    kept = [v for v in run if not (v.case in stale and v.check == Check.RUN and v.outcome == Outcome.PASS)]
    return kept + list(stale.values())


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
