"""Default tolerances per kind of observable: the one reviewed place for them.

A case overrides per observable with ``TOLERANCES = {"loss": {"rtol": 1e-3}}``.
Values are within tolerance when |obtained - expected| <= atol + rtol * |expected|.
The defaults admit float32 round-off accumulated over a few hundred training steps
(different CPU kernels, oneDNN on or off) and nothing more: a changed initializer,
random stream or default moves these observables by orders of magnitude more.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from harness.core.documents.declarations import ToleranceOverride


@dataclasses.dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def describe(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


DEFAULTS: dict[str, Tolerance] = {
    "scalar": Tolerance(rtol=1e-4, atol=1e-6),
    "series": Tolerance(rtol=1e-4, atol=1e-6),  # losses, metrics, per-layer sums
    "table": Tolerance(rtol=1e-4, atol=1e-5),  # weight-sum trajectories: sums of many terms
    "array": Tolerance(rtol=1e-4, atol=1e-6),  # predictions on the probe batch
}
FALLBACK = Tolerance(rtol=1e-4, atol=1e-6)


def for_observable(name: str, kind: str, overrides: Mapping[str, ToleranceOverride] | None = None) -> Tolerance:
    """The tolerance of observable ``name`` of ``kind``: the case's override where it
    gives one (rtol, atol or both), else the default of its kind."""
    base = DEFAULTS.get(kind, FALLBACK)
    override = (overrides or {}).get(name)
    if override is None:
        return base
    return Tolerance(rtol=base.rtol if override.rtol is None else override.rtol,
                     atol=base.atol if override.atol is None else override.atol)
