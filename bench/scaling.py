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
