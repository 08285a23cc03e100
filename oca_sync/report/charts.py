"""Charts as inline SVG, drawn by matplotlib (its Figure API with the Agg canvas: no display, no pyplot state).

Texts stay text (``svg.fonttype = none``) so that they take the page's font and are
readable and searchable; nothing in the SVG points outside the document.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.patches import Patch

KIND_COLOURS = {"training": "#1f77b4", "mentoring": "#2ca02c", "event": "#9467bd"}
PRE, POST = "#9ecae1", "#08519c"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")

_STYLE: Any = {  # Any: matplotlib types rcParams keys as literals

    "svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9, "axes.spines.top": False,
    "axes.spines.right": False, "axes.titlesize": 10, "axes.titleweight": "bold",
}


def _svg(fig: Figure, name: str, title: str, wide: bool = False) -> str:
    FigureCanvasAgg(fig)
    buf = io.StringIO()
    # hashsalt: the ids of clip paths differ between the charts of one page
    style: Any = {**_STYLE, "svg.hashsalt": name}
    with matplotlib.rc_context(style):
        # constrained layout already fits the labels: no bbox_inches="tight", which draws the figure twice
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # no XML declaration or DOCTYPE (it names an external DTD)
    text = re.sub(r'<metadata>.*?</metadata>', "", text, count=1, flags=re.S)
    # Sized by the page (viewBox kept), labelled for screen readers.
    text = re.sub(r'\s(width|height)="[^"]*"', "", text, count=2)
    return text.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" class="chart{" wide" if wide else ""}" ', 1)


def _attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


#: Widest and tallest figure (inches): beyond, bars and cells get thinner instead (a 480-session
#: programme would otherwise make a 130-inch image, gigabytes to rasterise).
MAX_WIDTH, MAX_HEIGHT = 14.0, 24.0
#: Most tick labels on an axis; beyond, every n-th is shown.
MAX_LABELS = 48


def _ticks(labels: Sequence[str]) -> tuple[list[int], list[str]]:
    step = max(1, -(-len(labels) // MAX_LABELS))
    positions = list(range(0, len(labels), step))
    return positions, [labels[i] for i in positions]


def _figure(width: float, height: float) -> Figure:
    width, height = min(width, MAX_WIDTH), min(height, MAX_HEIGHT)
    with matplotlib.rc_context(_STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def attendance_per_session(labels: Sequence[str], kinds: Sequence[str], rates: Sequence[float | None],
                           title: str, kind_names: dict[str, str]) -> str:
    with matplotlib.rc_context(_STYLE):
        fig = _figure(max(6.0, 0.28 * len(labels)), 2.8)
        ax = fig.add_subplot()
        values = [100 * r if r is not None else 0 for r in rates]
        # One collection of rectangles, not a bar artist each: 480 sessions drew in 0.7 s, now in 0.25 s.
        ax.add_collection(PolyCollection(
            [[(x - 0.4, 0), (x - 0.4, v), (x + 0.4, v), (x + 0.4, 0)] for x, v in enumerate(values)],
            facecolors=[KIND_COLOURS.get(k, "#777") for k in kinds], edgecolors="none"))
        ax.set_xlim(-0.9, len(labels) - 0.1)
        ax.set_xticks(*_ticks(labels), rotation=90, fontsize=7)
        ax.set_ylim(0, 100)
        ax.set_ylabel("%")
        handles = [Patch(color=KIND_COLOURS[k], label=kind_names.get(k, k))
                   for k in KIND_COLOURS if k in kinds]
        if handles:
            ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False,
                      ncols=len(handles))
        return _svg(fig, "attendance", title, wide=True)


def heatmap(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float | None]], title: str) -> str:
    import numpy as np

    with matplotlib.rc_context(_STYLE):
        fig = _figure(max(6.0, 0.28 * len(cols) + 2), 0.35 * len(rows) + 1.6)
        ax = fig.add_subplot()
        grid = np.array([[np.nan if v is None else 100 * v for v in row] for row in values], dtype=float)
        cmap = matplotlib.colormaps["Blues"].with_extremes(bad="#eeeeee")
        # interpolation "none": the grid goes into the SVG as it is, one pixel per cell, which the browser
        # scales crisply (image-rendering: pixelated); resampled to the figure's size it took seconds and
        # megabytes for a 480-session programme.
        im = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=100, interpolation="none")
        ax.set_yticks(*_ticks(rows), fontsize=8)
        ax.set_xticks(*_ticks(cols), rotation=90, fontsize=7)
        fig.colorbar(im, ax=ax, label="%", shrink=0.8)
        return _svg(fig, "heatmap", title, wide=True)


def distribution(labels: Sequence[str], pre: Sequence[int], post: Sequence[int], title: str,
                 pre_name: str, post_name: str, name: str, n_pre: int = 0, n_post: int = 0) -> str:
    """Share of respondents per answer (of those who answered), before and after, side by side."""
    with matplotlib.rc_context(_STYLE):
        fig = _figure(6.0, 0.32 * len(labels) + 1.2)
        ax = fig.add_subplot()
        n_pre, n_post = n_pre or sum(pre) or 1, n_post or sum(post) or 1
        ys = range(len(labels))
        h = 0.4
        if any(pre):
            ax.barh([y - h / 2 for y in ys], [100 * v / n_pre for v in pre], height=h, color=PRE, label=pre_name)
        if any(post):
            ax.barh([y + h / 2 for y in ys], [100 * v / n_post for v in post], height=h, color=POST, label=post_name)
        ax.set_yticks(list(ys), [_short(x) for x in labels], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("%")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7, frameon=False, ncols=2)
        return _svg(fig, name, title)


def campaign_progress(weekly: dict[str, list[tuple[dt.date, float]]], targets: dict[str, int],
                      names: dict[str, str], title: str, name: str,
                      span: tuple[dt.date, dt.date], ylabel: str = "% of target") -> str:
    """Cumulative totals as a share of each target over the weeks (100% = target reached)."""
    with matplotlib.rc_context(_STYLE):
        fig = _figure(6.0, 2.6)
        ax = fig.add_subplot()
        for i, (metric, series) in enumerate(weekly.items()):
            target = targets.get(metric)
            if not series or not target:
                continue
            ax.plot(date2num([d for d, _ in series]), [100 * v / target for _, v in series], marker="o", markersize=3,
                    color=PALETTE[i % len(PALETTE)], label=names.get(metric, metric))
        ax.axhline(100, color="#555", linestyle="--", linewidth=0.8)
        ax.set_xlim(float(date2num(span[0])), float(date2num(span[1] + dt.timedelta(days=6))))
        ax.xaxis_date()
        ax.set_ylabel(ylabel)
        fig.autofmt_xdate(rotation=30)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=7, frameon=False)
        return _svg(fig, name, title)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def campaign_overview(orgs: Sequence[str], metrics: Sequence[str], progress: Sequence[Sequence[float | None]],
                      names: dict[str, str], title: str, xlabel: str) -> str:
    """Share of each target reached, per organisation (rows) and metric (bars); 100% marked."""
    with matplotlib.rc_context(_STYLE):
        fig = _figure(6.5, 0.22 * len(orgs) * max(1, len(metrics)) / 2 + 1.4)
        ax = fig.add_subplot()
        h = 0.8 / max(1, len(metrics))
        for j, metric in enumerate(metrics):
            ys = [i - 0.4 + h * (j + 0.5) for i in range(len(orgs))]
            ax.barh(ys, [100 * (row[j] or 0) for row in progress], height=h, color=PALETTE[j % len(PALETTE)],
                    label=names.get(metric, metric))
        ax.axvline(100, color="#555", linestyle="--", linewidth=0.8)
        ax.set_yticks(*_ticks([_short(o, 32) for o in orgs]), fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7, frameon=False, ncols=min(5, len(metrics)))
        return _svg(fig, "campaigns", title, wide=True)


def campaign_weeks(orgs: Sequence[str], weeks: Sequence[dt.date], values: Sequence[Sequence[float | None]],
                   title: str, label: str) -> str:
    """Running share of one target per organisation (rows) and week (columns): many campaigns in one chart."""
    import numpy as np

    with matplotlib.rc_context(_STYLE):
        fig = _figure(max(6.0, 0.3 * len(weeks) + 2.5), 0.2 * len(orgs) + 1.4)
        ax = fig.add_subplot()
        grid = np.array([[np.nan if v is None else min(150.0, 100 * v) for v in row] for row in values], dtype=float)
        im = ax.imshow(grid, aspect="auto", cmap=matplotlib.colormaps["Greens"].with_extremes(bad="#eeeeee"),
                       vmin=0, vmax=150, interpolation="none")  # unresampled, as in heatmap()
        ax.set_yticks(*_ticks([_short(o, 32) for o in orgs]), fontsize=7)
        ax.set_xticks(*_ticks([f"{w:%m-%d}" for w in weeks]), rotation=90, fontsize=7)
        fig.colorbar(im, ax=ax, label=label, shrink=0.8)
        return _svg(fig, "campaign-weeks", title, wide=True)
