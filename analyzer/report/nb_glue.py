"""Helpers the report notebook calls to rebuild its tables and charts from ``analysis.json``.

This module's source is copied into the notebook's first code cell together with
``metrics_info``, ``content`` and ``charts`` (lines tagged ``# nb:skip`` are dropped), so a
reader can re-run the notebook without clarify-runner installed. The notebook's setup cell
defines ``ANALYSIS_PATH``, ``LOCAL_SHAP_CSV``, ``BASELINE_CSV``, ``SUMMARY`` and ``TOLERANCE``.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from analyzer.report.charts import fig_to_svg  # nb:skip
from analyzer.report.content import (  # nb:skip
    facet_chart_rows,  # nb:skip
    facet_groups,  # nb:skip
    facet_stage_rows,  # nb:skip
    group_label,  # nb:skip
    shap_labels,  # nb:skip
    summary_rows,  # nb:skip
)  # nb:skip


def load_analysis(path: str) -> dict[str, Any]:
    """Read ``analysis.json`` (infinities stay the strings ``"Infinity"``/``"-Infinity"``)."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def show(fig: Any) -> None:
    """Display a matplotlib figure in the notebook as the same SVG the HTML report uses."""
    from IPython.display import SVG, display

    display(SVG(fig_to_svg(fig)))


def summary_table(analysis: dict[str, Any], summary: dict[str, Any] | None = None) -> pd.DataFrame:
    """The job summary as a two-column table."""
    rows = summary_rows(summary if summary is not None else globals().get("SUMMARY"), analysis)
    return pd.DataFrame(rows, columns=["Field", "Value"]).set_index("Field")


def bias_table(
    analysis: dict[str, Any], facet: str, value_or_threshold: str, stage: str, tolerance: float
) -> pd.DataFrame:
    """The metric table of one facet group and stage, with an ``Outside tolerance`` flag."""
    rows = facet_stage_rows(analysis, facet, value_or_threshold, stage, tolerance)
    return pd.DataFrame(
        {
            "Metric": [r["full_name"] for r in rows],
            "Value": [r["value_text"] for r in rows],
            "Fair value / range": [r["fair_text"] for r in rows],
            "Reading": [r["reading"] for r in rows],
            "Outside tolerance": ["\u26a0 yes" if r["outside"] else "" for r in rows],
        }
    )


def findings_table(analysis: dict[str, Any], tolerance: float) -> pd.DataFrame:
    """Every bias metric further than ``tolerance`` from its fair value, over all facet groups."""
    rows = []
    for facet, value in facet_groups(analysis):
        group = group_label(facet, value)
        for r in facet_chart_rows(analysis, facet, value, tolerance):
            if r["outside"]:
                rows.append([group, r["full_name"], r["value_text"], r["reading"]])
    return pd.DataFrame(rows, columns=["Group", "Metric", "Value", "Reading"])


def shap_values(analysis: dict[str, Any], label: str) -> list[tuple[str, float]]:
    """Sorted global SHAP values of one label key."""
    for entry in shap_labels(analysis):
        if entry["label"] == label:
            return entry["values"]
    return []


def shap_keys(analysis: dict[str, Any]) -> list[str]:
    """The label keys of the Kernel SHAP section (``label0`` ...)."""
    return [e["label"] for e in shap_labels(analysis)] or ["label0"]


def shap_table(analysis: dict[str, Any], label: str) -> pd.DataFrame:
    """Global SHAP values of one label key as a sorted table."""
    return pd.DataFrame(shap_values(analysis, label), columns=["Feature", "Global SHAP value"])


def load_local_shap(path: str | None = None) -> pd.DataFrame:
    """Read the local SHAP file named by ``LOCAL_SHAP_CSV``."""
    return pd.read_csv(path if path is not None else globals()["LOCAL_SHAP_CSV"])


def read_csv_guess_header(path: str) -> pd.DataFrame:
    """Read a CSV whose first row may or may not be a header.

    The first row is a header when none of its cells is a number but a later row has one.
    """
    frame = pd.read_csv(path, header=None)
    if len(frame) > 1:
        first = pd.to_numeric(frame.iloc[0], errors="coerce")
        rest = frame.iloc[1:].apply(pd.to_numeric, errors="coerce")
        if first.isna().all() and rest.notna().any().any():
            frame = pd.read_csv(path)
    return frame


def load_baseline(path: str | None = None) -> pd.DataFrame:
    """Read the baseline file named by ``BASELINE_CSV``."""
    return read_csv_guess_header(path if path is not None else globals()["BASELINE_CSV"])
