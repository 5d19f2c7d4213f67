"""Image explanation outputs: Clarify's file names, out.jsonl, segment maps, analysis.json section, report."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from analyzer.errors import InternalError
from analyzer.explain.images import FunctionPredictor, ImageRecord, ImageSpec, explain_images
from analyzer.image_outputs import (
    heatmap_name,
    image_section,
    objects_name,
    segments_name,
    write_image_outputs,
)
from analyzer.output import dumps_analysis
from analyzer.report import write_reports
from local_endpoint.image_models import ShapeDetector
from tests._image_helpers import LABELS, blocks_image, shapes_image, toy_classifier

ELEPHANT = "064.elephant-101_064_0003.jpg"


def test_clarify_object_detection_file_names() -> None:
    stem = "064.elephant-101_064_0003"
    assert heatmap_name(stem, 1) == "shap_064.elephant-101_064_0003_box1_object.jpeg"
    assert heatmap_name(stem, 2) == "shap_064.elephant-101_064_0003_box2_object.jpeg"
    assert objects_name(stem) == "064.elephant-101_064_0003_objects.jpeg"
    assert heatmap_name(stem) == "shap_064.elephant-101_064_0003.jpeg"
    assert segments_name(stem) == "explanations_shap/segments/064.elephant-101_064_0003.png"


@pytest.fixture(scope="module")
def detection_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("od")
    records = [ImageRecord(ELEPHANT, ELEPHANT, shapes_image(64, seed=3))]
    spec = ImageSpec(
        "OBJECT_DETECTION",
        num_segments=10,
        segment_compactness=10,
        seed=0,
        max_objects=2,
        label_headers=LABELS,
    )
    result = explain_images(records, spec, FunctionPredictor(detect=ShapeDetector().predict))
    written = write_image_outputs(out, result, records)
    return out, result, records, written


def test_detection_outputs(detection_run) -> None:
    out, result, records, written = detection_run
    stem = "064.elephant-101_064_0003"
    expected = {
        f"shap_{stem}_box1_object.jpeg",
        f"shap_{stem}_box2_object.jpeg",
        f"{stem}_objects.jpeg",
        f"explanations_shap/segments/{stem}.png",
        "explanations_shap/out.jsonl",
    }
    assert {p.relative_to(out).as_posix() for p in written} == expected
    for name in expected:
        if name.endswith(".jpeg"):
            with Image.open(out / name) as img:
                assert img.format == "JPEG" and img.size[0] > 64
    with Image.open(out / f"explanations_shap/segments/{stem}.png") as img:
        np.testing.assert_array_equal(np.asarray(img), result.images[0].segments)
    line = json.loads((out / "explanations_shap" / "out.jsonl").read_text())
    explanation = result.images[0]
    assert (
        line["image"] == ELEPHANT
        and line["model_type"] == "OBJECT_DETECTION"
        and line["labels"] == list(LABELS)
    )
    assert line["num_segments"] == explanation.num_segments and line["segments"] == segments_name(stem)
    assert [e["feature_name"] for e in line["explanations"]] == ["box1", "box2"]
    for entry, target in zip(line["explanations"], explanation.targets, strict=True):
        assert entry["data_type"] == "image" and entry["heatmap"] == heatmap_name(stem, target.rank)
        assert entry["object"]["label"] == LABELS[int(target.detection[0])]
        assert entry["object"]["bounding_box"] == target.detection[2:].tolist()
        values = [a["attribution"] for a in entry["attributions"]]
        np.testing.assert_allclose(values, target.values)
        pixels = [a["description"]["pixels"] for a in entry["attributions"]]
        assert sum(pixels) == 64 * 64 and [
            a["description"]["segment"] for a in entry["attributions"]
        ] == list(range(explanation.num_segments))
        assert sum(v[0] for v in values) == pytest.approx(entry["prediction"][0] - entry["expected_value"][0])


def test_detection_section(detection_run) -> None:
    _, result, _, _ = detection_run
    section = image_section(result, "s3://bucket/out/explanations_shap/out.jsonl")
    assert list(section) == [
        "model_type",
        "num_segments",
        "segment_compactness",
        "max_objects",
        "iou_threshold",
        "context",
        "explanation_results_path",
        "images",
    ]
    assert section["explanation_results_path"] == "s3://bucket/out/explanations_shap/out.jsonl"
    (item,) = section["images"]
    assert item["objects_image"] == "064.elephant-101_064_0003_objects.jpeg"
    assert [o["box"] for o in item["objects"]] == [1, 2]
    assert item["objects"][0]["score"] >= item["objects"][1]["score"]
    json.loads(dumps_analysis({"explanations": {"image_shap": section}}))  # strict JSON


def test_classification_outputs_section_and_report(tmp_path) -> None:
    records = [ImageRecord(f"sub/{i}.png", "", blocks_image(seed=i)) for i in range(2)]
    spec = ImageSpec("IMAGE_CLASSIFICATION", num_segments=6, seed=0, label_headers=LABELS)
    result = explain_images(records, spec, FunctionPredictor(toy_classifier))
    write_image_outputs(tmp_path, result, records)
    assert (tmp_path / "shap_sub_0.jpeg").is_file() and (tmp_path / "shap_sub_1.jpeg").is_file()
    section = image_section(result)
    assert section["explanation_results_path"] == "explanations_shap/out.jsonl"
    for item, explanation in zip(section["images"], result.images, strict=True):
        k = int(np.argmax(explanation.targets[0].prediction))
        assert item["predicted_label"] == LABELS[k] and item["heatmap"] == f"shap_{explanation.stem}.jpeg"
        assert item["score"] == explanation.targets[0].prediction[k]
    lines = [json.loads(x) for x in (tmp_path / "explanations_shap" / "out.jsonl").read_text().splitlines()]
    assert (
        len(lines[0]["explanations"]) == 1
        and len(lines[0]["explanations"][0]["attributions"][0]["attribution"]) == 3
    )
    analysis = {"version": "1.0", "explanations": {"image_shap": section}}
    (tmp_path / "analysis.json").write_text(dumps_analysis(analysis))
    written = write_reports(analysis, tmp_path)
    assert {p.suffix for p in written} == {".ipynb", ".html", ".pdf"}
    html = (tmp_path / "report.html").read_text()
    assert "Image explanations" in html and html.count('<img src="data:image/jpeg;base64,') == 2
    notebook = json.loads((tmp_path / "report.ipynb").read_text())
    shown = [
        o
        for c in notebook["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if "image/jpeg" in o.get("data", {})
    ]
    assert len(shown) == 2
    with Image.open(io.BytesIO((tmp_path / "shap_sub_0.jpeg").read_bytes())) as img:
        assert img.format == "JPEG"


def test_missing_heat_map_is_named_in_the_report(tmp_path) -> None:
    analysis = {
        "version": "1.0",
        "explanations": {
            "image_shap": {
                "model_type": "IMAGE_CLASSIFICATION",
                "images": [{"image": "a.png", "heatmap": "shap_a.jpeg"}],
            }
        },
    }
    write_reports(analysis, tmp_path)
    assert "Heat map shap_a.jpeg" in (tmp_path / "report.html").read_text()


def test_outputs_need_every_image(detection_run, tmp_path) -> None:
    _, result, _, _ = detection_run
    with pytest.raises(InternalError, match="no image given for the explanation"):
        write_image_outputs(tmp_path, result, [])
