"""Names, descriptions and selection rules of the 21 Clarify bias metrics.

The description strings are the ones smclarify 0.5 and the real Clarify container write
(first docstring line of each smclarify metric function, typos included).
"""

from __future__ import annotations

#: Registration order of smclarify 0.5 (used in the "Invalid metric_name" error text).
PRE_TRAINING_METRICS: tuple[str, ...] = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING_METRICS: tuple[str, ...] = (
    "DPPL",
    "DI",
    "DCA",
    "DCR",
    "RD",
    "SD",
    "DAR",
    "DRR",
    "AD",
    "CDDPL",
    "TE",
    "FT",
    "GE",
)
#: What ``"methods": "all"`` produced in real Clarify outputs (SD and GE only when named).
CLARIFY_ALL: dict[str, tuple[str, ...]] = {
    "pre_training": PRE_TRAINING_METRICS,
    "post_training": tuple(m for m in POST_TRAINING_METRICS if m not in ("SD", "GE")),
}

DESCRIPTIONS: dict[str, str] = {
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "KL": "Kullback-Liebler Divergence (KL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DI": "Disparate Impact (DI)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "RD": "Recall Difference (RD)",
    "SD": "Specificity Difference (SD)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "TE": "Treatment Equality (TE)",
    "FT": "Flip Test (FT)",
    "GE": "Generalized Entropy (GE)",
}


def stage_metrics(stage: str) -> tuple[str, ...]:
    """Every registered metric of ``stage`` ("pre_training" or "post_training")."""
    if stage == "pre_training":
        return PRE_TRAINING_METRICS
    if stage == "post_training":
        return POST_TRAINING_METRICS
    raise ValueError(f"stage must be 'pre_training' or 'post_training', got {stage!r}")


def select_metrics(stage: str, methods: str | list[str] | None) -> list[str]:
    """Metric names to compute, sorted by name as in every Clarify report.

    ``"all"`` (or ``["all"]``, or None) selects what the real container computes for "all"; a list
    selects exactly those names and must only name metrics of ``stage``. An unknown name
    raises ``ValueError`` with smclarify's text.
    """
    registered = stage_metrics(stage)
    if methods is None or methods == "all" or methods == ["all"]:
        chosen = list(CLARIFY_ALL[stage])
    else:
        names = [methods] if isinstance(methods, str) else list(methods)
        if not set(names).issubset(registered):
            raise ValueError(
                f"Invalid metric_name: metrics should be one of the registered metrics{list(registered)}"
            )
        chosen = [m for m in registered if m in names]
    return sorted(chosen)
