"""Report charts as matplotlib figures, and their conversion to self-contained inline SVG.

The functions take plain data (lists, dicts, DataFrames), never the job config. This module's
source is also copied into the report notebook (lines tagged ``# nb:skip`` are dropped).
"""

from __future__ import annotations

import io
import itertools
import math
import re
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analyzer.report.metrics_info import METRICS  # nb:skip

OK_COLOR = "#4c72b0"
BAD_COLOR = "#d55e00"
NEG_COLOR = "#8172b3"
GRID_COLOR = "#dddddd"
WIDTH_IN = 7.0
_svg_counter = itertools.count(1)


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
    ax.set_axisbelow(True)


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def facet_chart(rows: list[dict[str, Any]], title: str, tolerance: float) -> Figure:
    """Horizontal bars: each metric's distance from its fair value (0 = fair).

    ``rows`` are dicts with ``name``, ``value`` (float, may be +-inf or None), optionally
    ``stage`` (``pre``/``post``). Bars beyond the tolerance band are drawn in orange;
    infinite values are drawn to the axis edge and labelled ``∞``. Pre- and post-training
    metrics are separated by a dashed line.
    """
    items = []
    for r in rows:
        v = r.get("value")
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        fair = METRICS[r["name"]].fair if r["name"] in METRICS else 0.0
        label = r["name"] if fair == 0 else f"{r['name']} \u2212 {fair:g}"
        items.append((label, v - fair, r.get("stage", "")))
    if not items:
        raise ValueError("no metric with a value to plot")
    finite = [abs(d) for _, d, _ in items if math.isfinite(d)]
    lim = max([tolerance * 1.5, 0.25] + finite) * 1.2
    fig = Figure(figsize=(WIDTH_IN, 1.0 + 0.26 * len(items)))
    ax = fig.add_subplot()
    ys = np.arange(len(items))[::-1]
    ax.axvspan(-tolerance, tolerance, color="#eeeeee", zorder=0)
    for y, (_label, d, _stage) in zip(ys, items):
        shown = d if math.isfinite(d) else math.copysign(lim * 0.97, d)
        color = BAD_COLOR if abs(d) > tolerance else OK_COLOR
        ax.barh(y, shown, color=color, height=0.64, zorder=2)
        text = ("+\u221e" if d > 0 else "\u2212\u221e") if not math.isfinite(d) else f"{d:+.3f}"
        if math.isfinite(d) and abs(d) < 5e-4:
            text = "0"
        inside = abs(shown) > lim * 0.75
        pad = lim * 0.015
        if inside:
            x = shown - pad if shown > 0 else shown + pad
            ha = "right" if shown > 0 else "left"
            ax.text(x, y, text, va="center", ha=ha, fontsize=8, color="white", fontweight="bold", zorder=3)
        else:
            x = shown + pad if shown >= 0 else shown - pad
            ax.text(
                x,
                y,
                text,
                va="center",
                ha="left" if shown >= 0 else "right",
                fontsize=8,
                color="#333333",
                zorder=3,
            )
    stages = [stage for _, _, stage in items]
    for i in range(1, len(items)):
        if stages[i] != stages[i - 1]:
            ax.axhline(ys[i] + 0.5, color="#999999", linewidth=0.8, linestyle="--", zorder=1)
    for stage, text in (("pre", "pre-training"), ("post", "post-training")):
        idx = [i for i, s in enumerate(stages) if s == stage]
        if idx and len(set(stages)) > 1:
            middle = (ys[idx[0]] + ys[idx[-1]]) / 2
            ax.text(
                1.01,
                middle,
                text,
                ha="left",
                va="center",
                fontsize=8,
                rotation=90,
                color="#777777",
                style="italic",
                transform=ax.get_yaxis_transform(),
            )
    ax.axvline(0, color="#555555", linewidth=0.8, zorder=1)
    ax.set_yticks(ys, [label for label, _, _ in items])
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-0.7, len(items) - 0.3)
    ax.set_xlabel(
        f"distance from the fair value (grey band: tolerance \u00b1{tolerance:g}; orange: outside it)",
        fontsize=9,
    )
    ax.set_title(title, fontsize=11, loc="left")
    ax.grid(axis="x", color=GRID_COLOR, linewidth=0.6)
    _style(ax)
    _tight(fig)
    return fig


