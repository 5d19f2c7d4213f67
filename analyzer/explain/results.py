"""SHAP results: global aggregation, the ``explanations.kernel_shap`` section and the table of
local values (pure computation; :func:`analyzer.output.write_shap_outputs` writes the files).

``out.csv`` has a header row (``<feature>_<label>`` columns, label-major: every feature of the
first output, then of the next), one row per explained record in input order, and the join
column first when ``joinsource_name_or_index`` is set. ``baseline.csv`` has **no header**:
Clarify's ``methods.shap.baseline`` takes rows "in the same format as the dataset, features
only", and CSV datasets described by ``headers`` have no header row, so writing the baseline
that way lets it be passed back unchanged as ``baseline`` (an S3 URI/file) to reproduce a job.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analyzer.explain.kernel_shap import KernelShapResult

AGG_METHODS = ("mean_abs", "median", "mean_sq")


def aggregate_shap(local: np.ndarray, agg_method: str) -> np.ndarray:
    """Global SHAP values (m, k) from local ones (n, m, k): ``mean_abs``, ``median`` or ``mean_sq``."""
    method = (agg_method or "mean_abs").lower()
    if method == "mean_abs":
        return np.mean(np.abs(local), axis=0)
    if method == "median":
        return np.median(local, axis=0)
    if method == "mean_sq":
        return np.mean(np.square(local), axis=0)
    raise ValueError(f"agg_method must be one of {', '.join(AGG_METHODS)}, got {agg_method!r}")


def label_keys(n_outputs: int, label_headers: Sequence[str] | None = None) -> list[str]:
    """Names of the model outputs: ``label_headers`` when given, else ``label0``, ``label1``, ..."""
    if label_headers:
        if len(label_headers) != n_outputs:
            raise ValueError(
                f"label_headers has {len(label_headers)} names but there are {n_outputs} model outputs"
            )
        return [str(h) for h in label_headers]
    return [f"label{k}" for k in range(n_outputs)]


def explained_names(result: KernelShapResult, feature_names: Sequence[str]) -> list[str]:
    """Names of the explained features, in the order of ``result.local``'s second axis.

    ``feature_names`` is either exactly the explained features' names in result order (as
    many names as explained features), or all feature columns in dataset order, which
    ``result.features`` indexes.
    """
    names = list(feature_names)
    if len(names) == result.local.shape[1]:
        return names
    if result.features and max(result.features) < len(names):
        return [names[j] for j in result.features]
    raise ValueError(f"{len(names)} feature names given for {result.local.shape[1]} explained features")


def shap_section(
    result: KernelShapResult,
    feature_names: Sequence[str],
    agg_method: str,
    label_headers: Sequence[str] | None = None,
) -> dict:
    """The value of ``explanations.kernel_shap``: per label, global values and ``expected_value``."""
    names = explained_names(result, feature_names)
    global_values = aggregate_shap(result.local, agg_method)
    section: dict = {}
    for k, key in enumerate(label_keys(result.local.shape[2], label_headers)):
        section[key] = {
            "global_shap_values": {name: float(global_values[j, k]) for j, name in enumerate(names)},
            "expected_value": float(result.expected_value[k]),
        }
    return section


def local_frame(
    result: KernelShapResult,
    feature_names: Sequence[str],
    label_headers: Sequence[str] | None = None,
    join_values: pd.Series | None = None,
) -> pd.DataFrame:
    """The ``out.csv`` table: ``<feature>_<label>`` columns, join column first when given."""
    names = explained_names(result, feature_names)
    labels = label_keys(result.local.shape[2], label_headers)
    columns = [f"{name}_{label}" for label in labels for name in names]
    values = np.transpose(result.local, (0, 2, 1)).reshape(result.local.shape[0], -1)
    frame = pd.DataFrame(values, columns=columns)
    if join_values is not None:
        if len(join_values) != len(frame):
            raise ValueError(
                f"joinsource column {join_values.name!r} has {len(join_values)} values "
                f"for {len(frame)} records"
            )
        frame.insert(0, str(join_values.name), join_values.to_numpy())
    return frame
