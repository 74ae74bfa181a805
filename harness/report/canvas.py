"""Small multiples on one matplotlib Axes: a grid of panels drawn in figure inches.

Why not one Axes per panel: a report of the full matrix draws a few hundred panels,
and matplotlib spends most of its time creating and laying out each Axes' tick
objects (about 30 ms a panel on a 2-core machine). Here every panel is a box on one
invisible Axes; all lines go into one LineCollection, tick positions come from
MaxNLocator and labels are plain text, so a figure of twelve panels of thirty-odd
lines renders in a few tens of milliseconds with the Agg canvas.
"""

from __future__ import annotations

import dataclasses
import io
import math

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

DPI = 80
FONT = 7
GRID_COLOR = "#e3e6ea"
FRAME_COLOR = "#8c959f"
TEXT_COLOR = "#24292f"
CHAR_W = 0.058  # inches per character at FONT points, roughly (legend layout)
BOTTOM = 0.28  # inches below a plot box, for the x tick labels


def tick_labels(values: np.ndarray) -> list[str]:
    """Labels with as many decimals as the tick step needs, no more."""
    if len(values) < 2:
        return [f"{v:.4g}" for v in values]
    step = float(np.min(np.diff(values)))
    top = float(np.max(np.abs(values)))
    if step <= 0 or top >= 1e5 or step < 1e-6:
        return [_compact(v) for v in values]
    decimals = max(0, math.ceil(-math.log10(step) - 1e-9))
    return [f"{v:.{decimals}f}" for v in values]


def _compact(value: float) -> str:
    """-8.1e6 rather than -8.1e+06: tick labels have little room."""
    text = f"{value:.3g}"
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if e else text


def fit(text: str, width_in: float, size: float = FONT) -> str:
    """``text`` shortened in the middle to fit ``width_in`` inches (keeping a '#n' suffix)."""
    room = int(width_in / (CHAR_W * size / FONT))
    if len(text) <= room or room < 5:
        return text
    _, sep, tail = text.rpartition("#")
    keep = (sep + tail) if sep and len(tail) <= 3 else ""
    return text[: max(1, room - len(keep) - 1)] + "…" + keep