def _tight(fig: Figure) -> None:
    """``tight_layout`` plus room on the left: browsers may draw labels wider than Agg measures."""
    fig.tight_layout()
    params = fig.subplotpars
    fig.subplots_adjust(left=min(params.left + 0.03, 0.5))


def shap_chart(values: list[tuple[str, float]], label: str, top_n: int = 20) -> Figure:
    """Sorted horizontal bar chart of global SHAP values (largest absolute value on top)."""
    values = sorted((fv for fv in values if math.isfinite(fv[1])), key=lambda fv: -abs(fv[1]))[:top_n]
    if not values:
        raise ValueError(f"no global SHAP values for {label}")
    fig = Figure(figsize=(WIDTH_IN, 0.9 + 0.3 * len(values)))
    ax = fig.add_subplot()
    ys = np.arange(len(values))[::-1]
    vals = [v for _, v in values]
    colors = [OK_COLOR if v >= 0 else NEG_COLOR for v in vals]
    ax.barh(ys, vals, color=colors, height=0.62, zorder=2)
    span = max(abs(v) for v in vals) or 1.0
    for y, v in zip(ys, vals):
        ax.text(
            v + (span * 0.01 if v >= 0 else -span * 0.01),
            y,
            f"{v:.4g}",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=8,
            color="#333333",
        )
    ax.set_yticks(ys, [_short(f) for f, _ in values])
    lo = min(0.0, min(vals)) * 1.2
    ax.set_xlim(lo, max(0.0, max(vals)) * 1.2 or span * 0.1)
    ax.set_ylim(-0.7, len(values) - 0.3)
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_xlabel("global SHAP value (mean impact on the model output)", fontsize=9)
    ax.set_title(f"Feature importance \u2014 {label}", fontsize=11, loc="left")
    ax.grid(axis="x", color=GRID_COLOR, linewidth=0.6)
    _style(ax)
    _tight(fig)
    return fig


def pdp_chart(entry: dict[str, Any]) -> Figure:
    """Partial dependence: model output against the feature's value, one line per label.

    Numerical features are lines; categorical ones are grouped bars. The share of the data
    in each bucket is drawn as light bars on a second axis when present.
    """
    xs = entry["feature_values"]
    preds = entry["model_predictions"]
    headers = entry["label_headers"]
    dist = entry.get("data_distribution")
    categorical = entry.get("data_type") == "categorical"
    fig = Figure(figsize=(WIDTH_IN * 0.49, 2.7))
    ax = fig.add_subplot()
    positions = np.arange(len(xs)) if categorical else np.asarray(xs, dtype=float)
    if dist is not None:
        ax2 = ax.twinx()
        if categorical:
            width = 0.8
        else:
            width = float(np.min(np.diff(positions))) * 0.9 if len(positions) > 1 else 1.0
        ax2.bar(positions, dist, width=width, color="#e4e4e4", zorder=0)
        ax2.set_ylabel("share of data", fontsize=8, color="#888888")
        ax2.tick_params(labelsize=8, colors="#888888")
        ax2.set_ylim(0, max(max(dist) * 3.0, 1e-9))
        for side in ("top",):
            ax2.spines[side].set_visible(False)
        ax.set_zorder(ax2.get_zorder() + 1)
        ax.patch.set_visible(False)
    palette = [OK_COLOR, BAD_COLOR, "#55a868", NEG_COLOR, "#937860"]
    n = len(preds)
    for i, (p, h) in enumerate(zip(preds, headers)):
        y = np.array([np.nan if v is None else v for v in p], dtype=float)
        color = palette[i % len(palette)]
        if categorical:
            w = 0.8 / n
            ax.bar(positions - 0.4 + w * (i + 0.5), y, width=w, color=color, label=h)
        else:
            ax.plot(positions, y, marker="o", markersize=3.5, color=color, label=h, linewidth=1.6)
    if categorical:
        ax.set_xticks(
            positions,
            [_short(str(x), 12) for x in xs],
            rotation=30 if len(xs) > 4 else 0,
            ha="right" if len(xs) > 4 else "center",
        )
    ax.set_xlabel(_short(entry["feature_name"], 40), fontsize=9)
    ax.set_ylabel("model output", fontsize=9)
    ax.set_title(f"PDP \u2014 {_short(entry['feature_name'], 40)}", fontsize=10, loc="left")
    if n > 1:
        ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.6)
    ax.tick_params(labelsize=8)
    ax.spines["top"].set_visible(False)
    fig.tight_layout()
    return fig


