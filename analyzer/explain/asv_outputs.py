"""Time-series outputs: the ``explanations.asymmetric_shapley_value`` section and ``out.jsonl`` lines.

Pure formatting; :func:`analyzer.output_time_series.write_asv_outputs` writes the file.

Shapes from the real 2024 Clarify runs (CC §3.8, next-capabilities §3.2):

* ``analysis.json`` carries only a pointer::

      "asymmetric_shapley_value": {"direction": "chronological", "granularity": "fine_grained",
          "explanation_results_path": "s3://<output>/asymmetric_shapley_value/fine_grained_chronological/out.jsonl"}

* ``asymmetric_shapley_value/<granularity>_<direction>/out.jsonl`` has one line per item:
  ``{"explanations": [{"feature_name", "scores", "timestamp"}, ...], "item_id", "offset"}`` —
  target entries first, then each related series (``headers`` order), then static covariates
  (no ``timestamp`` key); within a feature by time. Keys are written in sorted order, as in
  the published output (which was printed sorted, so the original order is unknown).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from analyzer.explain.asymmetric_shapley import AsvResult, ItemAttribution

__all__ = ["ASV_DIR", "OUT_FILE", "asv_section", "item_line", "results_subdir"]

ASV_DIR = "asymmetric_shapley_value"
OUT_FILE = "out.jsonl"


def results_subdir(granularity: str, direction: str) -> str:
    """``asymmetric_shapley_value/<granularity>_<direction>`` (relative, ``/``-separated)."""
    return f"{ASV_DIR}/{granularity}_{direction}"


def _join(base: str, relative: str) -> str:
    if "://" in base:
        return base.rstrip("/") + "/" + relative
    return str(Path(base) / relative)


def asv_section(result: AsvResult, output_uri: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``explanations.asymmetric_shapley_value`` section of ``analysis.json``.

    ``output_uri`` is where the job's outputs end up: the ``analysis_result`` S3 URI of the
    processing job (what Clarify writes), or a local folder for local runs.
    """
    path = _join(os.fspath(output_uri), f"{results_subdir(result.granularity, result.direction)}/{OUT_FILE}")
    return {
        "direction": result.direction,
        "granularity": result.granularity,
        "explanation_results_path": path,
    }


def item_line(item: ItemAttribution) -> dict[str, Any]:
    """One ``out.jsonl`` object (keys in the published order)."""
    explanations = []
    for entry in item.entries:
        doc: dict[str, Any] = {"feature_name": entry.feature_name, "scores": entry.scores.tolist()}
        if entry.timestamp is not None:
            doc["timestamp"] = entry.timestamp
        explanations.append(doc)
    return {"explanations": explanations, "item_id": item.item_id, "offset": item.offset.tolist()}
