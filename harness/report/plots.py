"""The report's figures, drawn with matplotlib (Agg) and embedded as base64 PNG.

Which figure an observable gets follows from its axes, never from its name, so a
new case is plotted without a change here:

- a series over epochs or steps (loss, val_loss): a curve per environment;
- a table over (step, X) (the trajectory: each layer's first weight array summed after every step): one panel per
  variant and entry of X (layer), a line per environment;
- a table or array over (step, X, bin) (per-layer histograms, as in seed 002): one
  panel per variant and X, the last step as bars over the first step's outline;
- the last value of every curve and every scalar: a marker per environment and
  variant, environments along the x axis (the figure that names every environment).

Thirty-odd environments stay readable because lines are grouped: environments
whose lines coincide on every panel of a figure (within 0.4 % of each panel's
height) are drawn once, in one colour, and the legend names the group. Only when
more than ten distinct groups remain does each environment keep its own line,
coloured by lineage (one hue per lineage, darker for later versions).
"""

from __future__ import annotations

import base64
import dataclasses

import numpy as np
from matplotlib import colormaps

from harness.check.evaluate import Evaluation
from harness.core.documents.observables import Observable
from harness.report import model, pool
from harness.report.canvas import SmallMultiples, legend_rows, limits

TIME_AXES = ("step", "epoch", "snapshot", "iteration")
PANEL_W, PANEL_H = 2.9, 1.6  # inches
MAX_COLUMNS = 8
MAX_GROUPS = 10  # distinct line groups that get a colour and a legend entry each
SAME_LINE = 0.004  # fraction of a panel's height under which two lines look the same
LINEAGE_MAPS = ("Blues", "Oranges", "Greens", "Purples", "Reds", "Greys", "YlOrBr", "PuRd")
MARKERS = "os^vD<>ph*"


