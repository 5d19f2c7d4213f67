"""Clarify bias metrics (pre- and post-training), value for value as smclarify 0.5.

Public API::

    from analyzer.bias import FacetSpec, bias_section, scores_to_labels
    from analyzer.bias import GroupCounts, stream_bias_section   # counts / chunked CSV
"""

from analyzer.bias.counts import GroupCounts
from analyzer.bias.registry import DESCRIPTIONS, POST_TRAINING_METRICS, PRE_TRAINING_METRICS, select_metrics
from analyzer.bias.scores import scores_to_labels
from analyzer.bias.section import FacetSpec, bias_section
from analyzer.bias.streaming import stream_bias_section

__all__ = [
    "DESCRIPTIONS",
    "POST_TRAINING_METRICS",
    "PRE_TRAINING_METRICS",
    "FacetSpec",
    "GroupCounts",
    "bias_section",
    "scores_to_labels",
    "select_metrics",
    "stream_bias_section",
]
