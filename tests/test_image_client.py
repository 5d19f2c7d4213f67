"""ImageModelClient: image requests (JPEG/PNG one per request, NPY batches) and Clarify's answer formats."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from analyzer.errors import ModelError
from analyzer.explain.images.segments import CoalitionImages, players_for
from analyzer.model_client import HttpTransport
from analyzer.model_client.images import ImageModelClient, per_image_detections
from analyzer.model_client.parse import ResponseFormatError
from tests._model_client_helpers import FakeServer, Request

ROW = [1, 0.9, 0.1, 0.2, 0.5, 0.6]


@pytest.fixture
def serve():
    servers: list[FakeServer] = []

    def start(handler) -> FakeServer:
        server = FakeServer(handler)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


def _images(n: int, h: int = 10, w: int = 14) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def _decode(req: Request) -> np.ndarray:
    if req.headers["content-type"] == "application/x-npy":
        batch = np.load(io.BytesIO(req.body), allow_pickle=True)  # as Clarify's example server loads it
        return batch if batch.ndim == 4 else batch[None]
    return np.asarray(Image.open(io.BytesIO(req.body)).convert("RGB"))[None]


def mean_colour_model(req: Request, index: int) -> tuple[int, str]:
    """Answers the mean R, G, B of each image: a flat list for one image, else one list per image."""
    means = _decode(req).reshape(len(_decode(req)), -1, 3).mean(axis=1) / 255
    doc = means[0].tolist() if len(means) == 1 else means.tolist()
    return 200, json.dumps(doc)


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "application/x-npy"])
def test_classify_sends_the_images(serve, content_type: str) -> None:
    server = serve(mean_colour_model)
    images = _images(7)
    client = ImageModelClient(HttpTransport(server.url), content_type=content_type)
    scores = client.classify(images)
    assert scores.shape == (7, 3)
    if content_type == "image/jpeg":
        assert len(server.requests) == 7
        np.testing.assert_allclose(scores, images.reshape(7, -1, 3).mean(1) / 255, atol=0.05)
    else:
        np.testing.assert_allclose(scores, images.reshape(7, -1, 3).mean(1) / 255, rtol=1e-12)
    for req in server.requests:
        assert req.headers["content-type"] == content_type and req.headers["accept"] == "application/json"
    if content_type == "application/x-npy":
        assert len(server.requests) == 1
        batch = np.load(io.BytesIO(server.requests[0].body), allow_pickle=True)
        assert batch.shape == (7, 10, 14, 3) and batch.dtype == np.uint8
        np.testing.assert_array_equal(batch, images)


def test_npy_batches_fit_the_payload_limit_and_coalitions_render_per_request(serve) -> None:
    server = serve(mean_colour_model)
    image = _images(1, 20, 20)[0]
    segments = np.repeat(np.arange(4), 100).reshape(20, 20).astype(np.int32)
    masks = np.random.default_rng(0).integers(0, 2, size=(50, 4))
    coalitions = CoalitionImages(image, np.zeros_like(image), players_for(segments, 4), masks)
    client = ImageModelClient(
        HttpTransport(server.url), content_type="application/x-npy", max_payload_bytes=6000
    )
    scores = client.classify(coalitions)
    sizes = [len(r.body) for r in server.requests]
    assert len(sizes) > 1 and max(sizes) <= 6000
    np.testing.assert_allclose(scores, coalitions[0:50].reshape(50, -1, 3).mean(1) / 255, rtol=1e-12)


def test_retries_and_model_errors_come_from_the_model_client(serve) -> None:
    def flaky(req: Request, index: int) -> tuple[int, str]:
        return (503, "busy") if index == 0 else mean_colour_model(req, index)

    server = serve(flaky)
    client = ImageModelClient(HttpTransport(server.url), content_type="image/png", retry_backoff=0.01)
    assert client.classify(_images(1)).shape == (1, 3)
    assert client.stats.retries == 1
    bad = serve(lambda req, i: (200, "not json"))
    with pytest.raises(ModelError, match="failed on a request of 1 record\\(s\\) \\(image/png"):
        ImageModelClient(HttpTransport(bad.url), content_type="image/png").classify(_images(1))


def test_detections_in_every_answer_form(serve) -> None:
    answers = {
        0: [ROW, [-1, 0, 0, 0, 0, 0]],  # one image's rows alone; padding dropped
        1: [[ROW, ROW]],  # batch form, one image
        2: {"prediction": [ROW]},  # built-in SageMaker object detection
        3: [],  # nothing found
    }
    server = serve(lambda req, i: (200, json.dumps(answers[i])))
    client = ImageModelClient(HttpTransport(server.url), content_type="image/jpeg", max_in_flight=1)
    found = client.detect(_images(4))
    assert [len(d) for d in found] == [1, 2, 1, 0]
    np.testing.assert_allclose(found[0][0], ROW)

    batch = serve(lambda req, i: (200, json.dumps({"out": [[ROW], [], [ROW, ROW]]})))
    client = ImageModelClient(HttpTransport(batch.url), content_type="application/x-npy", probability="out")
    assert [len(d) for d in client.detect(_images(3))] == [1, 0, 2]

    lines = serve(lambda req, i: (200, "[]\n" + json.dumps([ROW]) + "\n"))
    client = ImageModelClient(
        HttpTransport(lines.url), content_type="application/x-npy", accept_type="application/jsonlines"
    )
    assert [len(d) for d in client.detect(_images(2))] == [0, 1]


def test_detection_answer_errors() -> None:
    with pytest.raises(ResponseFormatError, match="holds 1 images for 2"):
        per_image_detections([[ROW]], 2)
    with pytest.raises(ResponseFormatError, match="class_id, score, x0, y0, x1, y1"):
        per_image_detections([[1, 2, 3]], 1)
    with pytest.raises(ResponseFormatError, match="set predictor.probability to a JMESPath"):
        per_image_detections({"boxes": []}, 1)


def test_unsupported_types(serve) -> None:
    with pytest.raises(ValueError, match="'text/csv' is not supported for image data"):
        ImageModelClient(HttpTransport("http://127.0.0.1:1"), content_type="text/csv")
    client = ImageModelClient(
        HttpTransport("http://127.0.0.1:1"), content_type="image/png", accept_type="text/csv"
    )
    with pytest.raises(ModelError, match="accept_type text/csv cannot carry object detections"):
        client.detect(_images(1))


def test_default_types() -> None:
    client = ImageModelClient(HttpTransport("http://127.0.0.1:1"))
    assert (client.content_type, client.accept_type) == ("image/jpeg", "application/json")


def test_npy_batch_bytes_are_numpy_save() -> None:
    from analyzer.model_client.images import encode_image_batch

    images = _images(3)
    buffer = io.BytesIO()
    np.save(buffer, images, allow_pickle=False)
    assert encode_image_batch(images) == buffer.getvalue()
    assert encode_image_batch(images[:, ::2]) == encode_image_batch(np.ascontiguousarray(images[:, ::2]))
