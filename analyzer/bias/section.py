"""``bias_section``: the ``pre_training_bias_metrics`` / ``post_training_bias_metrics`` dict."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from analyzer.bias.columns import CONTINUOUS, ColumnStats, codes_in
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
from analyzer.bias.scores import PredictedPrep, plan_predicted
from analyzer.errors import ClarifyRunnerError, DatasetError

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


def _require_column(columns: list[str], column: str, what: str) -> None:
    if column not in columns:
        raise DatasetError(f"{what} column {column} is not present in the dataset")


def _data_error(exc: Exception) -> DatasetError:
    return DatasetError(str(exc))


def _examples(series: pd.Series, limit: int = 5) -> str:
    """``values like [1, 0] (int64)``: the first distinct values of a column and its dtype."""
    distinct = pd.unique(series.dropna())[:limit].tolist()
    return f"values like {distinct} ({series.dtype})"


@dataclass
class _Missing:
    """Missing values of a column over the chunks: how many, and the first ten 0-based rows."""

    count: int = 0
    first: list[int] = field(default_factory=list)

    def add(self, series: pd.Series, offset: int) -> None:
        missing = series.isna().to_numpy()
        n = int(missing.sum())
        if n:
            self.count += n
            if len(self.first) < 10:
                self.first += [offset + int(r) for r in np.flatnonzero(missing)[: 10 - len(self.first)]]


def _rows(missing: _Missing, total: int) -> str:
    """``3 missing value(s) in 1000 rows (rows 3, 10, 50)``: 0-based rows, the first ten."""
    shown = ", ".join(str(r) for r in missing.first) + (", ..." if missing.count > 10 else "")
    return f"{missing.count} missing value(s) in {total} rows (0-based rows {shown})"


def _warn_missing_label(
    role: str, column: str, missing: _Missing, total: int, data_type: str, values: list, stats: ColumnStats
) -> None:
    """Log how missing label values are counted (smclarify's rule, so the same metric values)."""
    text = (
        f"{role} column {column} has {_rows(missing, total)}: a missing label is never positive, so these "
        f"rows count as negative labels (smclarify's rule, which Clarify applies). Remove or fill them to "
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


def _warn_missing_facet(
    column: str, missing: _Missing, total: int, data_type: str, values: list | None
) -> None:
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
        "leave them out.", column, _rows(missing, total), rule,
    )


#: Chunks of a dataset, read again on every call: ``chunks()`` returns a fresh iterable of
#: frames with the same columns and dtypes (an in-memory frame is one chunk).
Chunks = Callable[[], Iterable[pd.DataFrame]]


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

    The frame is one chunk of :func:`bias_section_chunks` (the same code computes both);
    FT, which needs every row's features, is computed from the frame.

    ``predicted_label_values_or_threshold`` exists for smclarify parity only: an
    ``analysis_config.json`` has one ``label_values_or_threshold`` for both columns, so the job
    never sets it; when given, it must be empty or equal to the label's values.
    """
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        frame = frame.reset_index(drop=True)
    if predicted_label_values_or_threshold and list(predicted_label_values_or_threshold) != list(
        _as_list(label_values_or_threshold) or []
    ):
        raise DatasetError(
            "Positive predicted label values or threshold should be empty or same as label values or "
            "thresholds"
        )
    return bias_section_chunks(
        lambda: (frame,),
        list(frame.columns),
        stage=stage,
        label=label,
        label_values_or_threshold=label_values_or_threshold,
        facets=facets,
        methods=methods,
        predicted_label=predicted_label,
        group_variable=group_variable,
        probability_threshold=probability_threshold,
        ft=(frame, ft_features),
    )


def _check_args(
    columns: list[str], facets: list[FacetSpec], label: str, label_values_or_threshold: Any
) -> list:
    for spec in facets:
        _require_column(columns, spec.column, "Facet")
    values = _as_list(label_values_or_threshold)  # a bare threshold, as in the docs
    if not values:
        raise DatasetError("Positive label values or thresholds are empty for Label column")
    _require_column(columns, label, "Label")
    return values


def _merged_stats(parts: Iterable[ColumnStats]) -> ColumnStats:
    total: ColumnStats | None = None
    for part in parts:
        total = part if total is None else total.merge(part)
    assert total is not None
    return total


def _numeric_max(chunks: Chunks, column: str, prep: Callable[[pd.Series], pd.Series] | None = None,
                 dtype: Any = None) -> Any:
    """``pd.to_numeric(column)`` (prepared, cast to ``dtype``) maximum over every chunk (NaN skipped)."""
    best: Any = None
    for chunk in chunks():
        values = chunk[column] if prep is None else prep(chunk[column])
        num = pd.to_numeric(values)
        if dtype is not None:
            num = num.astype(dtype)
        top = num.max()
        if pd.isna(top):
            continue
        best = top if best is None else max(best, top)
    return best if best is not None else np.nan


def bias_section_chunks(
    chunks: Chunks,
    columns: list[str],
    *,
    stage: Literal["pre_training", "post_training"],
    label: str,
    label_values_or_threshold: Any,
    facets: list[FacetSpec],
    methods: str | list[str] = "all",
    predicted_label: str | None = None,
    group_variable: str | None = None,
    probability_threshold: float | None = None,
    ft: tuple[pd.DataFrame, list[str] | None] | None = None,
) -> dict:
    """:func:`bias_section` over a dataset read in chunks (``chunks()``, several passes).

    Pass 1 merges per-chunk :class:`ColumnStats` of the facet, label, predicted-label and group
    columns (row count, distinct values, maximum): all that Clarify's categorical/continuous
    rule and thresholds need. Pass 2 binarises each chunk with the rules decided from them and
    adds up :class:`GroupCounts`. A continuous column that is not numeric, the scores rule of
    the predicted label and a continuous label's maximum take one short pass over those columns.
    Memory: one chunk plus the distinct values of categorical columns.

    ``columns`` are the dataset's column names. ``ft`` is ``(frame, ft_features)`` when every
    row is in memory; without it FT is reported as an error entry. Chunks must agree on each
    column's dtype. Known difference with several chunks: when the group variable mixes
    strings and missing values, CDDL/CDDPL fail in both cases but the type names in the error
    text may come in the other order (only the distinct values are sorted, not the column).
    """
    names = select_metrics(stage, methods)
    values = _check_args(columns, facets, label, label_values_or_threshold)
    post = stage == "post_training"
    if post and predicted_label is None:
        raise ValueError("predicted_label_column has to be provided for Post training metrics")
    if post:
        _require_column(columns, predicted_label, "Predicted label")  # type: ignore[arg-type]
    if group_variable is not None:
        _require_column(columns, group_variable, "Group variable")
    facet_values = [_as_list(s.value_or_threshold) for s in facets]

    def keyed(vals: list | None) -> bool | None:
        return True if isinstance(vals, list) and len(vals) > 1 else None

    try:
        prep = PredictedPrep()
        if post:
            prep = plan_predicted(
                ((c[predicted_label], c[label]) for c in chunks()), probability_threshold
            )

        def pred_of(chunk: pd.DataFrame) -> pd.Series:
            return prep.apply(chunk[predicted_label])

        # pass 1: column statistics
        fstats: list[ColumnStats | None] = [None] * len(facets)
        stats: dict[str, ColumnStats | None] = {"label": None, "pred": None, "group": None}
        n_rows = 0

        def add(old: ColumnStats | None, new: ColumnStats) -> ColumnStats:
            return new if old is None else old.merge(new)

        label_missing = _Missing()
        facet_missing = [_Missing() for _ in facets]
        label_examples: str | None = None
        for chunk in chunks():
            if label_examples is None:
                label_examples = _examples(chunk[label])
            label_missing.add(chunk[label], n_rows)
            for i, spec in enumerate(facets):
                facet_missing[i].add(chunk[spec.column], n_rows)
            n_rows += len(chunk)
            for i, spec in enumerate(facets):
                fstats[i] = add(fstats[i], ColumnStats.of(chunk[spec.column], keyed(facet_values[i])))
            stats["label"] = add(stats["label"], ColumnStats.of(chunk[label], keyed(values)))
            if post:
                stats["pred"] = add(stats["pred"], ColumnStats.of(pred_of(chunk), keyed(values)))
            if group_variable is not None:
                stats["group"] = add(stats["group"], ColumnStats.of(chunk[group_variable], True))
        if n_rows == 0:
            raise DatasetError("Dataset is empty: no records")

        lstats = stats["label"]
        assert lstats is not None
        configured = list(values)
        try:
            # Clarify logs the label's type first
            ltype = label_type(lstats, values, label, missing=label_missing.count)
            lmax = _numeric_max(chunks, label) if ltype == CONTINUOUS else None
            lrule = label_rule(lstats, ltype, values, numeric_max=lmax)
        except Exception as exc:  # noqa: BLE001 - smclarify raises plain ValueError/Exception
            raise DatasetError(
                f"Label column {label} holds {label_examples}; label_values_or_threshold "
                f"{configured!r} cannot be matched with them ({exc}). Use values that occur in the "
                "column, or one number as a threshold for a numeric label."
            ) from exc
        ftypes = [
            facet_type(st, v, s.column)  # type: ignore[arg-type]
            for st, v, s in zip(fstats, facet_values, facets)
        ]
        if label_missing.count:
            _warn_missing_label("Label", label, label_missing, n_rows, ltype, values, lstats)
        for spec, given, kind, missing in zip(facets, facet_values, ftypes, facet_missing):
            if missing.count:
                _warn_missing_facet(spec.column, missing, n_rows, kind, given)
        prule = None
        if post:
            pstats = stats["pred"]
            assert pstats is not None
            ldtype = None
            if ltype == CONTINUOUS:
                ldtype = _continuous_dtype(chunks, label)

            def joint_max() -> Any:
                pmax = _numeric_max(chunks, predicted_label, prep.apply, ldtype)  # type: ignore[arg-type]
                both = [m for m in (lmax, pmax) if m is not None and not pd.isna(m)]
                return max(both) if both else np.nan

            prule = predicted_rule(pstats, values, lrule, joint_max=joint_max, label_dtype=ldtype)
            if not any(prule.mask(pred_of(chunk)).any() for chunk in chunks()):
                raise ValueError(NO_POSITIVE_PREDICTION)
    except ClarifyRunnerError:
        raise  # a data error already, or the model's (predictions are made per chunk)
    except Exception as exc:  # noqa: BLE001 - smclarify raises plain ValueError/Exception
        raise _data_error(exc) from exc

    strata, strata_error = empty_strata(), None
    if group_variable is not None:
        gstats = stats["group"]
        assert gstats is not None and gstats.keys is not None
        strata = gstats.keys
        strata_error = _strata_error(chunks, group_variable, strata)

    frules = []
    groups = []
    for spec, fst, fvalues, ftype in zip(facets, fstats, facet_values, ftypes):
        assert fst is not None
        try:
            fmax = _numeric_max(chunks, spec.column) if ftype == CONTINUOUS and fst.kind not in (
                "int", "float") else None
            rule = facet_rule(fst, ftype, fvalues, numeric_max=fmax)
        except Exception as exc:  # noqa: BLE001
            raise _data_error(exc) from exc
        try:
            groups.append(facet_groups(rule, fst))
        except Exception as exc:  # noqa: BLE001
            # smclarify fails here with an UnboundLocalError; say what is actually wrong
            raise DatasetError(
                f"Facet column {spec.column}: value(s) {fvalues} do not occur in the column and cannot be "
                f"converted to the type of its values ({exc})"
            ) from exc
        frules.append(rule)

    # pass 2: counts
    totals: list[GroupCounts | None] = [None] * len(facets)
    yhat_all: list[np.ndarray] = []
    fcodes_all: list[list[np.ndarray]] = [[] for _ in facets]
    try:
        for chunk in chunks():
            y = lrule.mask(chunk[label])
            yhat = prule.mask(pred_of(chunk)) if prule is not None else None
            scodes = codes_in(strata, chunk[group_variable]) if group_variable is not None else None
            for i, (spec, rule) in enumerate(zip(facets, frules)):
                codes = rule.codes(chunk[spec.column])
                part = GroupCounts.from_codes(codes, rule.count_keys(), y, yhat, scodes, strata)
                total = totals[i]
                if total is None:
                    totals[i] = part
                else:
                    total.counts += part.counts  # same keys in every chunk: plain addition
                if ft is not None:
                    fcodes_all[i].append(codes)
            if ft is not None and yhat is not None:
                yhat_all.append(yhat)
    except ClarifyRunnerError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _data_error(exc) from exc

    with_strata = group_variable is not None
    result_facets: dict[str, list] = {}
    for i, (spec, total, fgroups) in enumerate(zip(facets, totals, groups)):
        assert total is not None
        total.strata_error = strata_error
        flip = None
        if ft is not None and "FT" in names and yhat_all:
            frame, ft_features = ft
            flip = _flip_test_for(
                frame, spec.column, label, predicted_label, ft_features,
                np.concatenate(fcodes_all[i]), np.concatenate(yhat_all),
            )
        result_facets[spec.column] = facet_reports(
            total, fgroups, names, with_strata=with_strata, flip_test=flip
        )
    return {"label": label, "facets": result_facets, "label_value_or_threshold": lrule.text}


def _continuous_dtype(chunks: Chunks, column: str) -> Any:
    """The dtype of ``pd.to_numeric`` of a continuous column (over every chunk)."""
    if not any(chunk[column].dtype == object for chunk in chunks()):
        return next(iter(chunks()))[column].dtype
    return np.result_type(*[pd.to_numeric(chunk[column]).dtype for chunk in chunks()])


def _strata_error(chunks: Chunks, column: str, strata: pd.Index) -> str | None:
    """The error text of sorting the group column when its values cannot be ordered (as
    smclarify's CDD sorts it); from the whole column when it is one chunk."""
    try:
        np.unique(np.asarray(strata))
    except TypeError:
        for chunk in chunks():
            try:
                np.unique(chunk[column].to_numpy())
            except TypeError as exc:
                return str(exc)
        try:
            np.unique(np.asarray(strata))
        except TypeError as exc:
            return str(exc)
    return None


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