@dataclasses.dataclass(frozen=True)
class Panel:
    """A box in figure inches (origin bottom left) and the data limits mapped onto it."""

    x0: float
    y0: float
    w: float
    h: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def map(self, x: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Data coordinates (x, y arrays of one length) as figure inches: an (n, 2) array."""
        sx = self.w / ((self.xlim[1] - self.xlim[0]) or 1.0)
        sy = self.h / ((self.ylim[1] - self.ylim[0]) or 1.0)
        return np.column_stack([self.x0 + (np.asarray(x, float) - self.xlim[0]) * sx,
                                self.y0 + (np.asarray(y, float) - self.ylim[0]) * sy])


def limits(values: list[np.ndarray], pad: float = 0.05) -> tuple[float, float] | None:
    """Finite min and max of ``values`` with a margin; None when nothing is finite."""
    flat = np.concatenate([np.ravel(v) for v in values]) if values else np.empty(0)
    flat = flat[np.isfinite(flat)]
    if not flat.size:
        return None
    lo, hi = float(flat.min()), float(flat.max())
    margin = (hi - lo) * pad or abs(hi) * pad or 0.5
    return lo - margin, hi + margin


class SmallMultiples:
    """rows × cols panels under a legend band; draw with ``panel`` and the adders, then ``png``."""

    LEFT, RIGHT, TITLE = 0.5, 0.15, 0.2  # inches around each plot box (and BOTTOM below it)

    def __init__(self, rows: int, cols: int, panel_w: float = 2.9, panel_h: float = 1.6,
                 legend_rows: int = 0, box_bottom: float = BOTTOM, extra_bottom: float = 0.0,
                 left: float = 0.5):
        self.rows, self.cols, self.panel_w, self.panel_h = rows, cols, panel_w, panel_h
        self.box_bottom, self.left = box_bottom, left
        self.legend_h = 0.2 * legend_rows + (0.08 if legend_rows else 0)
        self.width = cols * panel_w + 0.1 + (left - self.LEFT)
        self.height = rows * panel_h + self.legend_h + 0.05 + extra_bottom
        self.fig = Figure(figsize=(self.width, self.height), dpi=DPI)
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_axis_off()
        self.ax.set_xlim(0, self.width)
        self.ax.set_ylim(0, self.height)
        self._lines: list[tuple[np.ndarray, object, float]] = []
        self._grid: list[np.ndarray] = []
        self._frames: list[np.ndarray] = []
        self._polys: list[tuple[np.ndarray, object]] = []

    # -- layout -------------------------------------------------------------------------
    def panel(self, r: int, c: int, title: str, xlim: tuple[float, float], ylim: tuple[float, float] | None,
              xlabel: str = "", x_ticks: bool = True, y_ticks: bool = True) -> Panel:
        """The panel at row ``r``, column ``c``: its title, frame, grid and ticks drawn, and its
        Panel mapping the data limits onto it (``ylim`` None: an empty panel that says "no
        finite values")."""
        x0 = c * self.panel_w + self.left
        top = self.height - self.legend_h - r * self.panel_h
        y0 = top - self.panel_h + self.box_bottom
        w = self.panel_w - self.LEFT - self.RIGHT
        h = self.panel_h - self.box_bottom - self.TITLE
        if xlim[1] <= xlim[0]:
            xlim = (xlim[0] - 0.5, xlim[0] + 0.5)
        p = Panel(x0, y0, w, h, xlim, ylim or (0.0, 1.0))
        self.text(x0 + w / 2, y0 + h + 0.05, fit(title, self.panel_w - 0.1, FONT + 0.5), ha="center",
                  va="bottom", size=FONT + 0.5)
        self._frames += [np.array([[x0, y0 + h], [x0, y0], [x0 + w, y0]])]
        if ylim is None:
            self.text(x0 + w / 2, y0 + h / 2, "no finite values", ha="center", va="center")
            return p
        if y_ticks:
            ticks = [t for t in MaxNLocator(3).tick_values(*ylim) if ylim[0] <= t <= ylim[1]]
            for t, label in zip(ticks, tick_labels(np.array(ticks))):
                y = p.map([xlim[0]], [t])[0, 1]
                self._grid.append(np.array([[x0, y], [x0 + w, y]]))
                self.text(x0 - 0.04, y, label, ha="right", va="center")
        if x_ticks:
            ticks = [t for t in MaxNLocator(3, integer=True).tick_values(*xlim) if xlim[0] <= t <= xlim[1]]
            for t, label in zip(ticks, tick_labels(np.array(ticks))):
                x = p.map([t], [ylim[0]])[0, 0]
                self._frames.append(np.array([[x, y0], [x, y0 - 0.03]]))
                self.text(x, y0 - 0.05, label, ha="center", va="top")
        if xlabel:
            self.text(x0 + w, y0 - 0.16, xlabel, ha="right", va="top", color=FRAME_COLOR)
        return p

    # -- content ------------------------------------------------------------------------
    def line(self, panel: Panel, x: np.ndarray, y: np.ndarray, color, width: float = 0.9) -> None:
        """A line through (x, y) in ``panel``'s data coordinates; non-finite values break it."""
        y = np.where(np.isfinite(y), y, np.nan)  # NaN breaks the line (Agg skips it)
        self._lines.append((panel.map(x, y), color, width))

    def bars(self, panel: Panel, heights: np.ndarray, color) -> None:
        """Adjacent bars of width 1 centred on 0, 1, 2, ... as one polygon."""
        n = len(heights)
        edges = np.arange(n + 1) - 0.5
        xs = np.repeat(edges, 2)[1:-1]
        ys = np.repeat(np.nan_to_num(heights), 2)
        outline = np.vstack([[edges[0], 0.0], np.column_stack([xs, ys]), [edges[-1], 0.0]])
        self._polys.append((panel.map(outline[:, 0], outline[:, 1]), color))

    def markers(self, panel: Panel, x: np.ndarray, y: np.ndarray, marker: str, color, size: float = 12) -> None:
        """Markers at (x, y) in ``panel``'s data coordinates; points with a non-finite y are left out."""
        xy = panel.map(x, np.where(np.isfinite(y), y, np.nan))
        keep = np.isfinite(xy[:, 1])
        self.ax.scatter(xy[keep, 0], xy[keep, 1], s=size, marker=marker, color=color, linewidths=0, zorder=3)

    def text(self, x: float, y: float, s: str, size: float = FONT, color: str = TEXT_COLOR, **kw) -> None:
        """Text at (x, y) in figure inches."""
        self.ax.text(x, y, s, fontsize=size, color=color, **kw)

    def legend(self, entries: list[tuple[str, object, str]]) -> None:
        """(label, colour, "line" | "bar" | marker) entries in rows across the top band."""
        if not entries:
            return
        cols = legend_columns([label for label, _, _ in entries], self.width)
        col_w = (self.width - 0.2) / cols
        for i, (label, color, kind) in enumerate(entries):
            x = 0.15 + (i % cols) * col_w
            y = self.height - 0.14 - (i // cols) * 0.2
            if kind == "line":
                self._lines.append((np.array([[x, y], [x + 0.25, y]]), color, 2.0))
            elif kind == "bar":
                self._polys.append((np.array([[x, y - 0.05], [x + 0.25, y - 0.05], [x + 0.25, y + 0.05],
                                              [x, y + 0.05]]), color))
            else:
                self.ax.scatter([x + 0.12], [y], s=14, marker=kind, color=color, linewidths=0)
            self.text(x + 0.32, y, label, va="center")

    # -- output -------------------------------------------------------------------------
    def png(self) -> bytes:
        """The figure as PNG bytes at DPI dots per inch, without a Software tag."""
        if self._grid:
            self.ax.add_collection(LineCollection(self._grid, colors=GRID_COLOR, linewidths=0.6, zorder=0))
        if self._frames:
            self.ax.add_collection(LineCollection(self._frames, colors=FRAME_COLOR, linewidths=0.7, zorder=1))
        if self._polys:
            self.ax.add_collection(PolyCollection([p for p, _ in self._polys], facecolors=[c for _, c in self._polys],
                                                  edgecolors="none", zorder=1.5))
        if self._lines:
            self.ax.add_collection(LineCollection([s for s, _, _ in self._lines], colors=[c for _, c, _ in self._lines],
                                                  linewidths=[w for _, _, w in self._lines], zorder=2))
        buf = io.BytesIO()
        # Unhinted glyphs render about a third faster; at this size they read the same.
        with matplotlib.rc_context({"text.hinting": "none"}):
            self.fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None},
                             pil_kwargs={"compress_level": 3})
        return buf.getvalue()


def legend_columns(labels: list[str], width: float) -> int:
    """How many legend entries fit side by side in ``width`` inches (at least 1, at most one
    per label), from the longest label."""
    widest = max((len(s) for s in labels), default=1) * CHAR_W + 0.45
    return max(1, min(len(labels), int((width - 0.2) // widest)))


def legend_rows(labels: list[str], width: float) -> int:
    """How many rows the legend of ``labels`` takes at ``width`` inches (0 without labels)."""
    return math.ceil(len(labels) / legend_columns(labels, width)) if labels else 0
