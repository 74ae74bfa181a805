"""Which pairs of environments are compared across versions, in one place for the
comparison step and the evidence it needs (harness.run.evidence).

    drift:previous    each environment against the one before it in its lineage
    drift:migration   the steps users take between lineages (harness.matrix.envs.MIGRATIONS)
    drift:between     two environments a user names (compare --between A B)
    drift:reference   each environment against the reference (information only; no evidence)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from harness.core.status import Check
from harness.matrix import envs


@dataclasses.dataclass(frozen=True)
class Edge:
    before: str
    after: str
    check: Check
    why: str = ""


def edges(specs: list[envs.EnvSpec], present: Collection[str], reference: str | None = None,
          between: tuple[str, str] | None = None) -> list[Edge]:
    """The cross-version comparisons among ``specs`` (in version order within lineages)
    whose two environments both have results (``present``)."""
    out: list[Edge] = []
    previous: dict[str, str] = {}
    ids = {s.id for s in specs}
    for spec in specs:
        before = previous.get(spec.lineage)
        previous[spec.lineage] = spec.id
        if before and before in present and spec.id in present:
            out.append(Edge(before, spec.id, Check.DRIFT_PREVIOUS))
    for before, after, why in envs.MIGRATIONS:
        if before in ids and after in ids and before in present and after in present:
            out.append(Edge(before, after, Check.DRIFT_MIGRATION, why))
    if between is not None and between[0] in present and between[1] in present:
        out.append(Edge(between[0], between[1], Check.DRIFT_BETWEEN, "asked for with --between"))
    if reference:
        for spec in specs:
            if spec.id != reference and reference in present and spec.id in present:
                out.append(Edge(reference, spec.id, Check.DRIFT_REFERENCE))
    return out


def needing_evidence(all_edges: list[Edge]) -> list[Edge]:
    """The edges whose differences get a cause (the reference comparison stays information)."""
    return [e for e in all_edges if e.check != Check.DRIFT_REFERENCE]
