"""Image models behind the real local_endpoint server, and image explanations over HTTP end to end."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import requests
from _model_server import running_endpoint
from PIL import Image

from analyzer.explain.images import FunctionPredictor, ImageRecord, ImageSpec, explain_images
from analyzer.image_outputs import ImageOutputWriter, image_section
from analyzer.model_client import HttpTransport
from analyzer.model_client.images import ImageModelClient
from analyzer.output import write_analysis
from analyzer.report import write_reports
from local_endpoint.image_models import load_image_model
from tests._image_helpers import LABELS, shapes_image
from tests._image_models import (
    classification_set,
    write_image_classifier_dir,
    write_shape_detector_dir,
)


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    folder = write_image_classifier_dir(tmp_path_factory.mktemp("ic") / "model", n_train=150)
    with running_endpoint(folder) as url:
        yield url, load_image_model(folder / "image_model.json")


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    folder = write_shape_detector_dir(tmp_path_factory.mktemp("od") / "model")
    with running_endpoint(folder) as url:
        yield url, load_image_model(folder / "image_model.json")


def post(url: str, body: bytes, content_type: str, accept: str = "application/json") -> requests.Response:
    return requests.post(
        url + "/invocations", data=body, headers={"Content-Type": content_type, "Accept": accept}
    )


def test_classifier_formats(classifier) -> None:
    url, model = classifier
    images, labels = classification_set(4, 48, seed=3)
    expected = np.array(model.predict(images))
    assert (expected.argmax(axis=1) == labels).all()
    one = post(url, _png(images[0]), "image/png")
    assert one.status_code == 200 and one.headers["content-type"] == "application/json"
    np.testing.assert_allclose(one.json(), expected[:1], rtol=1e-12)
    batch = post(url, _npy(images), "application/x-npy")
    np.testing.assert_allclose(batch.json(), expected, rtol=1e-12)
    single = post(url, _npy(images[1]), "application/x-npy")  # one H x W x 3 array
    np.testing.assert_allclose(single.json(), expected[1:2], rtol=1e-12)
    jpeg = io.BytesIO()
    Image.fromarray(images[2]).save(jpeg, format="JPEG")
    assert np.argmax(post(url, jpeg.getvalue(), "image/jpeg").json()[0]) == labels[2]
    csv = post(url, _npy(images), "application/x-npy", accept="text/csv")
    np.testing.assert_allclose(np.loadtxt(io.StringIO(csv.text), delimiter=","), expected, rtol=1e-12)
    lines = post(url, _npy(images), "application/x-npy", accept="application/jsonlines")
    np.testing.assert_allclose([json.loads(x) for x in lines.text.splitlines()], expected, rtol=1e-12)


def test_bad_image_requests(classifier, detector) -> None:
    url, _ = classifier
    assert post(url, b"1,2,3\n", "text/csv").status_code == 415
    bad = post(url, b"\x89PNG broken", "image/png")
    assert bad.status_code == 400 and "cannot decode the image" in bad.text
    wrong = post(url, _npy(np.zeros((4, 5))), "application/x-npy")
    assert wrong.status_code == 400 and "(N, H, W, 3)" in wrong.text
    assert post(detector[0], _png(shapes_image(32)), "image/png", accept="text/csv").status_code == 406


def test_detector_answers_rows(detector) -> None:
    url, model = detector
    image = shapes_image(64, seed=1)
    answer = post(url, _png(image), "image/png").json()
    assert answer == model.predict(image[None])
    rows = np.array(answer[0])
    assert sorted(rows[:, 0].tolist()) == [0.0, 1.0, 2.0]  # red, green, blue
    assert (rows[:, 1] > 0.5).all() and ((rows[:, 2:] >= 0) & (rows[:, 2:] <= 1)).all()


@pytest.mark.slow
def test_classification_over_http_equals_in_process(classifier, tmp_path) -> None:
    url, model = classifier
    images, _ = classification_set(2, 48, seed=8)
    records = [ImageRecord(f"set/{i}.png", f"set/{i}.png", images[i]) for i in range(2)]
    spec = ImageSpec(
        "IMAGE_CLASSIFICATION", num_segments=10, segment_compactness=10, seed=1, label_headers=LABELS
    )
    local = explain_images(records, spec, FunctionPredictor(lambda x: np.array(model.predict(x))))
    for content_type in ("application/x-npy", "image/png"):
        client = ImageModelClient(HttpTransport(url), content_type=content_type)
        writer = ImageOutputWriter(tmp_path, spec)
        remote = explain_images(records, spec, client, on_image=writer.add)
        writer.close()
        for a, b in zip(local.images, remote.images, strict=True):
            np.testing.assert_allclose(b.targets[0].values, a.targets[0].values, rtol=1e-9, atol=1e-12)
        assert client.stats.rows == remote.model_rows
        if content_type == "image/png":
            assert client.stats.requests == remote.model_rows  # one image per request
    analysis = {"version": "1.0", "explanations": {"image_shap": image_section(remote)}}
    write_analysis(tmp_path, analysis)
    assert (tmp_path / "shap_set_0.jpeg").is_file() and (tmp_path / "shap_set_1.jpeg").is_file()
    lines = (tmp_path / "explanations_shap" / "out.jsonl").read_text().splitlines()
    assert [json.loads(x)["image"] for x in lines] == ["set/0.png", "set/1.png"]
    written = write_reports(analysis, tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert len(written) == 3 and html.count("data:image/jpeg;base64,") == 2


@pytest.mark.slow
def test_detection_over_http_equals_in_process(detector, tmp_path) -> None:
    url, model = detector
    records = [ImageRecord("scene.png", "scene.png", shapes_image(64, seed=4))]
    spec = ImageSpec("OBJECT_DETECTION", num_segments=9, segment_compactness=10, seed=2, label_headers=LABELS)
    local = explain_images(records, spec, FunctionPredictor(detect=model.predict))
    client = ImageModelClient(HttpTransport(url), content_type="application/x-npy")
    writer = ImageOutputWriter(tmp_path, spec)
    remote = explain_images(records, spec, client, on_image=writer.add)
    writer.close()
    assert len(remote.images[0].targets) == 3
    for a, b in zip(local.images[0].targets, remote.images[0].targets, strict=True):
        np.testing.assert_array_equal(a.detection, b.detection)
        np.testing.assert_allclose(b.values, a.values, rtol=1e-9, atol=1e-12)
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "shap_scene_box1_object.jpeg",
        "shap_scene_box2_object.jpeg",
        "shap_scene_box3_object.jpeg",
        "scene_objects.jpeg",
    } <= names