@dataclasses.dataclass(frozen=True)
class Plot:
    title: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        """The PNG as a data: URI, for an <img> that loads nothing."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclasses.dataclass(frozen=True)
class Grouping:
    """Which environments a figure draws, in which colour, and the legend that explains it."""

    drawn: dict[str, tuple]  # env -> colour, for the environments that get a line
    legend: tuple[tuple[str, tuple], ...]  # (label, colour)
    groups: tuple[tuple[str, ...], ...]  # environments drawn as one line (one group per line)


# -- grouping environments whose lines coincide ------------------------------------------------
def group_lines(order: list[str], panels: dict[str, list[np.ndarray | None]]) -> list[list[str]]:
    """Environments (in ``order``) whose arrays coincide on every panel, grouped.

    Each environment becomes one vector: its panels concatenated, each divided by the
    panel's span, so "coincide" means within SAME_LINE of every panel's height."""
    n = max((len(v) for v in panels.values()), default=0)
    spans = []
    for i in range(n):
        values: list[np.ndarray] = [a for v in panels.values() if i < len(v) and (a := v[i]) is not None]
        bounds = limits(values, pad=0.0)
        spans.append((bounds[1] - bounds[0]) if bounds and bounds[1] > bounds[0] else 1.0)
    shapes, vectors = {}, {}
    for env in order:
        if env not in panels:
            continue
        arrays = panels[env]
        shapes[env] = tuple(None if a is None else a.shape for a in arrays)
        parts = [a.ravel() / spans[i] for i, a in enumerate(arrays) if a is not None]
        vectors[env] = np.concatenate(parts) if parts else np.empty(0)
    groups: list[list[str]] = []
    for env, v in vectors.items():
        nan = np.isnan(v)
        for group in groups:
            rep = vectors[group[0]]
            if shapes[group[0]] != shapes[env] or not np.array_equal(np.isnan(rep), nan):
                continue
            if not v.size or float(np.max(np.abs(np.where(nan, 0.0, v - rep)))) <= SAME_LINE:
                group.append(env)
                break
        else:
            groups.append([env])
    return groups


def group_label(members: list[str], order: list[str]) -> str:
    """"tf2.0-keras2 … tf2.9-keras2 (10)" for a run of consecutive environments, else a list."""
    if len(members) <= 3:
        return ", ".join(members)
    positions = [order.index(m) for m in members]
    if positions == list(range(positions[0], positions[0] + len(members))):
        return f"{members[0]} … {members[-1]} ({len(members)})"
    return f"{', '.join(members[:3])} +{len(members) - 3} more"


def grouping(ev: Evaluation, panels: dict[str, list[np.ndarray | None]]) -> Grouping:
    """The colours and legend of one figure: environments whose lines coincide on every panel
    share one colour and one legend entry; past MAX_GROUPS groups, each environment keeps
    its own line, coloured by lineage (light to dark)."""
    order = [s.id for s in ev.specs if s.id in panels]
    groups = group_lines(order, panels)
    if len(groups) <= MAX_GROUPS:
        cmap = colormaps["tab10"]
        drawn = {g[0]: cmap(i % 10) for i, g in enumerate(groups)}
        legend = tuple((group_label(g, order), drawn[g[0]]) for g in groups)
        return Grouping(drawn, legend, tuple(tuple(g) for g in groups))
    drawn, entries = {}, []
    present = [s for s in ev.specs if s.id in panels]
    for i, (lineage, members) in enumerate(model.lineages(present)):
        cmap = colormaps[LINEAGE_MAPS[i % len(LINEAGE_MAPS)]]
        n = len(members)
        for j, spec in enumerate(members):
            drawn[spec.id] = cmap(0.45 + 0.5 * (j / (n - 1) if n > 1 else 1.0))
        span = members[0].id if n == 1 else f"{members[0].id} → {members[-1].id}, light → dark"
        entries.append((f"{lineage}: {span}", drawn[members[-1].id]))
    return Grouping(drawn, tuple(entries), tuple((e,) for e in order))


# -- gathering the observables of one case ----------------------------------------------------
def shape_class(obs: Observable) -> str | None:
    """"curve", "trajectory", "histogram" or None (not plotted), from the axes alone."""
    if not obs.kind.numeric:
        return None
    axes, shape = obs.axes, obs.shape
    if len(axes) != len(shape) or not axes or 0 in shape:
        return None
    if len(axes) == 3 and str(axes[2]).startswith("bin"):
        return "histogram"
    if axes[0] not in TIME_AXES:
        return None
    if len(axes) == 1:
        return "curve"
    if len(axes) == 2:
        return "trajectory"
    return None


@dataclasses.dataclass
class _Gathered:
    kinds: dict[str, str]  # observable -> shape class, in first-seen order
    variants: list[str]
    data: dict[tuple[str, str], dict[str, Observable]]  # (observable, variant) -> env -> observable


def _gather(ev: Evaluation, case: str) -> _Gathered:
    g = _Gathered({}, [], {})
    for spec in ev.specs:
        for variant, v in model.variants_of(ev, spec.id, case).items():
            for name, obs in v.observables.items():
                kind = shape_class(obs)
                if kind is None:
                    continue
                g.kinds.setdefault(name, kind)
                if variant not in g.variants:
                    g.variants.append(variant)
                g.data.setdefault((name, variant), {})[spec.id] = obs
    return g


def _array(obs: Observable) -> np.ndarray | None:
    try:
        arr = np.asarray(obs.values, dtype=np.float64).reshape(obs.shape)
    except (TypeError, ValueError):
        return None
    return np.where(np.isfinite(arr), arr, np.nan)


def _labels(obs: Observable, axis: int) -> list[str]:
    n = obs.shape[axis]
    labels = obs.labels or ()
    if axis == len(obs.shape) - 1 and len(labels) == n:
        return [str(x) for x in labels]
    return [f"{obs.axes[axis]} {i}" for i in range(n)]


# -- line figures (curves and trajectories) ---------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _PanelSpec:
    row: int
    col: int
    row_label: str  # the variant (trajectories) or the observable (curves)
    col_label: str  # the layer (trajectories) or the variant (curves)
    xlabel: str
    series: dict[str, np.ndarray]  # env -> 1-D array


def _shared_rows(specs: list[_PanelSpec], bounds: dict[int, tuple[float, float] | None]) -> dict[int, tuple]:
    """Rows whose panels have about the same y range share it (tick labels only in
    the first column): each panel spans at least half of the row's range."""
    shared = {}
    for row in {p.row for p in specs}:
        members = [i for i, p in enumerate(specs) if p.row == row]
        known: list[tuple[float, float]] = [b for i in members if (b := bounds[i]) is not None]
        if len(known) < 2 or len(known) != len(members):
            continue
        lo, hi = min(b[0] for b in known), max(b[1] for b in known)
        if all((b[1] - b[0]) >= 0.5 * (hi - lo) for b in known):
            shared[row] = (lo, hi)
    return shared


