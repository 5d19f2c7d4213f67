"""Text SHAP outputs: out.jsonl against the real Clarify line, analysis.json sections, columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analyzer.explain.text import (
    TextShapSpec,
    explain_text,
    feature_data_types,
    global_top_shap_text,
    infer_text_columns,
    text_baseline,
    text_baseline_problems,
    text_shap_section,
)
from analyzer.explain.text.engine import TextRecordShap, TextShapResult
from analyzer.explain.text.segment import TextUnit
from analyzer.output import dumps_analysis
from analyzer.text_output import jsonl_lines, write_text_outputs
from tests.conftest import CLARIFY_EXAMPLES
from tests.test_text_shap import toy_model

REAL_LINE = (
    CLARIFY_EXAMPLES
    / "local_outputs"
    / ("real_text_sentence_granularity__explanations_shap_out.jsonl__first_line.json")
)
SDK_FIXTURE = (
    CLARIFY_EXAMPLES
    / "analysis_json"
    / ("sdk_test_fixture__model_card__kernel_shap_global_top_shap_text_and_pdp__analysis.json")
)


def structure(value: object) -> object:
    """Keys (in order) and value types, recursively; lists by their first element."""
    if isinstance(value, dict):
        return [(k, structure(v)) for k, v in value.items()]
    if isinstance(value, list):
        return ["list", structure(value[0]) if value else None]
    return "number" if isinstance(value, int | float) else type(value).__name__


def test_out_jsonl_line_matches_the_real_clarify_line() -> None:
    real = json.loads(REAL_LINE.read_text())
    units = real["explanations"][0]["attributions"]
    review = " ".join(u["description"]["partial_text"] for u in units)

    def model(rows: np.ndarray) -> np.ndarray:
        return np.array([[min(1.0, 0.2 + len(r[0]) / 1000)] for r in rows.tolist()])

    result = explain_text(
        np.array([[review]], dtype=object),
        np.array([["<UNK>"]], dtype=object),
        model,
        TextShapSpec("sentence", "en", (0,)),
    )
    line = next(jsonl_lines(result, ["Review Text"], ["free_text"]))
    ours = json.loads(line)
    assert structure(ours) == structure(real)
    assert ours["explanations"][0]["data_type"] == "free_text"
    assert ours["explanations"][0]["feature_name"] == "Review Text"
    assert [a["description"] for a in ours["explanations"][0]["attributions"]] == [
        a["description"] for a in units
    ]
    assert "\n" not in line


def _result() -> TextShapResult:
    def rec(units, text_values, feature_values, expected):
        return TextRecordShap(
            units=[[TextUnit(s, t) for s, t in units]],
            text_values=[np.array(text_values, dtype=float).reshape(len(units), 2)],
            feature_values=np.array(feature_values, dtype=float).reshape(-1, 2),
            expected_value=np.array(expected, dtype=float),
            fx=np.zeros(2),
            coalitions=0,
        )

    records = [
        rec([(0, "good"), (5, "fit")], [[0.4, -0.4], [0.1, -0.1]], [[0.2, -0.2], [0.0, 0.0]], [0.5, 0.5]),
        rec([(0, "bad"), (4, "good")], [[-0.6, 0.6], [0.2, -0.2]], [[-0.1, 0.1], [0.3, -0.3]], [0.3, 0.7]),
        rec([], [], [[0.05, -0.05], [0.0, 0.0]], [0.4, 0.6]),
    ]
    return TextShapResult(records, text_columns=(1,), feature_columns=(0, 2), n_outputs=2)


NAMES = ["votes", "review", "colour"]
TYPES = ["numerical", "free_text", "categorical"]


def test_non_text_features_and_join_values() -> None:
    lines = [
        json.loads(x) for x in jsonl_lines(_result(), NAMES, TYPES, join_values=["a", np.int64(7), None])
    ]
    assert [x["join_source_value"] for x in lines] == ["a", 7, None]
    first = lines[0]["explanations"]
    assert [e["feature_name"] for e in first] == NAMES
    assert [list(e) for e in first] == [["attributions", "data_type", "feature_name"]] * 3
    assert first[0]["attributions"] == [{"attribution": [0.2, -0.2]}]
    assert first[1]["attributions"][1] == {
        "attribution": [0.1, -0.1],
        "description": {"partial_text": "fit", "start_idx": 5},
    }
    assert lines[2]["explanations"][1]["attributions"] == []
    assert "join_source_value" not in json.loads(next(jsonl_lines(_result(), NAMES, TYPES)))
    with pytest.raises(ValueError, match="2 join values for 3 records"):
        list(jsonl_lines(_result(), NAMES, TYPES, join_values=[1, 2]))


def test_global_top_shap_text_aggregation() -> None:
    result = _result()
    top = global_top_shap_text(result, NAMES, "mean_abs", 50)
    # "good": |0.4| and |0.2| -> 0.3; "bad": 0.6; "fit": 0.1
    assert top["label0"]["review"] == {"bad": 0.6, "good": pytest.approx(0.3), "fit": 0.1}
    assert list(top["label0"]["review"]) == ["bad", "good", "fit"]
    median = global_top_shap_text(result, NAMES, "median", 2, label_headers=["yes", "no"])
    assert median["yes"]["review"] == {"good": pytest.approx(0.3), "fit": 0.1}
    assert median["no"]["review"] == {"bad": 0.6, "fit": -0.1}
    sq = global_top_shap_text(result, NAMES, "mean_sq", 1)
    assert sq["label1"]["review"] == {"bad": pytest.approx(0.36)}
    with pytest.raises(ValueError, match="max_top_tokens"):
        global_top_shap_text(result, NAMES, "mean_abs", -1)


def test_kernel_shap_section() -> None:
    section = text_shap_section(_result(), NAMES, "mean_abs", 2)
    assert list(section) == ["label0", "label1"]
    body = section["label0"]
    assert list(body) == ["global_shap_values", "expected_value", "global_top_shap_text"]
    assert list(body["global_shap_values"]) == NAMES
    # the text feature's per-record value is the sum over its units: 0.5, -0.4, 0 -> mean_abs 0.3
    assert body["global_shap_values"]["review"] == pytest.approx(0.3)
    assert body["global_shap_values"]["votes"] == pytest.approx((0.2 + 0.1 + 0.05) / 3)
    assert body["expected_value"] == pytest.approx(0.4)
    assert body["global_top_shap_text"] == {"review": {"bad": 0.6, "good": pytest.approx(0.3)}}
    # same shape as the SDK fixture's section
    fixture = json.loads(SDK_FIXTURE.read_text())["explanations"]["kernel_shap"]["label0"]
    assert list(fixture) == list(body)
    assert all(isinstance(v, dict) for v in fixture["global_top_shap_text"].values())
    text = dumps_analysis({"version": "1.0", "explanations": {"kernel_shap": section}})
    assert json.loads(text)["explanations"]["kernel_shap"]["label1"]["global_top_shap_text"]["review"]


def test_write_text_outputs(tmp_path) -> None:
    records = np.array([[3.0, "good fit, really", "red"], [1.0, "bad", "blue"]], dtype=object)
    baseline = pd.DataFrame([[0.0, "[MASK]", "red"]], columns=NAMES)
    result = explain_text(
        records, baseline.to_numpy(object), toy_model, TextShapSpec("token", "en", (1,), seed=0)
    )
    paths = write_text_outputs(tmp_path, result, NAMES, TYPES, baseline, join_values=[10, 11])
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "explanations_shap/baseline.csv",
        "explanations_shap/out.jsonl",
    ]
    lines = (tmp_path / "explanations_shap" / "out.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["join_source_value"] == 11
    assert (tmp_path / "explanations_shap" / "baseline.csv").read_text() == "0.0,[MASK],red\n"
    assert [
        p.name for p in write_text_outputs(tmp_path / "b", result, NAMES, TYPES, baseline, save_local=False)
    ] == ["baseline.csv"]
    assert not list((tmp_path / "explanations_shap").glob(".*"))  # no temporary files left


def test_infer_text_columns_and_types() -> None:
    frame = pd.DataFrame(
        {
            "votes": [1, 2, 3],
            "colour": ["red", "light blue", "red"],
            "review": ["Nice dress, fits well", "Too small for me", "ok"],
            "title": ["Nice", "Small", "Fine"],
        }
    )
    assert infer_text_columns(frame) == [2]
    given = pd.DataFrame([[0, "red", "[MASK]", "<UNK>"]], columns=frame.columns)
    assert infer_text_columns(frame, given) == [2, 3]
    assert infer_text_columns(frame, declared=["title", 2]) == [2, 3]
    assert feature_data_types(frame, [2]) == ["numerical", "categorical", "free_text", "categorical"]
    assert infer_text_columns(frame[["votes", "colour"]]) == []
    with pytest.raises(ValueError, match="'nope' is not one of the features"):
        infer_text_columns(frame, declared=["nope"])


def test_text_baseline() -> None:
    frame = pd.DataFrame({"votes": [1.0, 2.0, 30.0, 31.0], "review": ["a b c", "d e f", "g", "h"]})
    default = text_baseline(None, frame, [1], num_clusters=2, seed=0)
    assert list(default.columns) == ["votes", "review"]
    assert sorted(default["votes"]) == [1.5, 30.5] and list(default["review"]) == ["", ""]
    only_text = text_baseline(None, frame[["review"]], [0], default_text="<PAD>")
    assert only_text.to_numpy().tolist() == [["<PAD>"]]
    given = pd.DataFrame([[4, np.nan], [3, "[MASK]"]])
    assert text_baseline(given, frame, [1]).to_numpy().tolist() == [[4, ""], [3, "[MASK]"]]
    with pytest.raises(ValueError, match="text feature 'review' needs the replacement string"):
        text_baseline(pd.DataFrame([[4, 5]]), frame, [1])
    with pytest.raises(ValueError, match="rows have 3 values"):
        text_baseline(pd.DataFrame([[4, "", 1]]), frame, [1])
    assert text_baseline_problems(pd.DataFrame([[4, 5], [3, None], [2, "x"]]), ["votes", "review"], [1]) == [
        "row 0: text feature 'review' needs the replacement string of a text unit (e.g. \"[MASK]\"), got 5"
    ]
