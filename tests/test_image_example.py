"""examples/shapes_images: the committed images are what make_example.py draws; the example runs."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "shapes_images"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"shapes_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_images_and_configs_are_reproducible(tmp_path) -> None:
    make = _module("make_example")
    written = make.write_images(tmp_path)
    assert len(written) == 9
    for path in written:
        committed = EXAMPLE / "images" / path.relative_to(tmp_path)
        np.testing.assert_array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(committed)))
    for name, config in (
        ("analysis_config_classification.json", make.CLASSIFICATION_CONFIG),
        ("analysis_config_detection.json", make.DETECTION_CONFIG),
    ):
        assert json.loads((EXAMPLE / name).read_text()) == config


@pytest.mark.slow
def test_detection_example_end_to_end(tmp_path) -> None:
    from tests._image_models import write_shape_detector_dir

    write_shape_detector_dir(tmp_path / "model" / "detector")
    analysis = _module("run_example").run("detection", tmp_path / "model", tmp_path / "out")
    images = analysis["explanations"]["image_shap"]["images"]
    assert [i["image"] for i in images] == ["scene_0.png", "scene_1.png", "scene_2.png"]
    assert [len(i["objects"]) for i in images] == [2, 3, 2]
    out = tmp_path / "out"
    for item in images:
        assert (out / item["objects_image"]).is_file()
        for obj in item["objects"]:
            assert (out / obj["heatmap"]).is_file()
    lines = (out / "explanations_shap" / "out.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert {p.name for p in out.glob("report.*")} == {"report.ipynb", "report.html", "report.pdf"}
