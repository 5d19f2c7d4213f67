"""Text SHAP results as Clarify lays them out (pure): the ``explanations`` of each
``out.jsonl`` line, ``global_top_shap_text`` and the ``explanations.kernel_shap`` section of
``analysis.json``. Writing the files is :mod:`analyzer.text_output`'s job.

``out.jsonl`` (clarify-contract.md §3.7, the real line in
``examples/local_outputs/real_text_sentence_granularity__explanations_shap_out.jsonl__first_line.json``):
one JSON object per record, in input order: ``{"explanations": [...], "join_source_value": v}``
(the latter only with a join column). One ``explanations`` entry per feature, in dataset
order, keys ``attributions``, ``data_type``, ``feature_name``; a text feature has one
attribution per unit ``{"attribution": [per label], "description": {"partial_text", "start_idx"}}``,
any other feature a single ``{"attribution": [per label]}`` (INFERRED). Keys are written in
alphabetical order (the order of the real line; the original order is not known).

``analysis.json``, per label (``label0``... or ``label_headers``):

* ``global_shap_values``: every feature in dataset order, aggregated over records with
  ``agg_method``; a text feature's per-record value is the sum of its units' values (its whole
  contribution). Whether Clarify lists text features here is UNVERIFIED.
* ``expected_value``: the mean over records of each record's expected value (each record's
  reference is its own text with every unit replaced, so expected values differ by record).
* ``global_top_shap_text``: per text feature, the ``max_top_tokens`` unit strings with the
  largest aggregate, as ``{unit: value}`` sorted by value (largest first, ties by unit). A unit
  string's aggregate is ``agg_method`` over all its occurrences in all records (the spec's
  recommendation); unit strings are compared exactly (no lower-casing).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analyzer.explain.results import aggregate_shap, label_keys
from analyzer.explain.text.engine import TextRecordShap, TextShapResult

#: ``text_config.max_top_tokens`` when not given (DOC-2023: "Defaults to 50")
DEFAULT_MAX_TOP_TOKENS = 50


def _values(row: np.ndarray) -> list[float]:
    return [float(v) for v in row]


def record_explanations(
    record: TextRecordShap,
    result: TextShapResult,
    feature_names: Sequence[str],
    data_types: Sequence[str],
) -> list[dict]:
    """The ``explanations`` list of one record: one entry per feature, in dataset order."""
    n_cols = len(result.text_columns) + len(result.feature_columns)
    if len(feature_names) != n_cols or len(data_types) != n_cols:
        raise ValueError(
            f"{len(feature_names)} feature names and {len(data_types)} types for {n_cols} features"
        )
    text_pos = {col: i for i, col in enumerate(result.text_columns)}
    feat_pos = {col: i for i, col in enumerate(result.feature_columns)}
    out = []
    for j in range(n_cols):
        if j in text_pos:
            i = text_pos[j]
            attributions = [
                {
                    "attribution": _values(values),
                    "description": {"partial_text": unit.text, "start_idx": unit.start_idx},
                }
                for unit, values in zip(record.units[i], record.text_values[i], strict=True)
            ]
        else:
            attributions = [{"attribution": _values(record.feature_values[feat_pos[j]])}]
        out.append(
            {"attributions": attributions, "data_type": data_types[j], "feature_name": str(feature_names[j])}
        )
    return out


def _text_feature_totals(result: TextShapResult) -> np.ndarray:
    """(n, m, k) per-record values of every feature in dataset order (text: sum over units)."""
    n_cols = len(result.text_columns) + len(result.feature_columns)
    out = np.zeros((len(result.records), n_cols, result.n_outputs))
    for r, record in enumerate(result.records):
        for i, col in enumerate(result.text_columns):
            out[r, col] = record.text_values[i].sum(axis=0)
        for i, col in enumerate(result.feature_columns):
            out[r, col] = record.feature_values[i]
    return out


def global_top_shap_text(
    result: TextShapResult,
    feature_names: Sequence[str],
    agg_method: str,
    max_top_tokens: int = DEFAULT_MAX_TOP_TOKENS,
    label_headers: Sequence[str] | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """``{label: {text feature: {unit: aggregate}}}``, the top ``max_top_tokens`` units per feature."""
    if max_top_tokens < 0:
        raise ValueError(f"max_top_tokens must be at least 0, got {max_top_tokens}")
    labels = label_keys(result.n_outputs, label_headers)
    out: dict[str, dict[str, dict[str, float]]] = {label: {} for label in labels}
    for i, col in enumerate(result.text_columns):
        occurrences: dict[str, list[np.ndarray]] = {}
        for record in result.records:
            for unit, values in zip(record.units[i], record.text_values[i], strict=True):
                occurrences.setdefault(unit.text, []).append(values)
        units = list(occurrences)
        if units:
            agg = np.stack(
                [aggregate_shap(np.stack(occurrences[u])[:, None, :], agg_method)[0] for u in units]
            )
        else:
            agg = np.zeros((0, result.n_outputs))
        for k, label in enumerate(labels):
            order = sorted(range(len(units)), key=lambda t: (-agg[t, k], units[t]))[:max_top_tokens]
            out[label][str(feature_names[col])] = {units[t]: float(agg[t, k]) for t in order}
    return out


def text_shap_section(
    result: TextShapResult,
    feature_names: Sequence[str],
    agg_method: str,
    max_top_tokens: int = DEFAULT_MAX_TOP_TOKENS,
    label_headers: Sequence[str] | None = None,
) -> dict:
    """The value of ``explanations.kernel_shap`` for a text job (see the module docstring)."""
    labels = label_keys(result.n_outputs, label_headers)
    totals = _text_feature_totals(result)
    global_values = (
        aggregate_shap(totals, agg_method) if len(totals) else np.zeros((totals.shape[1], len(labels)))
    )
    top = global_top_shap_text(result, feature_names, agg_method, max_top_tokens, label_headers)
    expected = result.expected_value
    section: dict = {}
    for k, label in enumerate(labels):
        section[label] = {
            "global_shap_values": {
                str(name): float(global_values[j, k]) for j, name in enumerate(feature_names)
            },
            "expected_value": float(expected[k]),
            "global_top_shap_text": top[label],
        }
    return section
