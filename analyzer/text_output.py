"""Write text SHAP results: ``explanations_shap/out.jsonl`` and ``explanations_shap/baseline.csv``.

The content of each ``out.jsonl`` line comes from the pure
:func:`analyzer.explain.text.record_explanations` (Clarify's layout, see
:mod:`analyzer.explain.text.outputs`); this module serialises and writes it, atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from analyzer.explain.text import FREE_TEXT, TextShapResult, record_explanations
from analyzer.output import SHAP_DIR, atomic_open, to_json_compatible

__all__ = ["OUT_JSONL", "jsonl_lines", "write_text_outputs"]

OUT_JSONL = "out.jsonl"


def jsonl_lines(
    result: TextShapResult,
    feature_names: Sequence[str],
    data_types: Sequence[str],
    join_values: Sequence[object] | None = None,
) -> Iterator[str]:
    """The lines of ``out.jsonl`` (without line ends), one per record in input order.

    ``join_values`` (one per record) adds ``join_source_value`` to each line.
    """
    if join_values is not None and len(join_values) != len(result.records):
        raise ValueError(f"{len(join_values)} join values for {len(result.records)} records")
    for i, record in enumerate(result.records):
        line: dict = {"explanations": record_explanations(record, result, feature_names, data_types)}
        if join_values is not None:
            line["join_source_value"] = join_values[i]
        yield json.dumps(to_json_compatible(line), allow_nan=False)


def write_text_outputs(
    output_dir: str | Path,
    result: TextShapResult,
    feature_names: Sequence[str],
    data_types: Sequence[str],
    baseline: pd.DataFrame,
    *,
    join_values: Sequence[object] | None = None,
    save_local: bool = True,
) -> list[Path]:
    """Write ``explanations_shap/baseline.csv`` (no header, as the tabular path) and, when
    ``save_local``, ``explanations_shap/out.jsonl``; returns the paths written."""
    if FREE_TEXT not in data_types:
        raise ValueError("write_text_outputs: no feature has data_type free_text")
    folder = Path(output_dir) / SHAP_DIR
    written = []
    baseline_path = folder / "baseline.csv"
    with atomic_open(baseline_path, "w", newline="") as handle:
        baseline.to_csv(handle, index=False, header=False)
    written.append(baseline_path)
    if save_local:
        out_path = folder / OUT_JSONL
        with atomic_open(out_path, "w", encoding="utf-8") as handle:
            for line in jsonl_lines(result, feature_names, data_types, join_values):
                handle.write(line + "\n")
        written.append(out_path)
    return written
