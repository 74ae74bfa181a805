"""Whether two runs of the same variants gave the same bits: the floor's sequential bare
runs against the harness's parallel ones (issue 17: "the same bits as sequential runs")."""

from __future__ import annotations

import json

from bench.floor import Floor
from bench.harness_runs import MatrixRun


def identical_to_floor(floor: Floor, run: MatrixRun) -> tuple[int, list[str]]:
    """How many (environment, case, variant) the floor and ``run`` both have, and those
    whose observables' values differ (NaN equal to NaN)."""
    checked, moved = 0, []
    for e in floor.envs:
        doc = run.results.get(e.env)
        if doc is None or not e.observables:
            continue
        with open(e.observables) as fh:
            bare = json.load(fh)
        for case, variants in bare.items():
            entry = (doc.get("cases") or {}).get(case) or {}
            for variant, returned in variants.items():
                harness_side = ((entry.get("variants") or {}).get(variant) or {}).get("observables")
                if harness_side is None:
                    continue
                checked += 1
                if not same_values(returned, harness_side):
                    moved.append(f"{e.env}/{case}/{variant}")
    return checked, moved


def same_values(a: dict, b: dict) -> bool:
    """Two observables mappings hold the same numbers and digests, bit for bit."""
    if set(a) != set(b):
        return False
    for name in a:
        x, y = a[name], b[name]
        if x.get("value") != y.get("value"):
            return False
        xs, ys = x.get("values") or [], y.get("values") or []
        if len(xs) != len(ys) or any(p != q and not (p != p and q != q) for p, q in zip(xs, ys)):
            return False
    return True
