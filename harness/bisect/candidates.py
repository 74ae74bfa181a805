"""Intermediate environments for bisect: built on demand, cached, run for one case.

A candidate is the base environment with one pin changed. It is resolved like the
matrix's locks (``uv pip compile --exclude-newer``, through harness.matrix.locks) as of
the later of two days: the base environment's date, so its other pins exist, and
the day after the candidate's upload, so the candidate exists. Every candidate
older than the base therefore gets the same index snapshot, and only the bisected
package (and what it itself requires) moves between neighbours.

Everything lives under one cache folder (``.nox/bisect-candidates`` by default):

    <cache>/<package>-<version>-<base>/           the virtualenv
    <cache>/locks/<package>-<version>-<base>.txt  its lock
    <cache>/results/<case>/<case sha>-<lock sha>/<env>.json   its results

Results are reused while the case's source and the lock are unchanged; a run in
which the case failed is not kept, so it is tried again next time.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Callable

from packaging.utils import canonicalize_name as _canonical

from harness.bisect.releases import Release
from harness.core import store
from harness.core.documents.results import Results, RunStatus
from harness.core.reader import DocumentError
from harness.inenv.cases import source_digest
from harness.matrix import interpreters, locks
from harness.matrix.envs import EnvSpec
from harness.run import environment
from harness.run.options import RunOptions, selected_cases

# Not .nox/bisect: that is the nox session's own virtualenv, which nox may clear.
DEFAULT_CACHE = os.path.join(".nox", "bisect-candidates")  # in the project: candidates are the project's to keep
# tensorflow and tensorflow-cpu are one framework in two wheels: a pin of one replaces the other.
ALIASES = ({"tensorflow", "tensorflow-cpu"},)
REASON_CHARS = 700


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One candidate version: its results document, or why it could not be tested."""

    version: str
    env_id: str
    document: Results | None = None
    skipped: str | None = None
    cached: bool = False


def requirements_with(requirements: tuple[str, ...], package: str, version: str) -> tuple[str, ...]:
    """``requirements`` with ``package`` pinned to ``version`` (replaced, or added at the end)."""
    name = _canonical(package)
    replaced: set[str] = {name}
    for group in ALIASES:
        if name in group:
            replaced |= group
    kept = [r for r in requirements if _canonical(r.partition("==")[0]) not in replaced]
    pinned = f"{package}=={version}"
    for i, req in enumerate(requirements):  # keep the pin where the old one was
        if _canonical(req.partition("==")[0]) in replaced:
            return tuple(kept[:i]) + (pinned,) + tuple(kept[i:])
    return tuple(kept) + (pinned,)


def candidate_spec(base: EnvSpec, package: str, release: Release) -> EnvSpec:
    """``base`` with ``package`` pinned to ``release``: its own id ("<package>-<version>-<base id>"),
    requirements, the tag "bisect", and the later of the base's and the release's
    exclude-newer dates."""
    days = [base.exclude_newer, release.exclude_newer() or base.exclude_newer]
    return dataclasses.replace(
        base,
        id=store.safe_name(f"{_canonical(package)}-{release.version}-{base.id}"),
        requirements=requirements_with(base.requirements, package, release.version),
        exclude_newer=max(days),  # ISO dates order as strings
        tags=("bisect",),
    )


def _short(text: str) -> str:
    """uv's message on one line; for an unsatisfiable pin, just its reason ("Because ...")."""
    text = " ".join(line.strip(" ×╰─▶│") for line in text.strip().splitlines() if line.strip(" ×╰─▶│"))
    if "Because " in text:
        text = text[text.index("Because "):]
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


