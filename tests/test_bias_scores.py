"""scores_to_labels and the probability_threshold path of post-training bias."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _bias_helpers import diff_reports

from analyzer.bias import FacetSpec, bias_section, scores_to_labels


def test_binary_scores_use_strict_threshold():
    scores = np.array([0.1, 0.8, 0.80001, 0.5, 0.95])
    assert scores_to_labels(scores, 0.8, None).tolist() == [0, 0, 1, 0, 1]
    assert scores_to_labels(scores.reshape(-1, 1), None, None).tolist() == [0, 1, 1, 0, 1]


def test_multi_column_scores_take_argmax_through_headers():
    scores = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    assert scores_to_labels(scores, 0.5, None).tolist() == [1, 0, 2]
    assert scores_to_labels(scores, 0.5, ["cat", "dog", "fish"]).tolist() == ["dog", "cat", "fish"]


def test_score_column_is_thresholded_like_precomputed_labels(clarify_examples):
    frame = pd.read_csv(clarify_examples / "smclarify_dataset_1000.csv")
    rng = np.random.default_rng(1)
    # scores above 0.8 exactly where pred == 1
    scores = np.where(
        frame["pred"] == 1, rng.uniform(0.8001, 1.0, len(frame)), rng.uniform(0.0, 0.8, len(frame))
    )
    kwargs = dict(
        stage="post_training",
        label="label",
        label_values_or_threshold=[1],
        facets=[FacetSpec("gender", None)],
        methods=["DPPL", "DI", "AD", "FT"],
        ft_features=["income"],
    )
    expected = bias_section(frame, predicted_label="pred", **kwargs)
    got = bias_section(frame.assign(pred=scores), predicted_label="pred", probability_threshold=0.8, **kwargs)
    assert not diff_reports(expected["facets"]["gender"], got["facets"]["gender"])
    at_default = bias_section(frame.assign(pred=scores), predicted_label="pred", **kwargs)
    assert diff_reports(
        expected["facets"]["gender"], at_default["facets"]["gender"]
    )  # 0.5 is a different cut


def test_known_type_traps_are_logged(caplog):
    rng = np.random.default_rng(2)
    n = 3000
    frame = pd.DataFrame({"age": rng.integers(18, 81, n), "y": rng.integers(0, 2, n).astype(float)})
    with caplog.at_level("WARNING", logger="analyzer.bias"):
        out = bias_section(
            frame,
            stage="pre_training",
            label="y",
            label_values_or_threshold=[1],
            facets=[FacetSpec("age", [40])],
            methods=["CI", "DPL"],
        )
    text = caplog.text
    assert "Label column y has a float dtype" in text
    assert "Integer column age has 63 distinct values" in text
    # and the engine still does what Clarify does: age == 40, no positive label
    assert out["facets"]["age"][0]["value_or_threshold"] == "40"
    assert out["label_value_or_threshold"] == ""
