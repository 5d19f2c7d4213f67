"""What each Clarify bias metric means: full name, fair value, range and a one-line reading.

Pure functions on plain values (bias-metrics.md sections 2, 5 and 6). This module's source is
also copied into the report notebook, so it imports only the standard library and keeps
its own imports on lines the notebook builder can drop.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    """Static facts about one bias metric."""

    name: str
    full_name: str
    fair: float
    value_range: str
    meaning: str


_INF = "\u221e"

METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("CI", "Class Imbalance", 0.0, "[-1, 1]", "difference in group sizes"),
        MetricInfo(
            "DPL",
            "Difference in Positive Proportions in Labels",
            0.0,
            "[-1, 1]",
            "difference in observed positive rates",
        ),
        MetricInfo(
            "KL",
            "Kullback-Leibler Divergence",
            0.0,
            f"[-0.37, +{_INF})",
            "divergence of the label distributions",
        ),
        MetricInfo(
            "JS", "Jensen-Shannon Divergence", 0.0, "[0, ln 2)", "divergence of the label distributions"
        ),
        MetricInfo("LP", "L-p Norm (p = 2)", 0.0, "[0, \u221a2)", "distance between the label distributions"),
        MetricInfo(
            "TVD", "Total Variation Distance", 0.0, "[0, 1)", "distance between the label distributions"
        ),
        MetricInfo(
            "KS", "Kolmogorov-Smirnov Distance", 0.0, "[0, 1)", "distance between the label distributions"
        ),
        MetricInfo(
            "CDDL",
            "Conditional Demographic Disparity in Labels",
            0.0,
            "[-1, 1]",
            "share of rejections minus share of acceptances, within subgroups",
        ),
        MetricInfo(
            "DPPL",
            "Difference in Positive Proportions in Predicted Labels",
            0.0,
            "[-1, 1]",
            "difference in predicted positive rates",
        ),
        MetricInfo("DI", "Disparate Impact", 1.0, f"[0, {_INF})", "ratio of predicted positive rates"),
        MetricInfo(
            "DCA",
            "Difference in Conditional Acceptance",
            0.0,
            f"(-{_INF}, {_INF})",
            "difference in observed-to-predicted positive ratios",
        ),
        MetricInfo(
            "DCR",
            "Difference in Conditional Rejection",
            0.0,
            f"(-{_INF}, {_INF})",
            "difference in observed-to-predicted negative ratios",
        ),
        MetricInfo("RD", "Recall Difference", 0.0, "[-1, 1]", "difference in recall (true positive rate)"),
        MetricInfo(
            "SD", "Specificity Difference", 0.0, "[-1, 1]", "difference in specificity (true negative rate)"
        ),
        MetricInfo("DAR", "Difference in Acceptance Rates", 0.0, "[-1, 1]", "difference in precision"),
        MetricInfo(
            "DRR", "Difference in Rejection Rates", 0.0, "[-1, 1]", "difference in negative predictive value"
        ),
        MetricInfo("AD", "Accuracy Difference", 0.0, "[-1, 1]", "difference in accuracy"),
        MetricInfo(
            "CDDPL",
            "Conditional Demographic Disparity in Predicted Labels",
            0.0,
            "[-1, 1]",
            "share of predicted rejections minus share of predicted acceptances, within subgroups",
        ),
        MetricInfo(
            "TE",
            "Treatment Equality",
            0.0,
            f"(-{_INF}, {_INF})",
            "difference in false-negative to false-positive ratios",
        ),
        MetricInfo(
            "FT", "Flip Test", 0.0, "[-1, 1]", "net change of predictions when treated like the others"
        ),
        MetricInfo("GE", "Generalized Entropy", 0.0, f"[0, {_INF})", "inequality of prediction benefits"),
    )
}


_INFINITE_REASON = {
    "DI": "the other rows receive no positive predictions at all",
    "DCA": "a group has observed positives but no predicted positives",
    "DCR": "a group has observed negatives but no predicted negatives",
    "TE": "a group has false negatives but no false positives",
    "KL": "a label value occurs in only one of the groups",
}


def metric_value(raw: object) -> float | None:
    """Return a metric's ``value`` as a float: ``"Infinity"`` becomes ``inf``; ``None`` stays ``None``."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in ("infinity", "inf", "+infinity"):
            return math.inf
        if text in ("-infinity", "-inf"):
            return -math.inf
        try:
            return float(raw)
        except ValueError:
            return None
    if isinstance(raw, numbers.Real):  # also numpy scalars, inf and nan
        return float(raw)
    return None


def format_value(value: float | None, digits: int = 3) -> str:
    """Format a metric value for display (``∞`` for infinities, ``n/a`` for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return _INF if value > 0 else "-" + _INF
    if value == 0:
        return "0"
    return f"{value:.{digits}f}" if abs(value) >= 10**-digits else f"{value:.2e}"


def full_name(name: str, description: str | None = None) -> str:
    """The metric's full name with its abbreviation, e.g. ``Disparate Impact (DI)``."""
    info = METRICS.get(name)
    if info is not None:
        return f"{info.full_name} ({name})"
    return description or name