@dataclasses.dataclass(frozen=True)
class Workspace:
    """Where candidates are built and how the case is run in them."""

    base: EnvSpec
    package: str
    case: str
    case_dirs: tuple[str, ...] = RunOptions().case_dirs
    cache: str = DEFAULT_CACHE
    repeat: int = 1
    case_timeout: float = RunOptions().case_timeout
    force: bool = False  # run again even where cached results still hold
    progress: Callable[[str], None] = print

    def case_digest(self) -> str:
        """The case source's sha256; KeyError or UsageError when it cannot be found."""
        found = selected_cases(RunOptions(case_dirs=self.case_dirs))
        if self.case not in found:
            raise KeyError(f"no case {self.case!r} in {', '.join(self.case_dirs)}")
        return source_digest(found[self.case])

    def venv_dir(self, spec: EnvSpec) -> str:
        return os.path.join(self.cache, spec.id)

    def results_dir(self, spec: EnvSpec) -> str:
        lock = (locks.lock_digest(spec, self.cache) or "nolock")[:12]
        return os.path.join(self.cache, "results", self.case, f"{self.case_digest()[:12]}-{lock}")

    # -- the steps ------------------------------------------------------------
    def attempt(self, release: Release) -> Attempt:
        """Build (or reuse) the candidate for ``release`` and run the case in it."""
        spec = candidate_spec(self.base, self.package, release)
        if release.unusable:
            return Attempt(release.version, spec.id, skipped=release.unusable)
        base_python = interpreters.resolve(spec.python)
        if base_python is None:
            return Attempt(release.version, spec.id, skipped=interpreters.explain_missing(spec.python))
        try:
            self._lock(spec)
        except RuntimeError as exc:
            return Attempt(release.version, spec.id, skipped=f"cannot be resolved as of {spec.exclude_newer}: {_short(str(exc))}")
        options = self.run_options(spec)
        cached = self._cached(spec, options)
        if cached is not None:
            self.progress(f"  {self.package} {release.version}: results reused from the cache")
            return Attempt(release.version, spec.id, document=cached, cached=True)
        try:
            python = self._venv(spec, base_python)
        except RuntimeError as exc:
            return Attempt(release.version, spec.id, skipped=f"cannot be installed: {_short(str(exc))}")
        self.progress(f"  {self.package} {release.version}: running {self.case} in {spec.id}")
        doc = environment.run_environment(spec, python, options, progress=lambda _: None)
        problem = untestable(doc, self.case) if doc is not None else "no results were written"
        if problem:
            return Attempt(release.version, spec.id, document=doc, skipped=problem)
        return Attempt(release.version, spec.id, document=doc)

    def run_options(self, spec: EnvSpec) -> RunOptions:
        return RunOptions(case_dirs=self.case_dirs, only=(self.case,), repeat=self.repeat,
                                  case_timeout=self.case_timeout, results_dir=self.results_dir(spec),
                                  force=self.force)

    def _lock(self, spec: EnvSpec) -> str:
        path = locks.lock_path(spec, self.cache)
        if not os.path.exists(path):
            self.progress(f"  resolving {spec.id} as of {spec.exclude_newer}")
            locks.write_lock(spec, self.cache)
        return path

    def _cached(self, spec: EnvSpec, options: RunOptions) -> Results | None:
        """The earlier results, when the harness's incremental plan says they still hold
        (same case source, runner and repeats; errors are always run again). The lock is
        part of the results folder's name, so a changed lock never finds old results."""
        if options.force or not environment.plan_environment(spec, options).up_to_date:
            return None
        try:
            doc = store.read_results(store.document_path(options.results_dir, spec.id))
        except (FileNotFoundError, DocumentError):
            return None  # a broken cache entry reads as absent: the case runs again
        return None if untestable(doc, self.case) else doc

    def _venv(self, spec: EnvSpec, base_python: str) -> str:
        folder = self.venv_dir(spec)
        python = os.path.join(folder, "bin", "python")
        if not os.path.exists(python):
            self.progress(f"  building {folder}")
            _uv_run(["venv", "--quiet", "--python", base_python, folder])
        # sync is idempotent and quick when nothing changed; it also repairs a half-built venv
        _uv_run(["pip", "sync", "--quiet", "--python", python, locks.lock_path(spec, self.cache)])
        return python


def _uv_run(args: list[str]) -> None:
    proc = subprocess.run([*locks.uv_command(), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"uv {args[0]} exited with {proc.returncode}")


def untestable(doc: Results, case: str) -> str | None:
    """Why ``doc`` has no usable values for ``case``, or None when it has them."""
    if not doc.ok:
        return f"environment unavailable: {doc.reason}"
    entry = doc.cases.get(case)
    if entry is None:
        return f"the case {case} did not run"
    if entry.status != RunStatus.OK:
        return f"the case failed: {entry.error.message if entry.error else 'unknown error'}"
    for variant, v in entry.variants.items():
        if not v.ok:
            err = v.error
            return f"{variant} raised {err.type if err else '?'}: {_short(err.message if err else '')}"
    return None
