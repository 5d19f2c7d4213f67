"""Text SHAP against a real local_endpoint server (HTTP) serving raw-text scikit-learn models."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
import requests
import skops.io as sio
from _model_server import start_endpoint
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from analyzer.explain.text import TextShapSpec, explain_text
from analyzer.model_client import HttpTransport, ModelClient
from analyzer.model_client.serialize import encode_csv
from analyzer.plan.model import ClientSettings
from local_endpoint.errors import BadRequest
from local_endpoint.text_input import TextInput, decode_text_records, find_text_input
from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "text_reviews"
RECORDS = np.array(
    [
        ['Lovely, soft "wool" — fits well. I would buy it again!', 2.0],
        ["The zipper broke.\n\nUpdate: the seller replaced it, great service.", 5.0],
        ["10", 0.0],
        ["", 1.0],
        ["Café colour is exactly as pictured; the fabric is cheap and thin...", 3.0],
    ],
    dtype=object,
)


def _train_module():
    spec = importlib.util.spec_from_file_location("text_reviews_train", EXAMPLE / "train_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The example's review model and a bare TF-IDF pipeline behind one multi-model endpoint."""
    root = tmp_path_factory.mktemp("text-models")
    train = _train_module()
    train.train(EXAMPLE / "reviews.csv", root / "reviews")
    df = pd.read_csv(EXAMPLE / "reviews.csv")
    bare = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(
        df["review"], df["recommended"]
    )
    (root / "bare").mkdir()
    sio.dump(bare, root / "bare" / "model.skops")
    path = root / "reviews" / "model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    ep = start_endpoint(root)
    try:
        yield ep.url, model, bare
    finally:
        ep.stop()


def test_find_text_input(served) -> None:
    _, model, bare = served
    assert find_text_input(model) == TextInput((0,))
    assert find_text_input(bare) == TextInput((0,), one_dimensional=True)
    assert find_text_input(LogisticRegression()) is None


def test_decode_keeps_text_columns_as_sent() -> None:
    body = b'"a, b ""c""\nd",1\n10,2\n,3\nplain,\n'
    X = decode_text_records(body, "text/csv", TextInput((0,)))
    assert X[:, 0].tolist() == ['a, b "c"\nd', "10", "", "plain"]
    assert X[:3, 1].tolist() == [1.0, 2.0, 3.0] and np.isnan(X[3, 1])
    lines = b'{"features": ["good", 1]}\n{"features": [12, 2]}\n{"features": [null, 3]}\n'
    X = decode_text_records(lines, "application/jsonlines", TextInput((0,)))
    assert X[:, 0].tolist() == ["good", "12", ""]
    with pytest.raises(BadRequest, match="reads text column 2"):
        decode_text_records(b"a,1\n", "text/csv", TextInput((2,)))


def test_csv_request_keeps_a_lone_empty_text() -> None:
    assert encode_csv(np.array([[""], ["a, b"], [None]], dtype=object)) == b'""\n"a, b"\n""'
    assert encode_csv(np.array([["", 1.0]], dtype=object)) == b",1.0"


def _client(url: str, target: str, content_type: str) -> ModelClient:
    template = '{"features":$features}' if content_type == "application/jsonlines" else None
    settings = ClientSettings(
        content_type=content_type, accept_type="text/csv", content_template=template, target_model=target
    )
    return ModelClient(
        HttpTransport([url]),
        settings,
        feature_names=["review", "helpful_votes"] if target == "reviews" else ["review"],
        progress=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("content_type", ["text/csv", "application/jsonlines"])
@pytest.mark.parametrize("granularity", ["token", "sentence", "paragraph"])
def test_text_shap_over_http_equals_in_process(served, content_type: str, granularity: str) -> None:
    url, model, _ = served
    baseline = np.array([["[MASK]", 1.0]], dtype=object)
    spec = TextShapSpec(granularity, "en", (0,), num_samples=64, seed=5)
    local = explain_text(RECORDS, baseline, model.predict_proba, spec)
    with _client(url, "reviews", content_type) as client:
        remote = explain_text(RECORDS, baseline, client.predict_scores, spec)
        assert client.stats.rows == remote.model_rows and client.stats.fallbacks == 0
    assert remote.model_rows == local.model_rows
    for a, b in zip(local.records, remote.records, strict=True):
        assert a.units == b.units
        np.testing.assert_allclose(b.fx, a.fx, rtol=1e-9)
        np.testing.assert_allclose(b.text_values[0], a.text_values[0], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(b.feature_values, a.feature_values, rtol=1e-7, atol=1e-9)
        total = b.text_values[0].sum(axis=0) + b.feature_values.sum(axis=0)
        np.testing.assert_allclose(total, b.fx - b.expected_value, atol=1e-9)
    assert [len(u[0]) for u in (r.units for r in remote.records)][2:4] == [1, 0]


@pytest.mark.slow
def test_bare_text_pipeline_over_http(served) -> None:
    url, _, bare = served
    records = RECORDS[:, :1]
    baseline = np.array([[""]], dtype=object)
    spec = TextShapSpec("token", "en", (0,), seed=0)
    with _client(url, "bare", "text/csv") as client:
        remote = explain_text(records, baseline, client.predict_scores, spec)
    local = explain_text(records, baseline, lambda rows: bare.predict_proba(rows[:, 0]), spec)
    for a, b in zip(local.records, remote.records, strict=True):
        np.testing.assert_allclose(b.text_values[0], a.text_values[0], rtol=1e-7, atol=1e-9)


def test_multi_line_csv_request(served) -> None:
    url = served[0]
    body = b'"first\n\nsecond, ""quoted""",2\nplain text,1\n'
    reply = requests.post(
        url + "/invocations",
        data=body,
        headers={
            "Content-Type": "text/csv",
            "Accept": "application/jsonlines",
            "X-Amzn-SageMaker-Target-Model": "reviews",
        },
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    rows = [json.loads(x) for x in reply.text.splitlines()]
    assert len(rows) == 2 and all(abs(sum(r) - 1) < 1e-9 for r in rows)
