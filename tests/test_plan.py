"""The analysis plan: every setting resolved once from the config and the dataset header."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _model_client_helpers import FakeServer, Request

from analyzer.config import AnalysisConfig, parse_config
from analyzer.datasets.header import DatasetHeader, read_header
from analyzer.endpoint import EndpointHandle
from analyzer.errors import ConfigError, DatasetError, NotSupportedError
from analyzer.model_client import HttpTransport, ModelClient, SageMakerRuntimeTransport
from analyzer.plan import (
    BiasJob,
    ClientSettings,
    ClusteredBaseline,
    InlineBaseline,
    PdpJob,
    ShapJob,
    UriBaseline,
)
from analyzer.plan.build import PlanOptions, build_plan, plan_problems

FTE = "methods.shap.features_to_explain"
HEADER = DatasetHeader(columns=("y", "age", "sex", "income", "id"))


def _config(**overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "dataset_type": "text/csv",
        "label": "y",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}],
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": ["DPPL", "di"]},
            "shap": {"baseline": [[30, 0, 10]], "num_samples": 20},
            "pdp": {"features": ["income"]},
            "report": {"name": "report"},
        },
        "excluded_columns": ["id"],
        "predictor": {"endpoint_name": "ep", "probability": 1},
    }
    cfg.update(overrides)
    return cfg


def _plan(data: dict[str, Any], header: DatasetHeader = HEADER, **options: Any):
    return build_plan(parse_config(data), header, "data.csv", PlanOptions(**options))


def test_defaults_live_in_the_plan_once() -> None:
    plan = _plan(_config())
    post, pre, shap, pdp = plan.jobs
    assert isinstance(post, BiasJob) and post.stage == "post_training" and post.needs_model
    assert isinstance(pre, BiasJob) and pre.stage == "pre_training" and not pre.needs_model
    assert post.probability_threshold == 0.5 and pre.probability_threshold is None
    assert post.metrics == ("DI", "DPPL") and "CDDL" in pre.metrics
    assert [f.column for f in pre.facets] == ["sex"] and pre.facets[0].value_or_threshold == (0,)
    assert isinstance(shap, ShapJob)
    assert (shap.agg_method, shap.use_logit, shap.link, shap.save_local_shap_values) == (
        "mean_abs", False, "identity", False
    )
    assert shap.estimator == "clarify" and shap.num_samples == 20 and shap.seed is None
    assert shap.features == ("age", "sex", "income") and shap.explained is None
    assert isinstance(shap.baseline, InlineBaseline)
    assert isinstance(pdp, PdpJob) and (pdp.features, pdp.grid_resolution, pdp.top_k_features) == (
        ("income",), 15, 10
    )
    assert plan.report is not None and (plan.report.name, plan.report.title, plan.report.tolerance) == (
        "report", "SageMaker Analysis Report", 0.1
    )
    assert plan.dataset.feature_columns == ("age", "sex", "income")
    assert plan.dataset.excluded_columns == ("id",)
    assert plan.needs_model and plan.model is not None


def test_given_values_win_over_the_defaults() -> None:
    data = _config(probability_threshold=0.8)
    data["methods"]["shap"].update(
        {"agg_method": "median", "use_logit": True, "save_local_shap_values": True, "seed": 3}
    )
    data["methods"]["pdp"] = {"grid_resolution": 7, "top_k_features": 2}
    data["methods"]["report"] = {"name": "r", "title": "T"}
    plan = _plan(data, shap_estimator="leverage", report_tolerance=0.2)
    post = plan.bias_job("post_training")
    shap = plan.job(ShapJob)
    pdp = plan.job(PdpJob)
    assert post is not None and post.probability_threshold == 0.8
    assert shap is not None and (shap.agg_method, shap.link, shap.save_local_shap_values, shap.seed) == (
        "median", "logit", True, 3
    )
    assert shap.estimator == "leverage"
    assert pdp is not None and (pdp.features, pdp.grid_resolution, pdp.top_k_features) == (None, 7, 2)
    assert plan.report is not None and (plan.report.name, plan.report.title, plan.report.tolerance) == (
        "r", "T", 0.2
    )


def test_the_plan_is_frozen() -> None:
    plan = _plan(_config())
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.jobs = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.dataset.label = "x"  # type: ignore[misc]


def test_baseline_sources() -> None:
    data = _config()
    data["methods"]["shap"] = {"baseline": "s3://b/baseline.csv"}
    assert _plan(data).job(ShapJob).baseline == UriBaseline("s3://b/baseline.csv")  # type: ignore[union-attr]
    data["methods"]["shap"] = {"num_clusters": 3}
    assert _plan(data).job(ShapJob).baseline == ClusteredBaseline(3)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        (
            "shap.features_to_explain",
            ["income", "incme"],
            "Feature names not found. methods.shap.features_to_explain: 'incme' is not one of the features "
            "['age', 'sex', 'income']",
        ),
        ("shap.features_to_explain", [5], f"{FTE}: feature index 5 is out of range"),
        ("shap.features_to_explain", ["age", 0], f"{FTE}: feature 'age' is listed twice"),
        (
            "pdp.features",
            ["incme"],
            "Feature names not found. methods.pdp.features: 'incme' is not one of the features",
        ),
    ],
)
def test_feature_typos_are_found_by_the_plan(section: str, value: list[Any], message: str) -> None:
    data = _config()
    method, key = section.split(".")
    data["methods"][method][key] = value
    problems = plan_problems(parse_config(data), HEADER, "data.csv")
    assert len(problems) == 1 and problems[0].startswith(message)
    with pytest.raises(ConfigError) as info:
        _plan(data)
    assert str(info.value) == problems[0]


def test_column_problems_are_dataset_errors_with_clarify_texts() -> None:
    data = _config(label="target")
    data["facet"] = [{"name_or_index": "gender"}]
    with pytest.raises(DatasetError) as info:
        _plan(data)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("Headers must contain label. Label 'target' is not one of the headers")
    assert lines[1].startswith("Unable to locate the facet. Facet 'gender' is not one of the headers")


def test_post_training_with_predicted_labels_in_the_data_needs_no_model() -> None:
    data = _config(predicted_label="id")
    del data["excluded_columns"]
    data["methods"] = {"post_training_bias": {"methods": "all"}}
    del data["predictor"]
    plan = _plan(data)
    job = plan.bias_job("post_training")
    assert job is not None and job.predicted_label == "id" and not job.needs_model
    assert not plan.needs_model and plan.model is None
    assert plan.dataset.feature_columns == ("age", "sex", "income")


# --------------------------------------------------------------------------- client


def test_client_settings_resolved_from_predictor_and_dataset_type() -> None:
    data = _config(dataset_type="application/jsonlines", features="f", label="y")
    data["methods"] = {"shap": {"baseline": [[0, 0, 0, 0]]}}
    del data["facet"], data["label_values_or_threshold"]
    data["predictor"] = {"endpoint_name": "ep", "content_template": '{"f":$features}', "probability": "score"}
    del data["excluded_columns"]
    header = DatasetHeader(columns=("a", "b", "c", "d", "y"), label_column="y")
    client = _plan(data, header).model.client  # type: ignore[union-attr]
    assert (client.content_type, client.accept_type) == ("application/jsonlines", "application/jsonlines")
    assert client.score_locator == "score" and client.label is None
    limits = (client.max_payload_bytes, client.request_timeout, client.max_retries)
    assert limits == (6 * 1024 * 1024, 60.0, 5)


def test_score_locator_is_probability_else_label() -> None:
    """Clarify: the SDK's run_explainability(model_scores=1) writes predictor.label: 1."""
    assert ClientSettings(label=1).score_locator == 1
    assert ClientSettings(label=0, probability=1).score_locator == 1
    assert ClientSettings().score_locator is None
    data = _config(predictor={"endpoint_name": "ep", "label": "1"})
    assert _plan(data).model.client.score_locator == 1  # type: ignore[union-attr]