def _line_figure(ev: Evaluation, specs: list[_PanelSpec], rows: int, cols: int) -> bytes:
    envs_here = [s.id for s in ev.specs if any(s.id in p.series for p in specs)]
    panels = {env: [p.series.get(env) for p in specs] for env in envs_here}
    grouped = grouping(ev, panels)
    labels = [label for label, _ in grouped.legend]
    # The same columns in every row (layers named alike, or variants): name them once on
    # top and the rows once at the left, instead of a title on every panel.
    columns_by_row: dict[int, list[str]] = {}
    for p in specs:
        columns_by_row.setdefault(p.row, []).append(p.col_label)
    headers = rows > 1 and len({tuple(c) for c in columns_by_row.values()}) == 1
    panel_w = min(PANEL_W, max(1.5, 12.0 / cols))
    panel_h = PANEL_H if panel_w >= 2.2 else 1.3
    fig = SmallMultiples(rows, cols, panel_w, panel_h, legend_rows(labels, cols * panel_w + 0.1),
                         left=0.72 if headers else 0.5)
    drawn = [[(env, y) for env, y in p.series.items() if env in grouped.drawn] for p in specs]
    bounds = {i: limits([y for _, y in d]) for i, d in enumerate(drawn)}
    shared = _shared_rows(specs, bounds)
    for i, p in enumerate(specs):
        length = max((len(y) for _, y in drawn[i]), default=1)
        # x ticks only under the lowest panel of each column: the panels above share its steps
        bottom = not any(q.col == p.col and q.row > p.row for q in specs)
        title = (p.col_label if p.row == 0 else "") if headers else f"{p.row_label} · {p.col_label}"
        panel = fig.panel(p.row, p.col, title, (0.0, float(length - 1)), shared.get(p.row, bounds[i]),
                          x_ticks=bottom,
                          y_ticks=p.row not in shared or p.col == 0)
        if headers and p.col == 0:
            fig.text(0.1, panel.y0 + panel.h / 2, p.row_label, rotation=90, ha="center", va="center",
                     size=7.5, weight="bold")
        for env, y in drawn[i]:
            fig.line(panel, np.arange(len(y), dtype=np.float64), y, grouped.drawn[env])
        if any(np.isnan(y).any() for _, y in drawn[i]):
            fig.text(panel.x0 + panel.w, panel.y0 + 0.03, "NaN/inf not drawn", ha="right", va="bottom",
                     color="#c92a2a")
    fig.legend([(label, color, "line") for label, color in grouped.legend])
    return fig.png()


def _trajectory(ev: Evaluation, g: _Gathered, name: str) -> Plot:
    variants = [v for v in g.variants if (name, v) in g.data]
    specs = []
    width = 1
    for r, variant in enumerate(variants):
        per_env: dict[str, np.ndarray] = {
            e: a for e, o in g.data[(name, variant)].items() if (a := _array(o)) is not None and a.ndim == 2}
        if not per_env:
            continue
        sample = g.data[(name, variant)][next(iter(per_env))]
        columns = _labels(sample, 1)[:MAX_COLUMNS]
        width = max(width, len(columns))
        for c, label in enumerate(columns):
            series = {e: a[:, c] for e, a in per_env.items() if a.shape[1] > c}
            specs.append(_PanelSpec(r, c, variant, label, sample.axes[0], series))
    axes = next(iter(g.data[(name, variants[0])].values())).axes
    what = " (the sum of each layer's first weight array after every step)" if name == "trajectory" else ""
    return Plot(f"{name}: one panel per variant and {axes[1]}, over {axes[0]}s",
                f"One line per group of environments whose lines coincide{what}.",
                _line_figure(ev, specs, len(variants), width))


