"""Bias metrics over a CSV too large for memory: two passes over ``pyarrow.csv.open_csv`` chunks.

Pass 1 merges per-chunk :class:`ColumnStats` of the facet, label, predicted-label and group
columns (row count, distinct values, maximum), which is all Clarify's categorical/continuous
rule and thresholds need. Pass 2 binarises each chunk with the rules decided from those
statistics and adds up :class:`GroupCounts`. Only the needed columns of one chunk are in
memory at a time, plus the distinct values of categorical/integer columns.

Known difference: when the group variable mixes strings and missing values, CDDL/CDDPL fail in
both engines (the values cannot be sorted) but the type names in the error text may come in
the other order here, because only the distinct values are sorted.

FT needs every row's features for its nearest-neighbour index, so in streaming mode it is
reported as an error entry (compute it with ``bias_section`` on an in-memory sample instead).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from pandas._libs.parsers import STR_NA_VALUES

from analyzer.bias.columns import CONTINUOUS, ColumnStats, codes_in
from analyzer.bias.counts import GroupCounts
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
from analyzer.bias.section import FacetSpec, _as_list
from analyzer.errors import DatasetError


def _chunks(path: Path, columns: list[str], block_size: int) -> Iterator[pd.DataFrame]:
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=block_size),
        # the same missing-value markers as pandas.read_csv, empty strings included
        convert_options=pacsv.ConvertOptions(
            include_columns=columns, null_values=sorted(STR_NA_VALUES), strings_can_be_null=True
        ),
    )
    for batch in reader:
        yield pa.Table.from_batches([batch]).to_pandas()


def _merge_stats(old: ColumnStats | None, new: ColumnStats) -> ColumnStats:
    if old is None:
        return new
    if old.dtype != new.dtype and old.kind in ("int", "float") and new.kind in ("int", "float"):
        old.dtype = new.dtype = np.result_type(old.dtype, new.dtype)
        if old.keys is None or new.keys is None:
            old.keys = new.keys = None
    return old.merge(new)


def stream_bias_section(
    csv_path: str | Path,
    *,
    stage: Literal["pre_training", "post_training"],
    label: str,
    label_values_or_threshold: list,
    facets: list[FacetSpec],
    methods: str | list[str] = "all",
    predicted_label: str | None = None,
    group_variable: str | None = None,
    probability_threshold: float | None = None,
    block_size: int = 4 << 20,
) -> dict:
    """Same result as :func:`analyzer.bias.bias_section` on the whole CSV (except FT), in
    bounded memory. See the module docstring for how."""
    names = select_metrics(stage, methods)
    path = Path(csv_path)
    post = stage == "post_training"
    if not label_values_or_threshold:
        raise DatasetError("Positive label values or thresholds are empty for Label column")
    if post and predicted_label is None:
        raise ValueError("predicted_label_column has to be provided for Post training metrics")
    header = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16)).schema.names
    for spec in facets:
        if spec.column not in header:
            raise DatasetError(f"Facet column {spec.column} is not present in the dataset")
    for column, what in (
        (label, "Label"),
        (predicted_label, "Predicted label"),
        (group_variable, "Group variable"),
    ):
        if column is not None and column not in header:
            raise DatasetError(f"{what} column {column} is not present in the dataset")
    values = list(label_values_or_threshold)
    facet_values = [_as_list(s.value_or_threshold) for s in facets]
    columns = list(
        dict.fromkeys(
            [s.column for s in facets] + [label] + [c for c in (predicted_label, group_variable) if c]
        )
    )

    def keyed(vals: list | None) -> bool | None:
        return True if isinstance(vals, list) and len(vals) > 1 else None

    def pred_of(chunk: pd.DataFrame) -> pd.Series:
        return prepare_predicted(chunk[predicted_label], chunk[label], probability_threshold)

    # pass 1: column statistics
    stats: dict[str, ColumnStats | None] = {c: None for c in ("label", "pred", "group")}
    fstats: list[ColumnStats | None] = [None] * len(facets)
    lnum_max: Any = None
    try:
        for chunk in _chunks(path, columns, block_size):
            for i, spec in enumerate(facets):
                fstats[i] = _merge_stats(
                    fstats[i], ColumnStats.of(chunk[spec.column], keyed(facet_values[i]))
                )
            stats["label"] = _merge_stats(stats["label"], ColumnStats.of(chunk[label], keyed(values)))
            if post:
                stats["pred"] = _merge_stats(stats["pred"], ColumnStats.of(pred_of(chunk), keyed(values)))
            if group_variable:
                stats["group"] = _merge_stats(stats["group"], ColumnStats.of(chunk[group_variable], True))
    except pa.ArrowInvalid as exc:
        raise DatasetError(f"Cannot read {path}: {exc}") from exc

    try:
        lstats = stats["label"]
        assert lstats is not None
        ltype = label_type(lstats, values, label)  # Clarify logs the label's type first
        ftypes = [
            facet_type(st, v, s.column)  # type: ignore[arg-type]
            for st, v, s in zip(fstats, facet_values, facets)
        ]
        lnum_max = lstats.max_value
        lrule = label_rule(lstats, ltype, values, numeric_max=lnum_max)
        prule = None
        if post:
            pstats = stats["pred"]
            assert pstats is not None

            def joint_max() -> Any:
                return max(lnum_max, np.asarray([pstats.max_value]).astype(lstats.dtype)[0])

            prule = predicted_rule(
                pstats,
                values,
                lrule,
                joint_max=joint_max,
                label_dtype=lstats.dtype if ltype == CONTINUOUS else None,
            )
        frules = [facet_rule(st, t, v) for st, t, v in zip(fstats, ftypes, facet_values)]  # type: ignore[arg-type]
        groups = [facet_groups(r, st) for r, st in zip(frules, fstats)]  # type: ignore[arg-type]
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - smclarify raises plain ValueError/Exception
        raise DatasetError(str(exc)) from exc

    strata = empty_strata()
    if group_variable and stats["group"] is not None and stats["group"].keys is not None:
        strata = stats["group"].keys

    # pass 2: counts
    totals: list[GroupCounts | None] = [None] * len(facets)
    for chunk in _chunks(path, columns, block_size):
        y = lrule.mask(chunk[label])
        yhat = prule.mask(pred_of(chunk)) if prule is not None else None
        scodes = codes_in(strata, chunk[group_variable]) if group_variable else None
        for i, (spec, rule) in enumerate(zip(facets, frules)):
            part = GroupCounts.from_codes(
                rule.codes(chunk[spec.column]), rule.count_keys(), y, yhat, scodes, strata
            )
            total = totals[i]
            if total is None:
                totals[i] = part
            else:
                total.counts += part.counts  # same keys in every chunk: plain addition

    if post and totals and totals[0] is not None and int(totals[0].counts[:, :, 1, :].sum()) == 0:
        raise DatasetError(NO_POSITIVE_PREDICTION)
    result = {}
    for spec, total, fgroups in zip(facets, totals, groups):
        assert total is not None
        result[spec.column] = facet_reports(total, fgroups, names, with_strata=group_variable is not None)
    return {"label": label, "facets": result, "label_value_or_threshold": lrule.text}
