"""The dataset section of the plan: every configured column resolved against the dataset header.

Column roles (``label``, ``predicted_label``, ``facet``, ``group_variable``,
``excluded_columns``, ``joinsource_name_or_index``) are names or 0-based indices into the
main dataset's columns, except that ``predicted_label`` indexes the predicted-label dataset
and ``facet`` the facet dataset when those are given. ``group_variable`` is looked up in the
main dataset, then in the facet dataset.

Side datasets (``predicted_label_dataset_uri``, ``facet_dataset_uri``; always CSV) are joined
to the main one by an inner join on ``joinsource_name_or_index`` when both hold that column,
and row by row otherwise (then the row counts must match). A side column whose name is
already used gets a ``_predicted``/``_facet`` suffix.

Every problem is collected (messages start with Clarify's text) so that all are reported at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.datasets.columns import (
    FEATURE_NAMES_NOT_FOUND,
    HEADERS_MUST_CONTAIN_LABEL,
    UNABLE_TO_LOCATE_FACET,
    locate,
    unique_name,
    why_missing,
)
from analyzer.datasets.header import DatasetHeader, config_hint_names, tabular_type
from analyzer.datasets.json_format import DATA_MUST_CONTAIN_FEATURES
from analyzer.plan.defaults import DEFAULT_PREDICTED_LABEL_NAME
from analyzer.plan.images import image_dataset_plan, is_image_job
from analyzer.plan.model import ColumnKey, DatasetPlan, SideDatasetPlan

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig

_JSON_TYPES = ("application/jsonlines", "application/json")


class _Resolver:
    """Resolves the roles of one config against one header, collecting problems."""

    def __init__(self, cfg: AnalysisConfig, header: DatasetHeader) -> None:
        self.cfg = cfg
        self.header = header
        self.main = list(header.columns)
        self.taken = list(header.columns)  # frame columns, side columns added as they are attached
        self.problems: list[str] = []

    def label(self) -> str | None:
        cfg = self.cfg
        if cfg.dataset_type in _JSON_TYPES:
            return self.header.label_column
        if cfg.label is None:
            return None
        col = locate(cfg.label, self.main)
        if col is None:
            self.problems.append(f"{HEADERS_MUST_CONTAIN_LABEL} {why_missing('Label', cfg.label, self.main)}")
        return col

    def join(self) -> str | None:
        join = self.cfg.joinsource_name_or_index
        if join is None:
            return None
        col = locate(join, self.main)
        if col is None:
            self.problems.append(
                "Unable to locate the join column. "
                + why_missing("joinsource_name_or_index", join, self.main)
            )
        return col

    def side(
        self, key: str, headers: list[str] | None, side_cols: tuple[str, ...], columns: list[str], suffix: str
    ) -> SideDatasetPlan:
        """Plan the attachment of ``columns`` of a side dataset (names resolved against ``taken``)."""
        join = self.cfg.joinsource_name_or_index
        main_key = locate(join, self.main) if join is not None else None
        side_key = locate(join, list(side_cols)) if join is not None else None
        columns = [c for c in columns if c != side_key]
        renames: dict[str, str] = {}
        for c in columns:
            renames[c] = unique_name(c, self.taken, suffix)
            self.taken.append(renames[c])
        uri = getattr(self.cfg, key)
        return SideDatasetPlan(
            key=key,
            uri=str(uri),
            headers=tuple(headers) if headers is not None else None,
            hint_names=tuple(config_hint_names(self.cfg, key)),
            columns=tuple(columns),
            renames=renames,
            join=(main_key, side_key) if main_key is not None and side_key is not None else None,
        )

    def predicted_label(self) -> tuple[str | None, SideDatasetPlan | None]:
        """The predicted-label column: in the data, or joined from ``predicted_label_dataset_uri``."""
        cfg = self.cfg
        predicted: ColumnKey | None = cfg.predicted_label
        side_cols = self.header.predicted_label_dataset
        if side_cols is None:
            if cfg.dataset_type in _JSON_TYPES:
                return self.header.predicted_label_column, None
            if predicted is None:
                return None, None
            col = locate(predicted, self.main)
            if col is None:
                self.problems.append(
                    "Headers must contain predicted label. "
                    + why_missing("Predicted label", predicted, self.main)
                )
            return col, None
        pl_cols = list(side_cols)
        if predicted is None:
            join = cfg.joinsource_name_or_index
            side_key = locate(join, pl_cols) if join is not None else None
            others = [c for c in pl_cols if c != side_key]
            predicted = others[0] if len(others) == 1 else DEFAULT_PREDICTED_LABEL_NAME
        pred_side = locate(predicted, pl_cols)
        if pred_side is None:
            self.problems.append(
                "Headers must contain predicted label. "
                + why_missing("Predicted label", predicted, pl_cols, "the predicted_label_headers")
            )
            return None, None
        side = self.side(
            "predicted_label_dataset_uri", cfg.predicted_label_headers, side_cols, [pred_side], "predicted"
        )
        return side.renames.get(pred_side), side

    def facets(
        self, join_col: str | None
    ) -> tuple[dict[ColumnKey, str], str | None, SideDatasetPlan | None]:
        """Resolve ``facet`` and ``group_variable``, planning the join of ``facet_dataset_uri``."""
        cfg = self.cfg
        facets = [f.name_or_index for f in cfg.facet or []]
        group = cfg.group_variable
        side_cols = list(self.header.facet_dataset or [])
        side = None
        if self.header.facet_dataset is not None:
            side = self.side(
                "facet_dataset_uri", cfg.facet_headers, self.header.facet_dataset, side_cols, "facet"
            )

        def in_side(key: ColumnKey) -> str | None:
            found = locate(key, side_cols)
            if found is None or side is None:
                return None
            return side.renames.get(found, join_col)  # not renamed: it is the join column itself

        facet_columns: dict[ColumnKey, str] = {}
        for key in facets:
            if side is not None:
                col, where, cols = in_side(key), "the facet_headers", side_cols
            else:
                col, where, cols = locate(key, self.main), "the headers", self.main
            if col is None:
                self.problems.append(f"{UNABLE_TO_LOCATE_FACET} {why_missing('Facet', key, cols, where)}")
            else:
                facet_columns[key] = col

        group_col = None
        if group is not None:
            group_col = locate(group, self.main)
            if group_col is None and isinstance(group, str):
                group_col = in_side(group)
            if group_col is None:
                self.problems.append(
                    "Unable to locate the group variable. " + why_missing("group_variable", group, self.main)
                )
        return facet_columns, group_col, side

    def excluded(self) -> list[str]:
        out: list[str] = []
        for key in self.cfg.excluded_columns or []:
            col = locate(key, self.main)
            if col is None:
                self.problems.append(
                    f"{FEATURE_NAMES_NOT_FOUND} {why_missing('excluded_columns entry', key, self.main)}"
                )
            else:
                out.append(col)
        return out


def plan_dataset(
    cfg: AnalysisConfig, header: DatasetHeader, uri: str
) -> tuple[DatasetPlan | None, list[str]]:
    """Resolve the dataset section; returns ``(plan, problems)``.

    With problems, ``plan`` is what could still be resolved (so that the jobs can be checked
    too), or ``None`` when no feature column is known; it must not be executed.
    """
    if is_image_job(cfg):
        return image_dataset_plan(cfg, uri), []  # images have no columns
    kind = tabular_type(cfg)
    r = _Resolver(cfg, header)
    label = r.label()
    join = r.join()
    predicted, pl_side = r.predicted_label()
    facet_columns, group, facet_side = r.facets(join)
    excluded = r.excluded()
    drop = {c for c in (label, predicted if pl_side is None else None, join) if c is not None} | set(excluded)
    features = [c for c in r.main if c not in drop]
    if not features:
        r.problems.append(
            f"{DATA_MUST_CONTAIN_FEATURES} No feature columns are left in {r.main} after removing "
            f"the label, predicted label, joinsource column and excluded_columns"
        )
    if not features:
        return None, r.problems
    is_json = kind in _JSON_TYPES
    plan = DatasetPlan(
        uri=uri,
        dataset_type=kind,
        headers=tuple(str(h) for h in cfg.headers) if cfg.headers is not None else None,
        features=cfg.features,
        label_expression=str(cfg.label) if is_json and cfg.label is not None else None,
        predicted_label_expression=(
            str(cfg.predicted_label)
            if is_json and cfg.predicted_label is not None and not cfg.predicted_label_dataset_uri
            else None
        ),
        hint_names=tuple(config_hint_names(cfg)),
        columns=header.columns,
        feature_columns=tuple(features),
        label=label,
        predicted_label=predicted,
        join_column=join,
        excluded_columns=tuple(excluded),
        facet_columns=facet_columns,
        group_variable=group,
        predicted_label_dataset=pl_side,
        facet_dataset=facet_side,
    )
    return plan, r.problems
