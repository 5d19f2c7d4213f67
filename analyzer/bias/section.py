"""``bias_section``: the ``pre_training_bias_metrics`` / ``post_training_bias_metrics`` dict."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from analyzer.bias.columns import CONTINUOUS, ColumnStats, factorize_with_nan
from analyzer.bias.counts import GroupCounts
from analyzer.bias.flip_test import feature_matrix, flip_test
from analyzer.bias.registry import select_metrics
from analyzer.bias.report import empty_strata, facet_reports
from analyzer.bias.rules import (
    NO_POSITIVE_PREDICTION,
    facet_groups,
    facet_rule,
    facet_type,
    label_rule,
    label_type,
    predicted_rule,
)
from analyzer.bias.scores import prepare_predicted
from analyzer.errors import DatasetError

log = logging.getLogger(__name__)


@dataclass
class FacetSpec:
    """One ``facet`` entry of the config: a column and its sensitive values or threshold."""

    column: str
    value_or_threshold: list | None = None


def _as_list(values: Any) -> list | None:
    """Config values as a fresh list (a bare scalar becomes a one-element list)."""
    if values is None:
        return None
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _stats_and_codes(series: pd.Series, values: list | None) -> tuple[ColumnStats, np.ndarray | None]:
    several = isinstance(values, list) and len(values) > 1
    return ColumnStats.encode(series, with_keys=True if several else None)


def _require_column(frame: pd.DataFrame, column: str, what: str) -> None:
    if column not in frame.columns:
        raise DatasetError(f"{what} column {column} is not present in the dataset")


def _data_error(exc: Exception) -> DatasetError:
    return DatasetError(str(exc))


def strata_codes(series: pd.Series) -> tuple[np.ndarray, pd.Index, str | None]:
    """Group-variable codes, distinct values (NaN included) in first-seen order, and the error
    text of sorting the column when its values cannot be ordered (as smclarify's CDD sorts it)."""
    codes, keys = factorize_with_nan(series)
    error = None
    try:
        np.unique(np.asarray(keys.index))
    except TypeError:
        try:
            np.unique(series.to_numpy())  # rare: reproduce the exact text from the full column
        except TypeError as exc:
            error = str(exc)
    return codes, keys.index, error


def _examples(series: pd.Series, limit: int = 5) -> str:
    """``values like [1, 0] (int64)``: the first distinct values of a column and its dtype."""
    distinct = pd.unique(series.dropna())[:limit].tolist()
    return f"values like {distinct} ({series.dtype})"


def _rows(missing: np.ndarray) -> str:
    """``3 missing value(s) in 1000 rows (rows 3, 10, 50)``: 0-based rows, the first ten."""
    rows = np.flatnonzero(missing)
    shown = ", ".join(str(int(r)) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
    return f"{len(rows)} missing value(s) in {len(missing)} rows (0-based rows {shown})"


def _warn_missing_label(
    role: str, column: str, missing: np.ndarray, data_type: str, values: list, stats: ColumnStats
) -> None:
    """Log how missing label values are counted (smclarify's rule, so the same metric values)."""
    text = (
        f"{role} column {column} has {_rows(missing)}: a missing label is never positive, so these rows "
        f"count as negative labels (smclarify's rule, which Clarify applies). Remove or fill them to "
        f"leave them out."
    )
    if data_type == CONTINUOUS and stats.kind == "float":
        text += (
            f" The column is read as CONTINUOUS (missing values make it float), so {values[0]!r} is a "
            f"threshold: positive = value > {values[0]!r}."
        )
        top = stats.max_value
        try:
            if top is not None and not pd.isna(top) and float(values[0]) >= float(top):
                text += " No value exceeds it, so no label is positive."
        except (TypeError, ValueError):
            pass
    log.warning("%s", text)


def _warn_missing_facet(column: str, missing: np.ndarray, data_type: str, values: list | None) -> None:
    """Log how missing facet values are grouped (smclarify's rule, so the same metric values)."""
    if data_type == CONTINUOUS:
        rule = (
            f"a missing value is not above the threshold {values[0] if values else None!r}, so these rows "
            "count in the other group (facet a)"
        )
    elif values:
        rule = f"a missing value matches none of {values!r}, so these rows count in the other group (facet a)"
    else:
        rule = (
            "the missing values form a facet value of their own, reported as 'nan', whose metrics fail "
            "with 'facet set is empty'"
        )
    log.warning(
        "Facet column %s has %s: %s (smclarify's rule, which Clarify applies). Remove or fill them to "
        "leave them out.", column, _rows(missing), rule,
    )


def bias_section(
    frame: pd.DataFrame,
    *,
    stage: Literal["pre_training", "post_training"],
    label: str,
    label_values_or_threshold: list,
    facets: list[FacetSpec],
    methods: str | list[str] = "all",
    predicted_label: str | None = None,
    group_variable: str | None = None,
    ft_features: list[str] | None = None,
    probability_threshold: float | None = None,
    predicted_label_values_or_threshold: list | None = None,
) -> dict:
    """Compute one bias section of analysis.json, value for value as Clarify (smclarify 0.5).

    Returns ``{"label", "facets": {name: [{"value_or_threshold", "metrics"}]},
    "label_value_or_threshold"}`` with plain Python values; infinite values stay float
    ``inf``/``-inf`` (the analysis.json writer turns them into "Infinity" strings).
    A metric that fails becomes ``{"name","description","value": None,"error": text}``;
    a dataset that does not fit the configuration raises :class:`DatasetError`.

    ``predicted_label_values_or_threshold`` exists for smclarify parity only: an
    ``analysis_config.json`` has one ``label_values_or_threshold`` for both columns, so the job
    never sets it; when given, it must be empty or equal to the label's values.
    """
    names = select_metrics(stage, methods)
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        frame = frame.reset_index(drop=True)
    for spec in facets:
        _require_column(frame, spec.column, "Facet")
    if not isinstance(label_values_or_threshold, (list, tuple)) and label_values_or_threshold is not None:
        label_values_or_threshold = [label_values_or_threshold]  # a bare threshold, as in the docs
    if not label_values_or_threshold:
        raise DatasetError("Positive label values or thresholds are empty for Label column")
    if predicted_label_values_or_threshold and list(predicted_label_values_or_threshold) != list(
        label_values_or_threshold
    ):
        raise DatasetError(
            "Positive predicted label values or threshold should be empty or same as label values or "
            "thresholds"
        )
    _require_column(frame, label, "Label")
    post = stage == "post_training"
    if post and predicted_label is None:
        raise ValueError("predicted_label_column has to be provided for Post training metrics")
    values = list(label_values_or_threshold)

    try:
        label_series = frame[label]
        lstats, lcodes = _stats_and_codes(label_series, values)
        label_missing = label_series.isna().to_numpy()
        configured = list(values)
        try:
            # Clarify logs the label's type first
            ltype = label_type(lstats, values, label, missing=int(label_missing.sum()))
            lnum = pd.to_numeric(label_series) if ltype == CONTINUOUS else None
            lrule = label_rule(lstats, ltype, values, numeric_max=lnum.max() if lnum is not None else None)
        except Exception as exc:  # noqa: BLE001 - smclarify raises plain ValueError/Exception
            raise DatasetError(
                f"Label column {label} holds {_examples(label_series)}; label_values_or_threshold "
                f"{configured!r} cannot be matched with them ({exc}). Use values that occur in the "
                "column, or one number as a threshold for a numeric label."
            ) from exc
        facet_values = [_as_list(s.value_or_threshold) for s in facets]
        facet_stats = [_stats_and_codes(frame[s.column], v) for s, v in zip(facets, facet_values)]
        facet_types = [
            facet_type(st, v, s.column) for (st, _), v, s in zip(facet_stats, facet_values, facets)
        ]
        if label_missing.any():
            _warn_missing_label("Label", label, label_missing, ltype, values, lstats)
        for facet_spec, values_given, facet_kind in zip(facets, facet_values, facet_types):
            facet_missing = frame[facet_spec.column].isna().to_numpy()
            if facet_missing.any():
                _warn_missing_facet(facet_spec.column, facet_missing, facet_kind, values_given)
        y = lrule.mask(label_series, lcodes) if ltype != CONTINUOUS else lrule.mask(lnum)

        yhat = None
        if post:
            _require_column(frame, predicted_label, "Predicted label")  # type: ignore[arg-type]
            pred_series = prepare_predicted(frame[predicted_label], label_series, probability_threshold)
            pstats, pcodes = _stats_and_codes(pred_series, values)

            def joint_max() -> Any:
                assert lnum is not None
                return pd.concat([lnum, pd.to_numeric(pred_series).astype(lnum.dtype)]).max()

            prule = predicted_rule(
                pstats,
                values,
                lrule,
                joint_max=joint_max,
                label_dtype=lnum.dtype if lnum is not None else None,
            )
            yhat = prule.mask(pred_series, pcodes if prule.data_type != CONTINUOUS else None)
            if not yhat.any():
                raise ValueError(NO_POSITIVE_PREDICTION)
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - smclarify raises plain ValueError/Exception
        raise _data_error(exc) from exc

    with_strata = group_variable is not None
    scodes, strata, strata_error = None, empty_strata(), None
    if with_strata:
        _require_column(frame, group_variable, "Group variable")  # type: ignore[arg-type]
        scodes, strata, strata_error = strata_codes(frame[group_variable])

    result_facets: dict[str, list] = {}
    for spec, (fstats, fcodes), fvalues, ftype in zip(facets, facet_stats, facet_values, facet_types):
        try:
            fnum = pd.to_numeric(frame[spec.column]) if ftype == CONTINUOUS else None
            rule = facet_rule(fstats, ftype, fvalues, numeric_max=fnum.max() if fnum is not None else None)
            codes = rule.codes(fnum if fnum is not None else frame[spec.column], fcodes)
        except Exception as exc:  # noqa: BLE001
            raise _data_error(exc) from exc
        try:
            groups = facet_groups(rule, fstats)
        except Exception as exc:  # noqa: BLE001
            # smclarify fails here with an UnboundLocalError; say what is actually wrong
            raise DatasetError(
                f"Facet column {spec.column}: value(s) {fvalues} do not occur in the column and cannot be "
                f"converted to the type of its values ({exc})"
            ) from exc
        counts = GroupCounts.from_codes(codes, rule.count_keys(), y, yhat, scodes, strata)
        counts.strata_error = strata_error
        ft = None
        if "FT" in names and yhat is not None:
            ft = _flip_test_for(frame, spec.column, label, predicted_label, ft_features, codes, yhat)
        result_facets[spec.column] = facet_reports(
            counts, groups, names, with_strata=with_strata, flip_test=ft
        )
    return {"label": label, "facets": result_facets, "label_value_or_threshold": lrule.text}


def _flip_test_for(
    frame: pd.DataFrame,
    facet: str,
    label: str,
    predicted_label: str | None,
    ft_features: list[str] | None,
    codes: np.ndarray,
    yhat: np.ndarray,
) -> Any:
    """FT callable for one facet: the feature matrix is built once and shared by its reports."""
    drop = {facet, label, predicted_label}
    columns = [c for c in (ft_features if ft_features is not None else frame.columns) if c not in drop]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(f"FT feature column(s) {missing} are not present in the dataset")
    try:
        matrix: Any = feature_matrix(frame[columns])
    except ValueError as exc:
        matrix = exc

    def run(lut: np.ndarray) -> float:
        return flip_test(matrix, lut[codes], yhat)

    return run
