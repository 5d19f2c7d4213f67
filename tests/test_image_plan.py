"""Image SHAP in the analysis plan: ImageShapJob from real configs, defaults, and every problem."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analyzer.config import parse_config
from analyzer.datasets.header import DatasetHeader
from analyzer.image_job import image_spec
from analyzer.plan.build import build_plan, plan_problems
from analyzer.plan.images import ImageShapJob
from tests.conftest import CLARIFY_EXAMPLES

DOCS_CONFIGS = CLARIFY_EXAMPLES / "analysis_config" / "docs"
SDK_CONFIG = (
    CLARIFY_EXAMPLES
    / "analysis_config"
    / "sdk_generated"
    / "sdk_run_explainability__shap_image_config__test_shap_with_image_config.json"
)
NO_COLUMNS = DatasetHeader(columns=())


def _doc(**shap: Any) -> dict[str, Any]:
    return {
        "dataset_type": "application/x-image",
        "methods": {"shap": {"image_config": {"model_type": "IMAGE_CLASSIFICATION"}, **shap}},
        "predictor": {
            "model_name": "m",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 1,
            "label_headers": ["a", "b"],
        },
    }


def _problems(doc: dict[str, Any]) -> list[str]:
    return plan_problems(parse_config(doc), NO_COLUMNS, "images/")


@pytest.mark.parametrize(
    "name", ["docs_cv_image_classification_shap.json", "docs_cv_object_detection_shap.json"]
)
def test_job_from_real_configs(name: str) -> None:
    plan = build_plan(parse_config(json.loads((DOCS_CONFIGS / name).read_text())), NO_COLUMNS, "s3://b/img/")
    (job,) = plan.jobs
    assert isinstance(job, ImageShapJob) and plan.needs_model
    assert (job.num_segments, job.segment_compactness) == (20, 10.0)
    assert job.label_headers == ("bird", "cat", "dog")
    assert (job.max_objects, job.iou_threshold, job.context, job.probability_threshold) == (3, 0.5, 1.0, 0.5)
    assert plan.dataset.uri == "s3://b/img/" and plan.dataset.feature_columns == ()
    assert plan.model is not None
    client = plan.model.client
    assert (client.content_type, client.accept_type) == ("image/jpeg", "application/json")
    spec = image_spec(job)
    assert spec.is_detection == (name == "docs_cv_object_detection_shap.json")
    assert spec.label(1) == "cat" and spec.segment_compactness == 10.0


def test_sdk_unit_test_config_is_rejected_by_the_plan() -> None:
    """The SDK's own unit test puts image_config on a CSV dataset: that job cannot run."""
    cfg = parse_config(json.loads(SDK_CONFIG.read_text()))
    problems = plan_problems(cfg, DatasetHeader(columns=("Label", "F1", "F2", "F3", "F4")), "data.csv")
    assert problems[0] == "methods.shap.image_config: needs dataset_type application/x-image, not text/csv"
    assert "predictor.content_type: text/csv cannot carry images" in problems[2]


def test_float_compactness_is_accepted() -> None:
    doc = _doc()
    doc["methods"]["shap"]["image_config"]["segment_compactness"] = 7.5
    (job,) = build_plan(parse_config(doc), NO_COLUMNS, "images/").jobs
    assert isinstance(job, ImageShapJob) and job.segment_compactness == 7.5


def test_defaults_and_shap_settings() -> None:
    doc = _doc(num_samples=50, seed=3, use_logit=True, baseline="s3://b/noise.png")
    doc["methods"]["shap"]["image_config"]["model_type"] = "image_classification"
    (job,) = build_plan(parse_config(doc), NO_COLUMNS, "images/").jobs
    assert job == ImageShapJob(
        model_type="IMAGE_CLASSIFICATION",
        num_samples=50,
        seed=3,
        use_logit=True,
        baseline_uri="s3://b/noise.png",
        label_headers=("a", "b"),
    )
    assert (job.num_segments, job.segment_compactness) == (20, 5.0)
    assert job.feature_extraction_method == "segmentation"


def test_every_problem_is_reported_with_its_key() -> None:
    doc = _doc(baseline=[[0, 0, 0]])
    doc["methods"]["shap"]["image_config"] = {
        "num_segments": 0,
        "segment_compactness": 0,
        "max_objects": 0,
        "iou_threshold": -1,
        "context": 1.5,
    }
    doc["methods"]["pdp"] = {"top_k_features": 3}
    doc["predictor"]["content_type"] = "text/csv"
    doc["probability_threshold"] = 2
    problems = _problems(doc)
    assert problems == [
        "methods.pdp: not available for dataset_type application/x-image (images)",
        "methods.shap.image_config.model_type: required, IMAGE_CLASSIFICATION or OBJECT_DETECTION",
        "methods.shap.image_config.num_segments: must be at least 1, got 0",
        "methods.shap.image_config.segment_compactness: must be greater than 0, got 0",
        "methods.shap.image_config.max_objects: must be at least 1, got 0",
        "methods.shap.image_config.iou_threshold: must be between 0 and 1, got -1",
        "methods.shap.image_config.context: must be between 0 and 1, got 1.5",
        "probability_threshold: must be between 0 and 1 for images, got 2",
        "methods.shap.baseline: for dataset_type application/x-image give the S3 URI (or path) of a mask "
        "image, not list; leave it out for Clarify's white-noise baseline",
        "predictor.content_type: text/csv cannot carry images; use one of image/jpeg, image/png, "
        "application/x-npy",
    ]


def test_image_config_and_image_dataset_need_each_other() -> None:
    doc = _doc()
    del doc["methods"]["shap"]["image_config"]
    assert _problems(doc) == [
        "methods.shap.image_config: required for dataset_type application/x-image (set its model_type)"
    ]
    doc = _doc()
    doc["dataset_type"] = "text/csv"
    doc["headers"] = ["x", "y"]
    doc["label"] = "y"
    problems = plan_problems(parse_config(doc), DatasetHeader(columns=("x", "y")), "data.csv")
    assert "methods.shap.image_config: needs dataset_type application/x-image, not text/csv" in problems


def test_num_clusters_is_not_for_images() -> None:
    assert _problems(_doc(num_clusters=3)) == [
        "methods.shap.num_clusters: not used for images (the baseline is a mask image)"
    ]


def test_detections_need_a_json_response() -> None:
    doc = _doc()
    doc["methods"]["shap"]["image_config"]["model_type"] = "OBJECT_DETECTION"
    doc["predictor"]["content_type"] = "application/x-npy"
    doc["predictor"]["accept_type"] = "text/csv"
    assert _problems(doc) == [
        "predictor.accept_type: text/csv cannot carry object detections; use one of application/json, "
        "application/jsonlines"
    ]
    doc["methods"]["shap"]["image_config"]["model_type"] = "IMAGE_CLASSIFICATION"
    assert _problems(doc) == []  # class scores may come back as CSV


def test_a_missing_image_extra_is_a_plan_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "skimage", None)
    assert _problems(_doc()) == [
        "Image explanations (dataset_type application/x-image) needs the 'image' extra: "
        "pip install 'clarify-runner[image]' (missing module: skimage)"
    ]


def test_debug_is_accepted_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    doc = _doc()
    doc["methods"]["shap"]["image_config"]["debug"] = {"image_names": ["a.png"], "sample_from": 0}
    (job,) = build_plan(parse_config(doc), NO_COLUMNS, "images/").jobs
    assert job == ImageShapJob("IMAGE_CLASSIFICATION", label_headers=("a", "b"))
    assert "methods.shap.image_config.debug is an undocumented SDK schema key; it is ignored" in caplog.text
