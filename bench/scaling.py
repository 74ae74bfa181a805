"""How the harness's cost grows with environments and cases: a least-squares line
through the measured points, and how far the points stray from it."""

from __future__ import annotations

import dataclasses
import os
import shutil


@dataclasses.dataclass(frozen=True)
class Fit:
    slope: float  # seconds per environment (or case)
    intercept: float  # seconds at zero
    worst_residual: float  # the largest |measured - line|, relative to the measured value

    def linear(self, tolerance: float = 0.1) -> bool:
        return self.worst_residual <= tolerance


def fit_line(xs: list[float], ys: list[float]) -> Fit:
    n = len(xs)
    if n < 2 or len(set(xs)) < 2:
        raise ValueError("a line needs two or more distinct points")
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    intercept = my - slope * mx
    worst = max(abs(y - (intercept + slope * x)) / y for x, y in zip(xs, ys) if y > 0)
    return Fit(slope, intercept, worst)


def copies_of_case(case_path: str, count: int, folder: str) -> str:
    """A cases folder holding ``count`` identical copies of one case, so that only the
    number of cases changes from one point to the next, not what they cost."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    stem = os.path.splitext(os.path.basename(case_path))[0]
    for i in range(1, count + 1):
        shutil.copyfile(case_path, os.path.join(folder, f"{stem}_{i}.py"))
    return folder


def render(what: str, unit: str, points: list[tuple[int, float]]) -> list[str]:
    lines = [f"  {what}: " + ", ".join(f"{n} -> {s:.1f} s" for n, s in points)]
    try:
        fit = fit_line([float(n) for n, _ in points], [s for _, s in points])
    except ValueError as exc:
        return lines + [f"    {exc}"]
    verdict = "linear" if fit.linear() else "not linear"
    lines.append(f"    {fit.intercept:.1f} s + {fit.slope:.2f} s per {unit}; worst point "
                 f"{100 * fit.worst_residual:.0f}% off the line: {verdict} (within 10%)")
    return lines


def render_additive(points: list[tuple[int, float, dict[str, float]]]) -> list[str]:
    """Environments differ in cost, so a line through (count, time) says little; what
    linear growth means for them is that time = a fixed part + the sum of each
    environment's own session, and that neither part grows with the count.

    ``points``: (number of environments, total seconds, nox session seconds by name)."""
    fixed = [total - sum(s for name, s in sessions.items() if name != "compare") for _, total, sessions in points]
    seen: dict[str, list[float]] = {}
    for _, _, sessions in points:
        for name, seconds in sessions.items():
            if name != "compare":
                seen.setdefault(name, []).append(seconds)
    spread = max(((max(v) - min(v)) / min(v) for v in seen.values() if len(v) > 1 and min(v) > 0), default=0.0)
    verdict = "linear" if spread <= 0.1 else "not linear"
    line = (f"    fixed part (nox, compare) {', '.join(f'{f:.1f}' for f in fixed)} s; each environment's own "
            f"session moves by at most {100 * spread:.0f}% from one count to the next: {verdict} "
            f"(time = fixed + the sum over environments, within 10%)")
    return [line]
