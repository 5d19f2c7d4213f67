"""Missing label and facet values: the same metric values as smclarify, and a warning that says
how many rows are missing and which rule counted them."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from smclarify.bias import report as R

from analyzer.bias import FacetSpec, bias_section
from tests.conftest import REPO_ROOT

CSV = REPO_ROOT / "examples" / "german_credit" / "german_credit.csv"


def _frame() -> pd.DataFrame:
    df = pd.read_csv(CSV)
    df["risk"] = df["risk"].map({1: "good", 0: "bad"})
    df.loc[[3, 10, 50], "risk"] = np.nan
    df.loc[[5, 7], "sex"] = np.nan
    df.loc[[5, 8], "age"] = np.nan
    return df


def _values(section: list[dict]) -> list:
    return [(f["value_or_threshold"], [m["value"] for m in f["metrics"]]) for f in section]


@pytest.mark.parametrize(
    ("column", "values", "rule"),
    [
        ("sex", ["female"], "a missing value matches none of ['female'], so these rows count in the other "
                            "group (facet a)"),
        ("age", [30], "a missing value is not above the threshold 30, so these rows count in the other "
                      "group (facet a)"),
    ],
)
def test_missing_label_and_facet_values_are_counted_as_smclarify_and_reported(
    column: str, values: list, rule: str, caplog: pytest.LogCaptureFixture
) -> None:
    df = _frame()
    with caplog.at_level(logging.WARNING, logger="analyzer.bias"):
        ours = bias_section(df, stage="pre_training", label="risk", label_values_or_threshold=["good"],
                            facets=[FacetSpec(column, list(values))], methods=["CI", "DPL", "KL"])
    theirs = R.bias_report(df, R.FacetColumn(column, list(values)),
                           R.LabelColumn("risk", df["risk"], ["good"]),
                           R.StageType.PRE_TRAINING, None, metrics=["CI", "DPL", "KL"])
    assert _values(ours["facets"][column]) == _values(theirs)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("analyzer.")]
    assert (
        "Label column risk has 3 missing value(s) in 1000 rows (0-based rows 3, 10, 50): a missing label is "
        "never positive, so these rows count as negative labels (smclarify's rule, which Clarify applies). "
        "Remove or fill them to leave them out."
    ) in messages
    rows = "5, 7" if column == "sex" else "5, 8"
    assert (
        f"Facet column {column} has 2 missing value(s) in 1000 rows (0-based rows {rows}): {rule} "
        "(smclarify's rule, which Clarify applies). Remove or fill them to leave them out."
    ) in messages


def test_missing_values_in_an_integer_label_explain_the_threshold(caplog: pytest.LogCaptureFixture) -> None:
    """NaN turns a 0/1 label float: Clarify then reads [1] as a threshold. Say so, naming the cause
    (the missing rows), not the dtype."""
    df = pd.read_csv(CSV)
    df.loc[[3, 10], "risk"] = np.nan
    with caplog.at_level(logging.WARNING, logger="analyzer.bias"):
        ours = bias_section(df, stage="pre_training", label="risk", label_values_or_threshold=[1],
                            facets=[FacetSpec("sex", ["female"])], methods=["DPL"])
    theirs = R.bias_report(df, R.FacetColumn("sex", ["female"]), R.LabelColumn("risk", df["risk"], [1]),
                           R.StageType.PRE_TRAINING, None, metrics=["DPL"])
    assert _values(ours["facets"]["sex"]) == _values(theirs)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("analyzer.")] == [
        "Label column risk has 2 missing value(s) in 1000 rows (0-based rows 3, 10): a missing label is "
        "never positive, so these rows count as negative labels (smclarify's rule, which Clarify "
        "applies). Remove or fill them to leave them out. The column is read as CONTINUOUS (missing "
        "values make it float), so 1 is a threshold: positive = value > 1. No value exceeds it, so no "
        "label is positive."
    ]