def _curves(ev: Evaluation, g: _Gathered, names: list[str]) -> Plot:
    variants = [v for v in g.variants if any((n, v) in g.data for n in names)]
    specs = []
    axis = "epoch"
    for r, name in enumerate(names):
        for c, variant in enumerate(variants):
            per_env = g.data.get((name, variant)) or {}
            series = {e: a.ravel() for e, a in ((e, _array(o)) for e, o in per_env.items()) if a is not None}
            if not series:
                continue
            axis = next(iter(per_env.values())).axes[0]
            specs.append(_PanelSpec(r, c, name, variant, axis, series))
    return Plot(f"{', '.join(names)} per {axis}", "Rows are observables, columns are variants; one line per "
                "group of environments whose curves coincide.", _line_figure(ev, specs, len(names), len(variants)))


# -- histograms (step, X, bin) ----------------------------------------------------------------
def _histograms(ev: Evaluation, g: _Gathered, name: str) -> Plot:
    variants = [v for v in g.variants if (name, v) in g.data]
    candidates = [s.id for s in ev.specs if any(s.id in g.data[(name, v)] for v in variants)]
    env = ev.options.reference if ev.options.reference in candidates else candidates[-1]
    rows = [(v, g.data[(name, v)][env]) for v in variants if env in g.data[(name, v)]]
    arrays: list[tuple[str, Observable, np.ndarray]] = [
        (v, o, a) for v, o in rows if (a := _array(o)) is not None and a.ndim == 3]
    width = max((min(a.shape[1], MAX_COLUMNS) for _, _, a in arrays), default=1)
    fig = SmallMultiples(max(1, len(arrays)), width, 1.45, 1.25, legend_rows=1)
    steps, step_axis = 0, "step"
    for r, (variant, obs, a) in enumerate(arrays):
        steps, step_axis = a.shape[0], obs.axes[0]
        labels = [str(x) for x in obs.labels or ()]
        # labels name the entries of one axis: the layers when their count matches, else the bins
        groups = labels if len(labels) == a.shape[1] else [f"{obs.axes[1]} {i}" for i in range(a.shape[1])]
        for c in range(min(width, a.shape[1])):
            first, last = a[0, c], a[-1, c]
            top = limits([np.nan_to_num(first), np.nan_to_num(last)], pad=0.0)
            panel = fig.panel(r, c, f"{variant} · {groups[c]}", (-0.5, a.shape[2] - 0.5),
                              (0.0, (top[1] if top else 1.0) * 1.05 or 1.0), x_ticks=False, y_ticks=False)
            fig.bars(panel, last, "#f08c00")
            edges = np.arange(a.shape[2] + 1) - 0.5
            fig.line(panel, np.repeat(edges, 2)[1:-1], np.repeat(np.nan_to_num(first), 2), "#495057", 0.8)
    fig.legend([(f"last {step_axis} ({steps - 1})", "#f08c00", "bar"), (f"first {step_axis} (0)", "#495057", "line")])
    axes = rows[0][1].axes if rows else ("step", "layer", "bin")
    return Plot(f"{name}: one panel per variant and {axes[1]}, in {env}",
                f"Bins along x, counts along y (as in seed 002); environment shown: {env}.", fig.png())