def fair_text(name: str) -> str:
    """The fair value and the possible range, e.g. ``1 (range [0, ∞))``."""
    info = METRICS.get(name)
    if info is None:
        return "unknown"
    return f"{info.fair:g}, range {info.value_range}"


def deviation(name: str, value: float | None) -> float | None:
    """How far ``value`` is from the fair value (``None`` if not computed)."""
    if value is None or math.isnan(value):
        return None
    info = METRICS.get(name)
    fair = info.fair if info is not None else 0.0
    return value - fair


def outside_tolerance(name: str, value: float | None, tolerance: float) -> bool:
    """True when the value differs from the fair value by more than ``tolerance``."""
    dev = deviation(name, value)
    return dev is not None and abs(dev) > tolerance


def _pts(value: float) -> str:
    """A proportion difference in percentage points."""
    return f"{abs(value) * 100:.1f} percentage points"


def reading(name: str, value: float | None, group: str, error: str | None = None) -> str:
    """A plain-language one-line reading of a metric value for the facet group ``group``.

    ``group`` names the sensitive group, e.g. ``"sex = female"``; "the others" is the rest.
    """
    if value is None:
        return f"Not computed: {error}" if error else "Not computed."
    if math.isnan(value):
        return "Not a number."
    g = f"rows with {group}"
    G = f"Rows with {group}"
    if math.isinf(value):
        sign = "+" if value > 0 else "-"
        why = _INFINITE_REASON.get(name, "a ratio in the metric divides by zero")
        return f"Infinite ({sign}{_INF}): {why}."
    if name not in ("CI", "DI", "GE") and abs(value) < 5e-4:
        what = METRICS[name].meaning if name in METRICS else name
        return f"No measurable difference between {g} and the others ({what})."
    if name == "CI":
        share = (1 - value) / 2
        return f"{G} make up {share * 100:.1f}% of the rows; the others {100 - share * 100:.1f}%."
    if name in ("DPL", "DPPL"):
        what = "the positive label" if name == "DPL" else "a positive prediction"
        if abs(value) < 5e-4:
            return f"{G} receive {what} as often as the others."
        more = "less" if value > 0 else "more"
        return f"{G} receive {what} {_pts(value)} {more} often than the others."
    if name in ("KL", "JS", "LP", "TVD", "KS"):
        return (
            f"The label distributions of {g} and the others differ by {format_value(value)} (0 = identical)."
        )
    if name in ("CDDL", "CDDPL"):
        what = "rejections" if name == "CDDL" else "predicted rejections"
        if value >= 0:
            return f"Within subgroups, {g} are over-represented among {what} by {_pts(value)}."
        return f"Within subgroups, {g} are under-represented among {what} by {_pts(value)}."
    if name == "DI":
        if abs(value - 1) < 5e-4:
            return f"{G} are predicted positive as often as the others."
        if value < 1:
            return f"{G} are predicted positive {(1 - value) * 100:.1f}% less often than the others."
        return f"{G} are predicted positive {(value - 1) * 100:.1f}% more often than the others."
    if name == "DCA":
        if value >= 0:
            return (
                f"Relative to their observed positives, {g} receive more positive predictions "
                f"than the others (gap {format_value(value)})."
            )
        return (
            f"Relative to their observed positives, {g} receive fewer positive predictions "
            f"than the others (gap {format_value(value)})."
        )
    if name == "DCR":
        if value >= 0:
            return (
                f"Relative to their observed negatives, {g} are rejected less than the others "
                f"(gap {format_value(value)})."
            )
        return (
            f"Relative to their observed negatives, {g} are rejected more than the others "
            f"(gap {format_value(value)})."
        )
    if name == "DAR":
        word = "less" if value > 0 else "more"
        return f"Positive predictions for {g} are {_pts(value)} {word} often right (precision)."
    if name == "DRR":
        word = "more" if value > 0 else "less"
        return f"Negative predictions for {g} are {_pts(value)} {word} often right."
    if name == "RD":
        word = "fewer" if value > 0 else "more"
        return f"The model finds {_pts(value)} {word} of the true positives among {g} (recall)."
    if name == "SD":
        word = "more" if value > 0 else "fewer"
        return f"The model correctly rejects {_pts(value)} {word} of the true negatives among {g}."
    if name == "AD":
        word = "less" if value > 0 else "more"
        return f"The model is {_pts(value)} {word} accurate for {g} than for the others."
    if name == "TE":
        word = "higher" if value > 0 else "lower"
        return (
            f"The ratio of false negatives to false positives is {format_value(abs(value))} {word} for {g}."
        )
    if name == "FT":
        word = "lose" if value > 0 else "gain"
        return (
            f"Treated like the others, a net {abs(value) * 100:.1f}% of {g} would {word} "
            f"a positive prediction."
        )
    if name == "GE":
        return f"Inequality of prediction benefits across all rows is {format_value(value)} (0 = equal)."
    return f"Value {format_value(value)}."
