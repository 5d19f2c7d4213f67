"""predicted_label_dataset_uri, facet_dataset_uri, joinsource, excluded_columns and column roles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _dataset_helpers import aws, cfg, csv_bytes, csv_text  # noqa: F401

from analyzer.dataset import load_dataset


@pytest.fixture
def main_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 30
    return pd.DataFrame(
        {
            "Label": rng.integers(0, 2, n),
            "F1": rng.integers(0, 3, n),
            "F2": rng.normal(size=n).round(4),
            "F3": rng.choice(["a", "b"], n),
            "F4": np.arange(100, 100 + n),  # the join column
        }
    )


def _write(tmp_path, name, frame, header=True):
    path = tmp_path / name
    path.write_bytes(csv_bytes(frame, header=header))
    return str(path)


def test_main_dataset_roles_and_feature_order(tmp_path, main_frame):
    uri = _write(tmp_path, "d.csv", main_frame)
    ds = load_dataset(
        cfg(
            dataset_type="text/csv",
            label="Label",
            facet=["F1"],
            group_variable=2,
            joinsource_name_or_index="F4",
            excluded_columns=["F3"],
        ),
        uri,
    )
    assert ds.feature_names == ["F1", "F2"]
    assert (ds.label, ds.group_variable, ds.join_column) == ("Label", "F2", "F4")
    assert ds.facet_columns == {"F1": "F1"}
    assert ds.predicted_label is None
    assert ds.uri == uri


def test_predicted_label_dataset_joined_on_joinsource_in_main_order(tmp_path, main_frame):
    uri = _write(tmp_path, "d.csv", main_frame.drop(columns=[]), header=False)
    preds = pd.DataFrame({"F4": main_frame["F4"], "PredictedLabel": 1 - main_frame["Label"]})
    preds = preds.sample(frac=1, random_state=1).iloc[:-3]  # shuffled, 3 rows missing
    folder = tmp_path / "preds"
    folder.mkdir()
    _write(folder, "part-0.csv", preds.iloc[:10], header=False)
    _write(folder, "part-1.csv", preds.iloc[10:], header=False)
    c = cfg(
        dataset_type="text/csv",
        headers=list(main_frame.columns),
        label="Label",
        predicted_label_dataset_uri=str(folder),
        predicted_label_headers=["F4", "PredictedLabel"],
        predicted_label="PredictedLabel",
        joinsource_name_or_index="F4",
    )
    ds = load_dataset(c, uri)
    kept = main_frame[main_frame["F4"].isin(preds["F4"])].reset_index(drop=True)
    assert ds.n_rows == len(kept) == len(main_frame) - 3
    assert ds.predicted_label == "PredictedLabel"
    np.testing.assert_array_equal(ds.frame["F4"], kept["F4"])
    np.testing.assert_array_equal(ds.frame["PredictedLabel"], 1 - kept["Label"])
    assert ds.feature_names == ["F1", "F2", "F3"]


def test_predicted_label_dataset_row_aligned_by_index_without_join(tmp_path, main_frame):
    uri = _write(tmp_path, "d.csv", main_frame)
    preds = _write(
        tmp_path, "p.csv", pd.DataFrame({"score": main_frame["F2"], "p": main_frame["Label"]}), header=False
    )
    c = cfg(dataset_type="text/csv", label="Label", predicted_label_dataset_uri=preds, predicted_label=1)
    ds = load_dataset(c, uri)
    assert ds.predicted_label == "column_1"
    np.testing.assert_array_equal(ds.frame["column_1"], main_frame["Label"])
    assert "column_0" not in ds.frame.columns


def test_predicted_label_default_name_and_name_clash(tmp_path, main_frame):
    uri = _write(tmp_path, "d.csv", main_frame)
    preds = _write(tmp_path, "p.csv", pd.DataFrame({"Label": 1 - main_frame["Label"]}))
    c = cfg(
        dataset_type="text/csv",
        label="Label",
        predicted_label_dataset_uri=preds,
        predicted_label_headers=["Label"],
    )
    ds = load_dataset(c, uri)
    assert ds.predicted_label == "Label_predicted"
    np.testing.assert_array_equal(ds.frame["Label_predicted"], 1 - main_frame["Label"])
    np.testing.assert_array_equal(ds.frame["Label"], main_frame["Label"])


def test_facet_dataset_joined_and_not_sent_to_model(tmp_path, main_frame):
    uri = _write(tmp_path, "d.csv", main_frame)
    facets = pd.DataFrame(
        {
            "F4": main_frame["F4"][::-1].to_numpy(),
            "Gender": (main_frame["F1"] > 0)[::-1].astype(int).to_numpy(),
            "Age": np.arange(len(main_frame)),
        }
    )
    furi = _write(tmp_path, "f.csv", facets, header=False)
    c = cfg(
        dataset_type="text/csv",
        label="Label",
        facet=["Gender", 2],
        group_variable="Age",
        facet_dataset_uri=furi,
        facet_headers=["F4", "Gender", "Age"],
        joinsource_name_or_index="F4",
    )
    ds = load_dataset(c, uri)
    assert ds.facet_columns == {"Gender": "Gender", 2: "Age"}
    assert ds.group_variable == "Age"
    assert ds.feature_names == ["F1", "F2", "F3"]
    np.testing.assert_array_equal(ds.frame["Gender"], (main_frame["F1"] > 0).astype(int))
    np.testing.assert_array_equal(ds.frame["F4"], main_frame["F4"])


def test_facet_dataset_from_s3(aws, tmp_path, main_frame):  # noqa: F811
    uri = _write(tmp_path, "d.csv", main_frame)
    aws.put_object(Bucket="bucket", Key="facets.csv", Body=csv_text([[g] for g in main_frame["F1"] % 2]))
    c = cfg(dataset_type="text/csv", label="Label", facet=[0], facet_dataset_uri="s3://bucket/facets.csv")
    ds = load_dataset(c, uri)
    assert ds.facet_columns == {0: "column_0"}
    np.testing.assert_array_equal(ds.frame["column_0"], main_frame["F1"] % 2)


def test_jsonlines_predicted_label_excluded_columns_and_join(tmp_path):
    lines = [
        '{"features": [1, 0.5, "x", 7], "label": 1, "pred": 0}',
        '{"features": [0, 1.5, "y", 8], "label": 0, "pred": 0}',
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines))
    c = cfg(
        dataset_type="application/jsonlines",
        features="features",
        label="label",
        predicted_label="pred",
        headers=["A", "B", "C", "id", "Target", "Pred"],
        excluded_columns=[2],
        joinsource_name_or_index="id",
        facet=["A"],
    )
    ds = load_dataset(c, path)
    assert list(ds.frame.columns) == ["A", "B", "C", "id", "Target", "Pred"]
    assert (ds.label, ds.predicted_label, ds.join_column) == ("Target", "Pred", "id")
    assert ds.feature_names == ["A", "B"]
    assert ds.frame["Pred"].tolist() == [0, 0]


def test_json_headers_default_and_feature_names_only(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[{"Features": [1, 2], "Label": 1}, {"Features": [3, 4], "Label": 0}]')
    ds = load_dataset(cfg(dataset_type="application/json", features="[*].Features", label="[*].Label"), path)
    assert list(ds.frame.columns) == ["column_0", "column_1", "column_2"]
    assert ds.label == "column_2"
    c = cfg(dataset_type="application/json", features="[*].Features", label="[*].Label", headers=["a", "b"])
    ds = load_dataset(c, path)
    assert list(ds.frame.columns) == ["a", "b", "label"] and ds.label == "label"
    np.testing.assert_array_equal(ds.features(), [[1.0, 2.0], [3.0, 4.0]])


def test_join_keys_of_different_types_still_match(tmp_path):
    main = tmp_path / "main.csv"
    main.write_bytes(b"id,y,a\n1,0,5\n2,1,6\n3,1,7\n")
    preds = tmp_path / "preds.csv"
    preds.write_bytes(b"id,p\n3.0,1\n1.0,0\n,1\n")  # float keys (a missing one)
    facets = tmp_path / "facets.csv"
    facets.write_bytes(b"id,g\nid-x,0\n2,1\n1,0\n3,1\n")  # string keys
    c = cfg(
        dataset_type="text/csv",
        label="y",
        joinsource_name_or_index="id",
        predicted_label="p",
        predicted_label_dataset_uri=str(preds),
        facet_dataset_uri=str(facets),
        facet=["g"],
    )
    ds = load_dataset(c, main)
    assert ds.frame[["id", "y", "a", "p", "g"]].values.tolist() == [[1, 0, 5, 0, 0], [3, 1, 7, 1, 1]]
