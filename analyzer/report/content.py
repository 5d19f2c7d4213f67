"""Pure extraction of report content (tables and chart data) from an ``analysis.json`` dict.

Every function is tolerant of partial or odd input: it skips what it cannot read instead
of raising. This module's source is also copied into the report notebook (lines tagged
``# nb:skip`` are dropped there), so it needs only the standard library.
"""

from __future__ import annotations

import math
from typing import Any

from analyzer.report.metrics_info import (  # nb:skip
    METRICS,  # nb:skip
    fair_text,  # nb:skip
    format_value,  # nb:skip
    full_name,  # nb:skip
    metric_value,  # nb:skip
    outside_tolerance,  # nb:skip
    reading,  # nb:skip
)  # nb:skip

BIAS_STAGES = (
    ("pre_training_bias_metrics", "Pre-training bias (data)"),
    ("post_training_bias_metrics", "Post-training bias (model predictions)"),
)


def is_interval(value_or_threshold: str) -> bool:
    """True for a pandas interval string such as ``(25, 75]`` (a continuous facet)."""
    text = str(value_or_threshold).strip()
    return len(text) > 2 and text[0] in "([" and text[-1] in ")]" and "," in text


def group_label(facet: str, value_or_threshold: Any) -> str:
    """How the report names a facet group, e.g. ``sex = female`` or ``age in (25, 75]``."""
    text = str(value_or_threshold)
    if is_interval(text):
        return f"{facet} in {text}"
    if "," in text:
        return f"{facet} in {{{text}}}"
    return f"{facet} = {text}"


