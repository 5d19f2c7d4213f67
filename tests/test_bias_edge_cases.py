"""The 28 edge cases of smclarify_edge_cases.json, each run through smclarify 0.5 and our engine.

The JSON stores only the oracle's outputs, so the inputs are rebuilt here from each case's
description; every case is then compared against the live oracle (same report to 1e-12
relative, or the same error text), and the cases that raise are also checked against the
text stored in the JSON.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _bias_helpers import Case, assert_same, run_ours

from analyzer.bias import FacetSpec, bias_section

pytest.importorskip("smclarify")

POST = "post_training"


def _small_post() -> pd.DataFrame:
    """48 rows: enough for integer 0/1 labels to be read as categorical (< 5 % distinct values)."""
    return pd.concat([_twelve_rows()] * 4, ignore_index=True)


def _twelve_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": ["a"] * 6 + ["d"] * 6,
            "y": [1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0],
            "p": [1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0],
            "g": ["u", "v", "u", "v", "u", "v", "u", "u", "v", "v", "u", "v"],
            "f1": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
            "f2": [0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0],
        }
    )


def _ages(float_dtype: bool) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    age = np.tile(np.arange(18, 81), 40)
    frame = pd.DataFrame(
        {"age": age.astype(float) if float_dtype else age, "y": rng.integers(0, 2, age.size)}
    )
    return frame


def _cases() -> dict[str, Case]:
    post = _small_post()
    c: dict[str, Case] = {}
    c["d_all_positive_labels__KL_negative_JS_LP_TVD_KS_use_common_keys_only"] = Case(
        pd.DataFrame({"x": ["a"] * 4 + ["d"] * 4, "y": [0, 1, 0, 1, 1, 1, 1, 1], "g": [1, 1, 2, 2] * 2}),
        "x",
        ["d"],
        "y",
        [1, 2],
        group="g",
    )
    c["post_training_same_data"] = Case(post, "x", ["d"], "y", [1], POST, "p", "g", ["f1", "f2"])
    never = post.assign(p=[0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1] * 4)
    c["a_never_predicted_positive__DI_inf_DCA_inf"] = Case(
        never, "x", ["d"], "y", [1], POST, "p", "g", ["f1", "f2"]
    )
    c["perfect_predictions__TE_0_over_0"] = Case(
        post.assign(p=post["y"]), "x", ["d"], "y", [1], POST, "p", "g", ["f1"]
    )
    c["no_group_variable__CDDL_CDDPL_error_entries"] = Case(
        post, "x", ["d"], "y", [1], POST, "p", None, ["f1", "f2"]
    )
    c["facet_has_single_value__a_empty"] = Case(
        post.assign(x="d"), "x", ["d"], "y", [1], POST, "p", "g", ["f1"]
    )
    c["sensitive_value_absent_from_data"] = Case(post, "x", ["zzz"], "y", [1], group="g")
    c["no_positive_predictions__whole_report_raises"] = Case(
        post.assign(p=0), "x", ["d"], "y", [1], POST, "p", "g", ["f1"]
    )
    fn = pd.DataFrame({"x": ["a", "d"] * 30, "y": [1] * 60, "p": [0] * 59 + [1]})
    c["all_but_one_false_negative__GE_large"] = Case(fn, "x", ["d"], "y", [1], POST, "p", metrics=["GE"])
    tiny = pd.DataFrame({"x": ["a", "d"] * 5, "y": [0, 1, 1, 0, 1, 1, 0, 0, 1, 0]})
    c["tiny_int_label_is_classified_continuous__threshold_semantics"] = Case(
        tiny, "x", ["d"], "y", [1], metrics=["CI", "DPL"]
    )
    tiny2 = tiny.assign(y=[0, 1, 2, 0, 1, 2, 0, 0, 1, 2])
    c["tiny_int_label_with_two_positive_values_is_categorical"] = Case(
        tiny2, "x", ["d"], "y", [1, 2], metrics=["CI", "DPL"]
    )
    c["label_value_or_threshold_tiny_int_label"] = Case(tiny, "x", ["d"], "y", [1], metrics=["CI"])
    c["int_age_low_uniqueness__categorical_value_40"] = Case(
        _ages(False), "age", [40], "y", [1], metrics=["CI", "DPL"]
    )
    c["float_age__continuous_threshold_40"] = Case(_ages(True), "age", [40], "y", [1], metrics=["CI", "DPL"])
    c["continuous_facet_without_threshold_raises"] = Case(_ages(True), "age", None, "y", [1], metrics=["CI"])
    c["continuous_facet_two_values_becomes_categorical"] = Case(
        _ages(True), "age", [40.0, 41.0], "y", [1], metrics=["CI"]
    )
    c["continuous_facet_threshold_as_string"] = Case(_ages(True), "age", ["40"], "y", [1], metrics=["CI"])
    c["continuous_facet_threshold_at_max__d_empty"] = Case(
        _ages(True), "age", [80.0], "y", [1], metrics=["CI", "KL"]
    )
    cont = pd.DataFrame(
        {
            "x": ["a", "d"] * 6,
            "y": np.linspace(1.0, 12.0, 12),
            "p": np.linspace(0.5, 11.5, 12),
            "f": np.arange(12.0),
        }
    )
    c["continuous_label_threshold_above_label_max"] = Case(
        cont, "x", ["d"], "y", [200], metrics=["CDDL", "CI", "DPL", "KL"]
    )
    c["continuous_label_and_prediction_threshold_5"] = Case(
        cont, "x", ["d"], "y", [5], POST, "p", None, ["f"]
    )
    c["continuous_label_but_categorical_prediction_raises"] = Case(
        cont.assign(p=["yes", "no"] * 6), "x", ["d"], "y", [5], POST, "p", None, ["f"]
    )
    nanf = pd.DataFrame({"x": [np.nan, "a", "d", "a", "d", "a", np.nan, "d"], "y": [1, 0, 1, 0, 0, 1, 1, 1]})
    c["nan_in_categorical_facet_each_value"] = Case(nanf, "x", None, "y", [1], metrics=["CI", "DPL"])
    nanl = pd.DataFrame({"x": ["a", "d"] * 30, "y": [1.0, 0.0, np.nan] * 20})
    c["nan_in_label_float_dtype_becomes_continuous"] = Case(nanl, "x", ["d"], "y", [1], metrics=["CI", "DPL"])
    strl = post.assign(y=post["y"].map({1: "yes", 0: "no"}), p=post["p"].map({1: "yes", 0: "no"}))
    c["string_labels"] = Case(strl, "x", ["d"], "y", ["yes"], POST, "p", metrics=["AD", "DI", "DPPL"])
    big = post
    c["int_label_given_string_positive_value"] = Case(big, "x", ["d"], "y", ["1"], metrics=["DPL"])
    c["pred_positive_values_differ_from_label_raises"] = Case(
        post, "x", ["d"], "y", [1], POST, "p", metrics=["AD"], predicted_values=[0]
    )
    c["unknown_metric_name_raises"] = Case(post, "x", ["d"], "y", [1], metrics=["XX"])
    c["FT_with_non_numeric_feature_column"] = Case(
        post, "x", ["d"], "y", [1], POST, "p", None, ["f1", "g"], ["FT"]
    )
    return c


CASES = _cases()


@pytest.fixture
def stored(clarify_examples) -> dict:
    return json.loads((clarify_examples / "smclarify_edge_cases.json").read_text())["cases"]


def test_every_stored_case_is_rebuilt(stored):
    assert set(CASES) == set(stored)


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_case_matches_smclarify(name, stored):
    status, oracle = assert_same(CASES[name])
    if "raises" in stored[name]:
        assert status == "error" and oracle == stored[name]["raises"]


def test_label_value_or_threshold_matches_smclarify():
    from smclarify.bias.report import label_value_or_threshold

    for frame, values in (
        (CASES["label_value_or_threshold_tiny_int_label"].frame, [1]),
        (_ages(True).assign(y=np.arange(2520.0), x="k"), [50]),
        (_small_post(), [1]),
        (_small_post(), [0, 1]),
    ):
        out = bias_section(
            frame,
            stage="pre_training",
            label="y",
            label_values_or_threshold=list(values),
            facets=[FacetSpec("x", None)],
            methods=["CI"],
        )
        assert out["label_value_or_threshold"] == label_value_or_threshold(frame["y"], list(values))


def test_unknown_metric_is_a_config_error():

    with pytest.raises(ValueError, match="Invalid metric_name"):
        bias_section(
            _small_post(),
            stage="pre_training",
            label="y",
            label_values_or_threshold=[1],
            facets=[FacetSpec("x", ["d"])],
            methods=["DPPL"],
        )


def test_errors_are_dataset_errors():
    from analyzer.errors import DatasetError

    status, text = run_ours(CASES["no_positive_predictions__whole_report_raises"])
    assert status == "error" and text.startswith("No Label values are present")
    with pytest.raises(DatasetError, match="Facet column nope is not present in the dataset"):
        bias_section(
            _small_post(),
            stage="pre_training",
            label="y",
            label_values_or_threshold=[1],
            facets=[FacetSpec("nope", None)],
        )
    with pytest.raises(DatasetError, match="Positive label values or thresholds are empty for Label column"):
        bias_section(
            _small_post(),
            stage="pre_training",
            label="y",
            label_values_or_threshold=[],
            facets=[FacetSpec("x", None)],
        )