def local_shap_chart(
    frame: pd.DataFrame, label: str, top_n: int = 10, max_points: int = 150, seed: int = 0
) -> Figure:
    """Distribution of local SHAP values per feature (box plot plus a sample of the points).

    ``frame`` has one column per feature (already without the ``_<label>`` suffix); the
    ``top_n`` features with the largest mean absolute value are shown, largest on top.
    """
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    order = numeric.abs().mean().sort_values(ascending=False).dropna().index[:top_n]
    if len(order) == 0:
        raise ValueError(f"no numeric local SHAP values for {label}")
    fig = Figure(figsize=(WIDTH_IN, 1.0 + 0.36 * len(order)))
    ax = fig.add_subplot()
    rng = np.random.default_rng(seed)
    data = [numeric[c].dropna().to_numpy() for c in order][::-1]
    ax.boxplot(
        data,
        orientation="horizontal",
        widths=0.55,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "#dbe4f0", "edgecolor": "#4c72b0"},
        medianprops={"color": "#1f3b66"},
        whiskerprops={"color": "#4c72b0"},
        capprops={"color": "#4c72b0"},
    )
    for i, d in enumerate(data, start=1):
        if len(d) > max_points:
            d = rng.choice(d, size=max_points, replace=False)
        jitter = rng.uniform(-0.18, 0.18, size=len(d))
        # Rasterized (an image inside the SVG): 1,500 marker elements took WeasyPrint about a
        # second to draw into the PDF, more than all the other charts together.
        ax.scatter(d, i + jitter, s=3, color="#c44e52", alpha=0.25, linewidths=0, zorder=3, rasterized=True)
    ax.set_yticks(np.arange(1, len(order) + 1), [_short(str(c)) for c in order][::-1])
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_xlabel("local SHAP value (per row)", fontsize=9)
    ax.set_title(f"Local SHAP values \u2014 {label}", fontsize=11, loc="left")
    ax.grid(axis="x", color=GRID_COLOR, linewidth=0.6)
    _style(ax)
    _tight(fig)
    return fig


_STRIP = (
    re.compile(r"<\?xml[^>]*\?>\s*"),
    re.compile(r"<!DOCTYPE[^>]*>\s*"),
    re.compile(r"<metadata>.*?</metadata>\s*", re.S),
)


def fig_to_svg(fig: Figure, css_class: str = "chart", title: str | None = None) -> str:
    """Render ``fig`` as an inline ``<svg>`` element with no external references.

    Text stays text (searchable, copyable); element ids get a unique prefix so several
    charts can share one HTML page; the size scales with the page width.
    """
    buf = io.StringIO()
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": None, "font.family": ["DejaVu Sans", "sans-serif"]}
    ):
        fig.savefig(  # dpi only sets the resolution of rasterized artists (the local SHAP points)
            buf, format="svg", dpi=150, metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
        )
    svg = buf.getvalue()
    for pattern in _STRIP:
        svg = pattern.sub("", svg)
    prefix = f"c{next(_svg_counter)}-"
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(
        r'<svg\b([^>]*?)\swidth="([\d.]+)pt"\s+height="([\d.]+)pt"',
        lambda m: (
            f'<svg{m.group(1)} class="{css_class}" role="img" '
            f'style="width:100%;max-width:{float(m.group(2)) * 4 / 3:.0f}px;height:auto"'
        ),
        svg,
        count=1,
    )
    if title:
        esc = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        svg = re.sub(r"(<svg\b[^>]*>)", lambda m: m.group(1) + f"<title>{esc}</title>", svg, count=1)
    return svg.strip()
