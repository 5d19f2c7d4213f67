"""Drift checks of a monitoring window against the baseline ``analysis.json`` (pure).

Model Monitor's constraints for Clarify monitors are the baselining job's ``analysis.json``.

* Bias drift: a metric of the window is a violation when it is *worse* than the baseline's,
  i.e. farther from its fair value: ``|value - fair| > |baseline - fair|`` with fair value 1
  for DI and 0 for every other metric (the documented example: baseline DPPL 0.2, window 0.1
  passes, window -0.3 is a violation; the DI rule is INFERRED). ``Infinity`` is farther than
  any number; a metric that is null or has an error on either side is not checked.
* Feature-attribution drift: NDCG of the window's ranking of the global SHAP values against
  the baseline's, gains being the baseline's attributions (by magnitude); a violation when the
  NDCG is below the threshold (0.90 by default).

Violation records and texts are Model Monitor's (``constraint_violations.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BIAS_CHECK",
    "DEFAULT_NDCG_THRESHOLD",
    "FEATURE_ATTRIBUTION_CHECK",
    "AttributionDrift",
    "attribution_drift",
    "bias_violations",
    "dumps_violations",
    "format_number",
    "metric_value",
    "ndcg",
]

BIAS_CHECK = "bias_drift_check"
FEATURE_ATTRIBUTION_CHECK = "feature_attribution_drift_check"
DEFAULT_NDCG_THRESHOLD = 0.9
BIAS_SECTIONS = ("pre_training_bias_metrics", "post_training_bias_metrics")
#: Metrics whose fair value is not 0.
FAIR_VALUE = {"DI": 1.0}


def metric_value(value: Any) -> float | None:
    """A metric value of ``analysis.json`` as a float (``"Infinity"`` included); ``None``: not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        text = value.strip()
        if text in ("Infinity", "+Infinity", "-Infinity"):
            return math.inf if not text.startswith("-") else -math.inf
        try:
            number = float(text)
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return None


def format_number(value: float) -> str:
    """A number as Model Monitor prints it: ``0.3748947825295131``, ``Infinity``, ``-Infinity``."""
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def _facet_entries(section: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(facet, value_or_threshold) -> {metric name: metric entry}`` of one bias section."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for facet, groups in (section.get("facets") or {}).items():
        for group in groups or []:
            key = (str(facet), str(group.get("value_or_threshold")))
            found[key] = {str(m.get("name")): m for m in group.get("metrics") or []}
    return found


def _worse(name: str, value: float, baseline: float) -> bool:
    fair = FAIR_VALUE.get(name, 0.0)
    return abs(value - fair) > abs(baseline - fair)


def bias_violations(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One ``bias_drift_check`` violation per metric of ``current`` worse than in ``baseline``.

    Metrics are matched by section, facet, facet value and name; those only on one side are
    not checked. Order: post-training then pre-training (``analysis.json``'s order), facets and
    metrics as in ``current``.
    """
    violations: list[dict[str, Any]] = []
    for section in sorted(BIAS_SECTIONS, key=lambda s: not s.startswith("post")):
        now, base = current.get(section), baseline.get(section)
        if not isinstance(now, Mapping) or not isinstance(base, Mapping):
            continue
        base_entries = _facet_entries(base)
        for (facet, facet_value), metrics in _facet_entries(now).items():
            base_metrics = base_entries.get((facet, facet_value), {})
            for name, entry in metrics.items():
                if name not in base_metrics or entry.get("error") or base_metrics[name].get("error"):
                    continue
                value = metric_value(entry.get("value"))
                limit = metric_value(base_metrics[name].get("value"))
                if value is None or limit is None or not _worse(name, value, limit):
                    continue
                violations.append(
                    {
                        "facet": facet,
                        "facet_value": facet_value,
                        "metric_name": name,
                        "constraint_check_type": BIAS_CHECK,
                        "description": f"Metric value {format_number(value)} doesn't meet the baseline "
                        f"constraint requirement {format_number(limit)}",
                    }
                )
    return violations


def ndcg(baseline: Mapping[str, float], current: Mapping[str, float]) -> float:
    """NDCG of ``current``'s feature ranking, gains = ``baseline``'s attributions (magnitudes).

    ``F`` ranks the baseline's features by baseline attribution, ``F'`` by the window's;
    ``DCG = sum a(F'_i) / log2(i + 1)``, ``iDCG = sum a(F_i) / log2(i + 1)`` (i from 1),
    ``NDCG = DCG / iDCG``. A feature missing from the window ranks last. All-zero baseline
    attributions give 1.0 (no ranking to lose).
    """
    gains = {f: abs(float(v)) for f, v in baseline.items()}
    ideal = sorted(gains, key=lambda f: -gains[f])
    live = {f: abs(float(current[f])) for f in gains if f in current and metric_value(current[f]) is not None}
    ranked = sorted(live, key=lambda f: -live[f]) + [f for f in ideal if f not in live]
    discount = [1.0 / math.log2(i + 2) for i in range(len(ideal))]
    idcg = sum(gains[f] * d for f, d in zip(ideal, discount, strict=True))
    if idcg == 0:
        return 1.0
    return sum(gains[f] * d for f, d in zip(ranked, discount, strict=True)) / idcg


@dataclass(frozen=True)
class AttributionDrift:
    """NDCG per label, and the violations (labels whose NDCG is below the threshold)."""

    scores: dict[str, float]
    violations: list[dict[str, Any]]


def _kernel_shap(analysis: Mapping[str, Any]) -> Mapping[str, Any]:
    explanations = analysis.get("explanations") or {}
    return explanations.get("kernel_shap") or {}


def attribution_drift(
    current: Mapping[str, Any], baseline: Mapping[str, Any], threshold: float = DEFAULT_NDCG_THRESHOLD
) -> AttributionDrift:
    """Compare ``explanations.kernel_shap.<label>.global_shap_values`` of the window and the baseline.

    Labels are the baseline's; a label the window lacks is a violation with NDCG 0.
    """
    now, base = _kernel_shap(current), _kernel_shap(baseline)
    scores: dict[str, float] = {}
    violations: list[dict[str, Any]] = []
    for label, entry in base.items():
        base_values = (entry or {}).get("global_shap_values") or {}
        live_values = (now.get(label) or {}).get("global_shap_values") or {}
        score = ndcg(base_values, live_values) if live_values else 0.0
        scores[str(label)] = score
        if score < threshold:
            violations.append(
                {
                    "label": str(label),
                    "metric_name": "shap",
                    "constraint_check_type": FEATURE_ATTRIBUTION_CHECK,
                    "description": f"Feature attribution drift {format_number(score)} exceeds threshold "
                    f"{format_number(threshold)}",
                }
            )
    return AttributionDrift(scores, violations)


def dumps_violations(violations: list[dict[str, Any]]) -> str:
    """The text of ``constraint_violations.json`` (4-space indent, like ``analysis.json``)."""
    return json.dumps({"version": "1.0", "violations": violations}, indent=4, allow_nan=False)