def bias_groups(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per (stage, facet, facet group) found in the analysis, in report order.

    Each entry: ``stage``, ``stage_title``, ``label``, ``label_value``, ``facet``, ``index``,
    ``value_or_threshold``, ``group``, ``metrics`` (the raw metric list).
    """
    out: list[dict[str, Any]] = []
    for stage, title in BIAS_STAGES:
        section = analysis.get(stage)
        if not isinstance(section, dict):
            continue
        facets = section.get("facets")
        if not isinstance(facets, dict):
            continue
        for facet, entries in facets.items():
            if not isinstance(entries, list):
                continue
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                vot = entry.get("value_or_threshold", "")
                out.append(
                    {
                        "stage": stage,
                        "stage_title": title,
                        "label": section.get("label"),
                        "label_value": section.get("label_value_or_threshold"),
                        "facet": str(facet),
                        "index": index,
                        "value_or_threshold": str(vot),
                        "group": group_label(str(facet), vot),
                        "metrics": [m for m in entry.get("metrics", []) if isinstance(m, dict)],
                    }
                )
    return out


def metric_rows(metrics: list[dict[str, Any]], group: str, tolerance: float) -> list[dict[str, Any]]:
    """Table rows for one facet group: full name, value, fair value/range, reading, flag."""
    rows = []
    for m in metrics:
        name = str(m.get("name", "?"))
        value = metric_value(m.get("value"))
        error = m.get("error")
        rows.append(
            {
                "name": name,
                "full_name": full_name(name, m.get("description")),
                "value": value,
                "value_text": format_value(value),
                "fair_text": fair_text(name),
                "reading": reading(name, value, group, str(error) if error is not None else None),
                "outside": outside_tolerance(name, value, tolerance),
                "error": None if error is None else str(error),
            }
        )
    return rows


def stage_of(name: str) -> str:
    """``pre`` or ``post`` for a known metric name (``?`` otherwise)."""
    pre = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
    return "pre" if name in pre else ("post" if name in METRICS else "?")


def shap_labels(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """Global SHAP values per label key, sorted by absolute value (largest first).

    Each entry: ``label``, ``values`` (list of (feature, value)), ``expected_value``,
    ``top_text`` (the NLP ``global_top_shap_text`` dict or ``None``).
    """
    shap = (analysis.get("explanations") or {}).get("kernel_shap")
    if not isinstance(shap, dict):
        return []
    out = []
    for label, body in shap.items():
        if not isinstance(body, dict):
            continue
        values = []
        for feature, raw in (body.get("global_shap_values") or {}).items():
            v = metric_value(raw)
            if v is not None and not math.isnan(v):
                values.append((str(feature), v))
        values.sort(key=lambda fv: -abs(fv[1]))
        out.append(
            {
                "label": str(label),
                "values": values,
                "expected_value": metric_value(body.get("expected_value")),
                "top_text": body.get("global_top_shap_text")
                if isinstance(body.get("global_top_shap_text"), dict)
                else None,
            }
        )
    return out


def pdp_entries(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """The PDP entries that have consistent shapes (others are skipped)."""
    pdp = (analysis.get("explanations") or {}).get("pdp")
    if not isinstance(pdp, list):
        return []
    out = []
    for entry in pdp:
        if not isinstance(entry, dict):
            continue
        xs = entry.get("feature_values")
        preds = entry.get("model_predictions")
        if not isinstance(xs, list) or not isinstance(preds, list) or not xs:
            continue
        preds = [p for p in preds if isinstance(p, list) and len(p) == len(xs)]
        if not preds:
            continue
        headers = entry.get("label_headers")
        if not isinstance(headers, list) or len(headers) != len(preds):
            headers = [f"label{i}" for i in range(len(preds))]
        dist = entry.get("data_distribution")
        out.append(
            {
                "feature_name": str(entry.get("feature_name", "?")),
                "data_type": str(entry.get("data_type", "numerical")),
                "feature_values": xs,
                "model_predictions": [[metric_value(v) for v in p] for p in preds],
                "label_headers": [str(h) for h in headers],
                "data_distribution": dist if isinstance(dist, list) and len(dist) == len(xs) else None,
            }
        )
    return out


def methods_in(analysis: dict[str, Any]) -> list[str]:
    """The Clarify methods whose results are present in the analysis."""
    methods = [key for key, _ in BIAS_STAGES if key in analysis]
    for key in analysis.get("explanations") or {}:
        methods.append(str(key))
    return methods


def summary_rows(summary: dict[str, Any] | None, analysis: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, text) rows for the job summary; missing fields are filled from the analysis."""
    s = dict(summary or {})
    groups = bias_groups(analysis)
    if not s.get("label") and groups:
        s["label"] = groups[0]["label"]
    if not s.get("label_values_or_threshold") and groups:
        s["label_values_or_threshold"] = groups[0]["label_value"]
    if not s.get("facets") and groups:
        seen: dict[str, list[str]] = {}
        for g in groups:
            seen.setdefault(g["facet"], [])
            if g["value_or_threshold"] not in seen[g["facet"]]:
                seen[g["facet"]].append(g["value_or_threshold"])
        s["facets"] = [{"name": k, "value_or_threshold": ", ".join(v)} for k, v in seen.items()]
    if not s.get("methods"):
        s["methods"] = methods_in(analysis)

    def text(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return ", ".join(str(x) for x in v)
        return str(v)

    rows: list[tuple[str, str]] = []
    for key, title in (("dataset_uri", "Dataset"), ("dataset_type", "Dataset format"), ("rows", "Rows")):
        if s.get(key) not in (None, ""):
            rows.append((title, text(s[key])))
    if s.get("label") not in (None, ""):
        rows.append(("Label", text(s["label"])))
    if s.get("label_values_or_threshold") not in (None, ""):
        rows.append(("Positive label values or threshold", text(s["label_values_or_threshold"])))
    facets = s.get("facets") or []
    reported = {g["facet"]: g["value_or_threshold"] for g in groups}
    if facets:
        parts = []
        for f in facets:
            if isinstance(f, dict):
                vot = f.get("value_or_threshold")
                name = str(f.get("name"))
                shown = reported.get(name, "")
                if vot in (None, "", []):
                    parts.append(name)
                elif is_interval(shown):
                    parts.append(f"{name} (threshold {text(vot)}: group {shown})")
                else:
                    parts.append(f"{name} ({text(vot)})")
            else:
                parts.append(str(f))
        rows.append(("Facets (sensitive groups)", "; ".join(parts)))
    if s.get("endpoint"):
        rows.append(("Model / endpoint", text(s["endpoint"])))
    if s.get("methods"):
        rows.append(("Methods", text(s["methods"])))
    if s.get("started_at"):
        rows.append(("Started at", text(s["started_at"])))
    elapsed = s.get("elapsed_seconds")
    if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool):
        rows.append(("Time taken", format_duration(float(elapsed))))
    if s.get("version"):
        rows.append(("clarify-runner version", text(s["version"])))
    if analysis.get("version"):
        rows.append(("analysis.json version", text(analysis["version"])))
    return rows


def format_duration(seconds: float) -> str:
    """``75.5`` -> ``1 min 15.5 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {sec:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"


def facet_groups(analysis: dict[str, Any]) -> list[tuple[str, str]]:
    """Unique (facet, value_or_threshold) pairs over both bias stages, in first-seen order."""
    seen: list[tuple[str, str]] = []
    for g in bias_groups(analysis):
        key = (g["facet"], g["value_or_threshold"])
        if key not in seen:
            seen.append(key)
    return seen


def facet_stage_rows(
    analysis: dict[str, Any], facet: str, value_or_threshold: str, stage: str, tolerance: float
) -> list[dict[str, Any]]:
    """Metric table rows of one facet group in one stage (``pre_training_bias_metrics`` ...)."""
    for g in bias_groups(analysis):
        if g["stage"] == stage and g["facet"] == facet and g["value_or_threshold"] == value_or_threshold:
            return metric_rows(g["metrics"], g["group"], tolerance)
    return []


def facet_chart_rows(
    analysis: dict[str, Any], facet: str, value_or_threshold: str, tolerance: float
) -> list[dict[str, Any]]:
    """Rows of both stages for one facet group, each tagged with ``stage`` (``pre``/``post``)."""
    rows = []
    for stage, _ in BIAS_STAGES:
        for r in facet_stage_rows(analysis, facet, value_or_threshold, stage, tolerance):
            rows.append({**r, "stage": stage.split("_")[0]})
    return rows


def split_local_shap(frame: Any, label_keys: list[str]) -> dict[str, Any]:
    """Split an ``out.csv`` DataFrame with columns ``<feature>_<label>`` into one frame per label.

    Columns are matched against the known ``label_keys`` (e.g. ``label0``) first; otherwise a
    ``_label<N>`` suffix is recognised. Unmatched columns (e.g. a join-source id) are ignored.
    """
    out: dict[str, dict[str, Any]] = {}
    keys = sorted(set(label_keys), key=len, reverse=True)
    for col in frame.columns:
        name = str(col)
        label = next((k for k in keys if name.endswith("_" + k) and len(name) > len(k) + 1), None)
        if label is None:
            head, _, tail = name.rpartition("_")
            if head and tail.startswith("label") and tail[5:].isdigit():
                label = tail
        if label is None:
            continue
        out.setdefault(label, {})[name[: -(len(label) + 1)]] = frame[col]
    return {label: type(frame)(cols) for label, cols in out.items()}