def test_locator_and_template_problems_name_the_key() -> None:
    data = _config(predictor={"endpoint_name": "ep", "probability": "score"})
    assert plan_problems(parse_config(data), HEADER, "d") == [
        "predictor.probability: 'score' must be a column index for accept_type text/csv"
    ]
    data = _config(predictor={"endpoint_name": "ep", "accept_type": "application/json", "label": "[[["})
    [problem] = plan_problems(parse_config(data), HEADER, "d")
    assert problem.startswith("predictor.label: '[[[' is not a valid JMESPath expression")
    data = _config(
        predictor={
            "endpoint_name": "ep",
            "content_type": "application/json",
            "content_template": '{"instances": $records}',
            "record_template": '{"age": "${age}", "inc": "${incme}"}',
        }
    )
    assert plan_problems(parse_config(data), HEADER, "d") == [
        "predictor.record_template refers to feature 'incme', which is not one of the feature names "
        "['age', 'sex', 'income']"
    ]


def test_image_requests_need_images_and_template_mappings_are_not_supported() -> None:
    data = _config(predictor={"endpoint_name": "ep", "content_type": "image/jpeg"})
    with pytest.raises(ConfigError, match="image/jpeg requests carry images; they need dataset_type"):
        _plan(data)
    data = _config(predictor={"endpoint_name": "ep", "content_template": {"a": "$features"}})
    with pytest.raises(NotSupportedError, match="mapping"):
        _plan(data)


