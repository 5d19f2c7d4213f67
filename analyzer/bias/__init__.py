"""Clarify bias metrics (pre- and post-training), value for value as smclarify 0.5.

Public API::

    from analyzer.bias import FacetSpec, bias_section, scores_to_labels
    from analyzer.bias import GroupCounts, stream_bias_section   # counts / chunked CSV
    from analyzer.bias import bias_section_chunks                # any re-readable chunks

The names are imported on first use (PEP 562), so that importing a light submodule such as
:mod:`analyzer.bias.registry` (the config checks do) does not import pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.bias.counts import GroupCounts
    from analyzer.bias.registry import (
        DESCRIPTIONS,
        POST_TRAINING_METRICS,
        PRE_TRAINING_METRICS,
        select_metrics,
    )
    from analyzer.bias.scores import scores_to_labels
    from analyzer.bias.section import FacetSpec, bias_section, bias_section_chunks
    from analyzer.bias.streaming import stream_bias_section

_WHERE = {
    "GroupCounts": "counts",
    "DESCRIPTIONS": "registry",
    "POST_TRAINING_METRICS": "registry",
    "PRE_TRAINING_METRICS": "registry",
    "select_metrics": "registry",
    "scores_to_labels": "scores",
    "FacetSpec": "section",
    "bias_section": "section",
    "bias_section_chunks": "section",
    "stream_bias_section": "streaming",
}

__all__ = [
    "DESCRIPTIONS",
    "POST_TRAINING_METRICS",
    "PRE_TRAINING_METRICS",
    "FacetSpec",
    "GroupCounts",
    "bias_section",
    "bias_section_chunks",
    "scores_to_labels",
    "select_metrics",
    "stream_bias_section",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'analyzer.bias' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"analyzer.bias.{module}"), name)
    globals()[name] = value
    return value