# -- final values per environment -------------------------------------------------------------
def _finals(ev: Evaluation, case: str) -> Plot | None:
    columns, rows = model.final_metrics(ev, case)
    if not columns or not rows:
        return None
    names = list(dict.fromkeys(n for _, n in columns))
    variants = list(dict.fromkeys(v for v, _ in columns))
    env_ids = [e for e, _ in rows]
    # One column of panels sharing the environment axis: the names are written once, at the bottom.
    label_band = 0.1 + CHAR_PER_ENV * max(len(e) for e in env_ids)
    panel_w = max(2 * PANEL_W, 0.2 * len(env_ids) + 0.75)
    heights = 1.3
    fig = SmallMultiples(len(names), 1, panel_w, heights, legend_rows(variants, panel_w), extra_bottom=label_band)
    x = np.arange(len(env_ids), dtype=np.float64)
    lineage_of = {s.id: s.lineage for s in ev.specs}
    cmap = colormaps["tab10"]
    for i, name in enumerate(names):
        ys = {v: np.array([np.nan if vals[columns.index((v, name))] is None else vals[columns.index((v, name))]
                           for _, vals in rows], dtype=np.float64) for v in variants if (v, name) in columns}
        panel = fig.panel(i, 0, f"last {name}", (-0.6, len(env_ids) - 0.4), limits(list(ys.values())),
                          x_ticks=False)
        for k, env in enumerate(env_ids):
            if k and lineage_of.get(env) != lineage_of.get(env_ids[k - 1]):
                fig.line(panel, np.array([k - 0.5, k - 0.5]), np.array(panel.ylim), "#ced4da", 0.8)
            if i == len(names) - 1:
                xk = panel.map([k], [panel.ylim[0]])[0, 0]
                fig.text(xk, panel.y0 - 0.05, env, ha="center", va="top", rotation=90, size=6.5)
        for j, y in enumerate(ys.values()):
            fig.markers(panel, x, y, MARKERS[j % len(MARKERS)], cmap(j % 10))
    fig.legend([(v, cmap(j % 10), MARKERS[j % len(MARKERS)]) for j, v in enumerate(variants)])
    return Plot("final values per environment", "The last value of each curve, a marker per variant; "
                "environments in version order, lineages separated by a grey line.", fig.png())


CHAR_PER_ENV = 0.05  # inches per character of a rotated environment name


# -- which figures a case gets, and drawing them (in parallel where the machine allows) --------
Figure = tuple[str, str, tuple[str, ...]]  # (case, kind, observables)


def case_figures(ev: Evaluation, case: str) -> list[Figure]:
    """The figures of one case, in reading order: trajectories, curves, histograms, final values."""
    kinds = _gather(ev, case).kinds
    figures: list[Figure] = [(case, "trajectory", (n,)) for n, k in kinds.items() if k == "trajectory"]
    curves = tuple(n for n, k in kinds.items() if k == "curve")
    if curves:
        figures.append((case, "curves", curves))
    figures += [(case, "histogram", (n,)) for n, k in kinds.items() if k == "histogram"]
    figures.append((case, "finals", ()))
    return figures


def draw(ev: Evaluation, figure: Figure) -> Plot | None:
    """One figure of ``case`` (finals, curves, trajectory or histograms) as a PNG Plot; None
    when there is nothing to draw."""
    case, kind, names = figure
    if kind == "finals":
        return _finals(ev, case)
    g = _gather(ev, case)
    if kind == "curves":
        return _curves(ev, g, list(names))
    return (_trajectory if kind == "trajectory" else _histograms)(ev, g, names[0])


def case_plots(ev: Evaluation, case: str) -> list[Plot]:
    """Every figure of one case, in reading order."""
    return [p for p in (draw(ev, f) for f in case_figures(ev, case)) if p is not None]


def all_plots(ev: Evaluation) -> dict[str, list[Plot]]:
    """Every case's figures, drawn on every core (see ``pool``)."""
    figures = [f for case in ev.cases for f in case_figures(ev, case)]
    drawn = pool.map_figures(draw, ev, figures)
    out: dict[str, list[Plot]] = {case: [] for case in ev.cases}
    for (case, _, _), plot in zip(figures, drawn):
        if plot is not None:
            out[case].append(plot)
    return out
