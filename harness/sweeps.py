"""Optional environment sets, selected by nox tags; not part of the default matrix."""

from __future__ import annotations

SWEEPS: tuple = ()
