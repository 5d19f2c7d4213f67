"""Report section for time-series explanations: per-item attribution plots and top contributors.

Clarify itself writes no report for time series (the SDK adds ``methods.report``, the real
logs show none being produced). This section is for clarify-runner's own report: pass
:func:`time_series_blocks` to :func:`analyzer.report.write_reports` (``sections=``).

Each item gets one chart: the attribution of every time step summed over the forecast
horizon, stacked by feature (target, each related series; one bar per step for
``timewise``), static covariates as separate bars, and below it the forecast next to the
offset (the forecast with every explained input at its baseline). A table lists the
largest contributions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from analyzer.explain.asymmetric_shapley import AsvResult, ItemAttribution
from analyzer.report import charts
from analyzer.report.document import Block

__all__ = ["item_chart", "time_series_blocks"]

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def _label(value: Any) -> str:
    return str(value)


def item_chart(item: ItemAttribution) -> Figure:
    """Attributions of one item (summed over the horizon) and its forecast versus the offset."""
    stamps: list[Any] = []
    temporal: dict[str, dict[str, float]] = {}
    static: list[tuple[str, float]] = []
    for e in item.entries:
        total = float(np.sum(e.scores))
        if e.timestamp is None:
            static.append((e.feature_name, total))
            continue
        key = _label(e.timestamp)
        if key not in stamps:
            stamps.append(key)
        temporal.setdefault(e.feature_name, {})[key] = total
    fig = Figure(figsize=(charts.WIDTH_IN, 4.6))
    grid = fig.add_gridspec(
        2, 2 if static else 1, height_ratios=[3, 2], width_ratios=[5, 1] if static else None
    )
    ax = fig.add_subplot(grid[0, 0])
    x = np.arange(len(stamps))
    pos_base = np.zeros(len(stamps))
    neg_base = np.zeros(len(stamps))
    for k, (name, by_stamp) in enumerate(temporal.items()):
        values = np.array([by_stamp.get(s, 0.0) for s in stamps])
        bottom = np.where(values >= 0, pos_base, neg_base)
        ax.bar(x, values, bottom=bottom, color=PALETTE[k % len(PALETTE)], width=0.8, label=name)
        pos_base += np.maximum(values, 0)
        neg_base += np.minimum(values, 0)
    ax.axhline(0, color="#333333", linewidth=0.8)
    step = max(1, math.ceil(len(stamps) / 10))
    ax.set_xticks(
        x[::step], [charts._short(s, 19) for s in stamps[::step]], rotation=30, ha="right", fontsize=7
    )
    ax.set_ylabel("attribution (sum over horizon)", fontsize=8)
    ax.legend(fontsize=7, loc="best", frameon=False)
    charts._style(ax)
    if static:
        axs = fig.add_subplot(grid[0, 1])
        names = [charts._short(n, 14) for n, _ in static]
        static_values = [v for _, v in static]
        axs.bar(np.arange(len(static_values)), static_values, color=charts.NEG_COLOR, width=0.7)
        axs.set_xticks(np.arange(len(static_values)), names, rotation=30, ha="right", fontsize=7)
        axs.axhline(0, color="#333333", linewidth=0.8)
        axs.set_title("static", fontsize=8)
        charts._style(axs)
    axf = fig.add_subplot(grid[1, :])
    steps = np.arange(1, len(item.forecast) + 1)
    axf.plot(steps, item.forecast, marker="o", markersize=3, color=charts.OK_COLOR, label="forecast")
    axf.plot(steps, item.offset, linestyle="--", color="#777777", label="offset (all inputs at baseline)")
    axf.set_xlabel("forecast step", fontsize=8)
    axf.legend(fontsize=7, loc="best", frameon=False)
    charts._style(axf)
    charts._tight(fig)
    return fig


def _top_rows(item: ItemAttribution, n: int) -> list[list[str]]:
    ranked = sorted(item.entries, key=lambda e: -abs(float(np.sum(e.scores))))[:n]
    return [
        [e.feature_name, "" if e.timestamp is None else _label(e.timestamp), f"{float(np.sum(e.scores)):.6g}"]
        for e in ranked
    ]


def time_series_blocks(result: AsvResult, *, max_items: int = 20, top: int = 5) -> list[Block]:
    """Report blocks for an :class:`AsvResult`: an introduction, then a chart and a table per item.

    At most ``max_items`` items are drawn (the first ones, in output order); a line says how
    many are left out.
    """
    blocks = [
        Block("heading", text="Time-series explanations (asymmetric Shapley values)", anchor="time-series"),
        Block(
            "text",
            text=(
                f"Direction {result.direction}, granularity {result.granularity}, "
                f"{len(result.items)} item(s). "
                "Each bar is what a time step (and feature) adds to the forecast, summed over the forecast "
                "horizon; the attributions plus the offset (the forecast with every explained input at its "
                "baseline) equal the forecast."
            ),
        ),
    ]
    shown: Sequence[ItemAttribution] = result.items[:max_items]
    for item in shown:
        blocks.append(Block("heading", text=f"Item {_label(item.item_id)}", level=3))
        svg = charts.fig_to_svg(item_chart(item), title=f"Attributions for item {_label(item.item_id)}")
        blocks.append(Block("chart", svgs=[svg]))
        blocks.append(
            Block(
                "table",
                columns=["Feature", "Timestamp", "Attribution (sum over horizon)"],
                rows=_top_rows(item, top),
            )
        )
    if len(result.items) > len(shown):
        blocks.append(Block("text", text=f"{len(result.items) - len(shown)} more item(s) are in out.jsonl."))
    return blocks