def test_client_for_a_named_endpoint_uses_the_runtime_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    handle = EndpointHandle(endpoint_name="ep", region="eu-west-1")
    with ModelClient.for_endpoint(handle, ClientSettings(), feature_names=["a"]) as client:
        assert isinstance(client.transport, SageMakerRuntimeTransport)
    with ModelClient.for_endpoint(EndpointHandle(urls=("http://127.0.0.1:9",)), ClientSettings(),
                                  feature_names=["a"]) as client:
        assert isinstance(client.transport, HttpTransport)


def test_json_predictor_round_trip_with_label_headers() -> None:
    """Settings built by the plan drive a real JSON exchange, label_headers mapping the arg-max."""

    def model(req: Request, index: int) -> tuple[int, str]:
        doc = json.loads(req.body)
        preds = [{"scores": [0.2, 0.8] if r["x"] > 0 else [0.9, 0.1]} for r in doc["instances"]]
        return 200, json.dumps({"predictions": preds})

    data = {
        "dataset_type": "text/csv",
        "methods": {"pdp": {"features": ["x"]}},
        "predictor": {
            "endpoint_name": "ep",
            "content_type": "application/json",
            "content_template": '{"instances": $records}',
            "record_template": '{"x": "${x}"}',
            "probability": "predictions[*].scores",
            "label_headers": ["no", "yes"],
        },
    }
    plan = _plan(data, DatasetHeader(columns=("x",)))
    assert plan.model is not None
    server = FakeServer(model)
    try:
        handle = EndpointHandle(urls=(server.url,))
        with ModelClient.for_endpoint(handle, plan.model.client, feature_names=["x"], progress=False) as c:
            labels = c.predict_labels(np.array([[1.0], [-2.0], [3.0]]))
    finally:
        server.stop()
    assert labels.tolist() == ["yes", "no", "yes"]


# --------------------------------------------------------------------------- header


def test_header_of_every_format_matches_the_loaded_columns(tmp_path: Path) -> None:
    from analyzer.dataset import load_dataset

    frame = pd.DataFrame({"y": [0, 1, 1], "a": [1.5, 2.5, 3.5], "b": ["u", "v", "w"]})
    csv_path = tmp_path / "d.csv"
    frame.to_csv(csv_path, index=False)
    parquet_path = tmp_path / "d.parquet"
    frame.set_index("y").to_parquet(parquet_path)  # pandas index metadata: 'y' becomes the index
    jsonl_path = tmp_path / "d.jsonl"
    jsonl_path.write_text("\n".join(json.dumps({"f": [r.a, r.b], "t": int(r.y)}) for r in frame.itertuples()))
    cases = [
        ({"dataset_type": "text/csv", "label": "y"}, csv_path, ("y", "a", "b"), None),
        ({"dataset_type": "application/x-parquet"}, parquet_path, ("a", "b"), None),
        (
            {"dataset_type": "application/jsonlines", "features": "f", "label": "t",
             "headers": ["a", "b", "y"]},
            jsonl_path,
            ("a", "b", "y"),
            "y",
        ),
    ]
    for data, path, columns, label_column in cases:
        cfg = AnalysisConfig.model_validate({**data, "methods": {"report": {"name": "r"}}})  # schema only
        header = read_header(cfg, str(path))
        assert header.columns == columns and header.label_column == label_column
        assert tuple(load_dataset(cfg, path).frame.columns) == columns
