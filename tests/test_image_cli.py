"""examples/shapes_images through ``clarify-runner run`` and ``validate`` (the image job end to end).

Each run starts the example's model as a shadow endpoint (subprocess backend, local models
file), explains the committed images and writes heat maps, ``explanations_shap/out.jsonl``,
``analysis.json`` and the report. ``num_samples`` is lowered to keep the runs short.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from container.cli import main
from tests._image_models import write_image_classifier_dir, write_shape_detector_dir
from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "shapes_images"
CLI = str(Path(sys.executable).parent / "clarify-runner")


@pytest.fixture(scope="module")
def models_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("shapes_models")
    write_image_classifier_dir(models / "classifier")
    write_shape_detector_dir(models / "detector")
    path = models / "models.json"
    path.write_text(
        json.dumps(
            {
                "shapes-classifier": {"model_data_url": "classifier"},
                "shapes-detector": {"model_data_url": "detector"},
            }
        )
    )
    return path


def _config(kind: str, folder: Path, report: bool, **shap: object) -> Path:
    config = json.loads((EXAMPLE / f"analysis_config_{kind}.json").read_text())
    config["methods"]["shap"].update(shap)
    if not report:
        del config["methods"]["report"]
    path = folder / f"analysis_config_{kind}.json"
    path.write_text(json.dumps(config))
    return path


def _run(kind: str, tmp_path: Path, models_file: Path, data: Path, report: bool) -> tuple[Path, str]:
    """Run the example config through the CLI; the output folder and the log (stderr)."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            CLI,
            "run",
            "--config",
            str(_config(kind, tmp_path, report, num_samples=40)),
            "--data",
            str(data),
            "--output",
            str(out),
            "--backend",
            "subprocess",
            "--models-file",
            str(models_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Calculating SHAP values (images)" in proc.stderr
    return out, proc.stderr


def _check_additive(entry: dict, n_segments: int) -> None:
    values = np.array([a["attribution"] for a in entry["attributions"]])
    assert values.shape[0] == n_segments
    assert [a["description"]["segment"] for a in entry["attributions"]] == list(range(n_segments))
    np.testing.assert_allclose(
        values.sum(axis=0) + np.array(entry["expected_value"]), entry["prediction"], atol=1e-9
    )


def test_classification_run(tmp_path: Path, models_file: Path) -> None:
    """Three of the example's images (one per class, one in a sub-folder), no report: a short run."""
    data = tmp_path / "images"
    (data / "more").mkdir(parents=True)
    source = EXAMPLE / "images" / "classification"
    for name in ("red_circle_0.png", "blue_triangle_2.png", "more/green_square_1.png"):
        shutil.copy(source / Path(name).name, data / name)
    out, log = _run("classification", tmp_path, models_file, data, report=False)
    analysis = json.loads((out / "analysis.json").read_text())
    section = analysis["explanations"]["image_shap"]
    assert list(analysis) == ["version", "explanations"]
    assert section["model_type"] == "IMAGE_CLASSIFICATION"
    # where out.jsonl ends up (the --output folder), as the time-series section points to it
    assert section["explanation_results_path"] == str(out.resolve() / "explanations_shap" / "out.jsonl")
    images = section["images"]
    names = ["blue_triangle_2.png", "more/green_square_1.png", "red_circle_0.png"]
    assert [i["image"] for i in images] == names
    for item in images:
        # the example's images are named <colour>_<shape>_<i>.png; the model classifies the colour
        assert item["predicted_label"] == item["image"].split("/")[-1].split("_")[0]
        assert item["heatmap"] == f"shap_{item['image'][:-4].replace('/', '_')}.jpeg"
        assert (out / item["heatmap"]).read_bytes()[:2] == b"\xff\xd8"  # JPEG
    lines = [json.loads(x) for x in (out / "explanations_shap" / "out.jsonl").read_text().splitlines()]
    assert [line["image"] for line in lines] == names
    for line, item in zip(lines, images, strict=True):
        assert line["labels"] == ["red", "green", "blue"] and line["num_segments"] == item["num_segments"]
        (entry,) = line["explanations"]
        _check_additive(entry, line["num_segments"])
        assert (out / line["segments"]).is_file()
    assert {p.name for p in out.glob("shap_*.jpeg")} == {i["heatmap"] for i in images}
    assert not list(out.glob("report.*"))
    # the log names every file where it ends up, not the staging folder it is written to first
    wrote = sorted(line.split("Wrote ", 1)[1] for line in log.splitlines() if " Wrote " in line)
    files = [p for p in out.rglob("*") if p.is_file() and p.name != "analysis.json"]
    assert wrote == sorted(str(p) for p in files) and len(wrote) == 2 * len(images) + 1


def test_detection_run(tmp_path: Path, models_file: Path) -> None:
    out, _ = _run("detection", tmp_path, models_file, EXAMPLE / "images" / "detection", report=True)
    images = json.loads((out / "analysis.json").read_text())["explanations"]["image_shap"]["images"]
    assert [i["image"] for i in images] == ["scene_0.png", "scene_1.png", "scene_2.png"]
    # make_example.py draws red+blue, green+blue+red, green+red
    assert [sorted(o["label"] for o in i["objects"]) for i in images] == [
        ["blue", "red"],
        ["blue", "green", "red"],
        ["green", "red"],
    ]
    expected = set()
    for k, item in enumerate(images):
        assert item["objects_image"] == f"scene_{k}_objects.jpeg"
        expected.add(item["objects_image"])
        for rank, obj in enumerate(item["objects"], 1):
            assert obj["box"] == rank and obj["heatmap"] == f"shap_scene_{k}_box{rank}_object.jpeg"
            expected.add(obj["heatmap"])
        scores = [o["score"] for o in item["objects"]]
        assert scores == sorted(scores, reverse=True)
    assert {p.name for p in out.glob("*.jpeg")} == expected
    lines = [json.loads(x) for x in (out / "explanations_shap" / "out.jsonl").read_text().splitlines()]
    for line, item in zip(lines, images, strict=True):
        boxes = [f"box{o['box']}" for o in item["objects"]]
        assert [e["feature_name"] for e in line["explanations"]] == boxes
        for entry in line["explanations"]:
            _check_additive(entry, line["num_segments"])
            # the object's own superpixels explain its score: the largest value lies inside its box
            assert max(a["attribution"][0] for a in entry["attributions"]) > 0.1
    html = (out / "report.html").read_text()
    assert html.count("data:image/jpeg;base64,") == len(expected)
    assert {p.name for p in out.glob("report.*")} == {"report.ipynb", "report.html", "report.pdf"}


def test_validate_and_run_reject_a_bad_image_config_before_any_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = json.loads((EXAMPLE / "analysis_config_detection.json").read_text())
    config["methods"]["shap"]["image_config"].update(
        num_segments=0, context=2, feature_extraction_method="grid"
    )
    config["methods"]["shap"]["baseline"] = [[0, 0, 0]]
    config["predictor"]["accept_type"] = "text/csv"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    data = str(EXAMPLE / "images" / "detection")
    assert main(["validate", "--config", str(path), "--data", data]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith(f"5 problem(s) found in {path}:")
    for text in (
        "methods.shap.image_config.num_segments: must be at least 1, got 0",
        "methods.shap.image_config.feature_extraction_method: 'grid' is not supported",
        "methods.shap.image_config.context: must be between 0 and 1, got 2",
        "methods.shap.baseline: for dataset_type application/x-image give the S3 URI",
        "predictor.accept_type: text/csv cannot carry object detections",
    ):
        assert text in printed
    # the job stops on the same problems before it looks for the model (the models file is missing)
    missing = tmp_path / "no-such-models.json"
    code = main(["run", "--config", str(path), "--data", data, "--output", str(tmp_path / "out"),
                 "--backend", "subprocess", "--models-file", str(missing)])
    assert code == 1
    failure = (tmp_path / "out").glob("*")
    assert not any(p.name == "analysis.json" for p in failure)
    err = capsys.readouterr().err
    assert "num_segments: must be at least 1" in err and not re.search("models file", err)


def test_validate_accepts_the_example_and_names_an_empty_image_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(EXAMPLE / "analysis_config_classification.json")
    assert main(["validate", "--config", config, "--data", str(EXAMPLE / "images" / "classification")]) == 0
    assert capsys.readouterr().out.endswith(": OK (config, dataset)\n")
    (tmp_path / "notes.txt").write_text("no images here")
    assert main(["validate", "--config", config, "--data", str(tmp_path)]) == 1
    assert "No image files (.jpg, .jpeg, .png) found at" in capsys.readouterr().out
