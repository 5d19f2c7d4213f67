"""The client against the real ``local_endpoint`` server (subprocess on a free 127.0.0.1 port).

One multi-model endpoint serves a 3-class and a binary classifier, chosen by
``TargetModel``; a second one uses ``SAGEMAKER_INFERENCE_OUTPUT`` for label/probability
outputs.
"""

from __future__ import annotations

import _model_server as testing
import numpy as np
import pytest

from analyzer.endpoint import EndpointHandle
from analyzer.errors import ModelError
from analyzer.model_client import HttpTransport, ModelClient, SageMakerRuntimeTransport
from analyzer.plan import ClientSettings

FEATURES = ["f0", "f1", "f2", "f3"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    multi, X = testing.train_sklearn_classifier(n_features=4, n_classes=3, random_state=0)
    binary, _ = testing.train_sklearn_classifier(n_features=4, n_classes=2, random_state=1)
    testing.save_sklearn_model(multi, root / "multi")
    testing.save_sklearn_model(binary, root / "binary")
    return root, multi, binary, X


@pytest.fixture(scope="module")
def endpoint(models):
    root = models[0]
    ep = testing.start_endpoint(root)
    yield ep.url
    ep.stop()


@pytest.fixture(scope="module")
def selectable_endpoint(models):
    root = models[0]
    ep = testing.start_endpoint(
        root / "binary", env={"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probability"}
    )
    yield ep.url
    ep.stop()


def client(url, **settings) -> ModelClient:
    settings.setdefault("target_model", "multi")
    return ModelClient(HttpTransport(url), ClientSettings(**settings), feature_names=FEATURES, progress=False)


def test_fast_path_scores_match_the_model(endpoint, models) -> None:
    _, multi, _, X = models
    with client(endpoint) as c:
        scores = c.predict_scores(X)
        assert c._fast_path()
    np.testing.assert_allclose(scores, multi.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize(
    "fmt",
    [
        {"use_fast_path": False},
        {"content_type": "application/jsonlines", "content_template": '{"features":$features}'},
        {"content_type": "application/json", "content_template": '{"instances": $records}',
         "record_template": "$features"},
        {"content_type": "application/json", "accept_type": "application/json",
         "content_template": "$records", "record_template": "$features", "probability": "[*][2]"},
    ],
)
def test_every_format_gives_the_model_scores(endpoint, models, fmt) -> None:
    _, multi, _, X = models
    expected = multi.predict_proba(X)
    if fmt.get("probability"):
        expected = expected[:, [2]]
    with client(endpoint, **fmt) as c:
        np.testing.assert_allclose(c.predict_scores(X), expected, rtol=1e-9)


def test_target_model_selects_the_binary_model(endpoint, models) -> None:
    _, _, binary, X = models
    with client(endpoint, target_model="binary", probability=1) as c:
        scores = c.predict_scores(X)
        labels = c.predict_labels(X, probability_threshold=0.3)
    np.testing.assert_allclose(scores[:, 0], binary.predict_proba(X)[:, 1], rtol=1e-12)
    np.testing.assert_array_equal(labels, (binary.predict_proba(X)[:, 1] > 0.3).astype(int))


def test_label_headers_argmax(endpoint, models) -> None:
    _, multi, _, X = models
    headers = ["bird", "cat", "dog"]
    with client(endpoint, label_headers=headers) as c:
        labels = c.predict_labels(X)
    expected = np.array(headers, dtype=object)[multi.predict_proba(X).argmax(axis=1)]
    assert labels.tolist() == expected.tolist()


def test_label_and_probability_columns(selectable_endpoint, models) -> None:
    _, _, binary, X = models
    with ModelClient(HttpTransport(selectable_endpoint), ClientSettings(label=0, probability=1),
                     feature_names=FEATURES, progress=False) as c:
        labels = c.predict_labels(X)
        scores = c.predict_scores(X)
    np.testing.assert_array_equal(labels, binary.predict(X))
    np.testing.assert_allclose(scores[:, 0], binary.predict_proba(X)[:, 1], rtol=1e-12)


def test_jsonlines_jmespath_label_and_probability(selectable_endpoint, models) -> None:
    _, _, binary, X = models
    settings = ClientSettings(content_type="application/jsonlines",
                              content_template='{"features":$features}',
                              label="predicted_label", probability="probability")
    transport = HttpTransport(selectable_endpoint)
    with ModelClient(transport, settings, feature_names=FEATURES, progress=False) as c:
        labels = c.predict_labels(X)
        scores = c.predict_scores(X)
    np.testing.assert_array_equal(labels, binary.predict(X))
    np.testing.assert_allclose(scores[:, 0], binary.predict_proba(X)[:, 1], rtol=1e-12)


def test_boto3_transport_against_the_runtime_route(endpoint, models, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint)
    _, multi, _, X = models
    handle = EndpointHandle(endpoint_name="local", region="us-east-1")
    with ModelClient.for_endpoint(handle, ClientSettings(target_model="multi"), feature_names=FEATURES,
                                  progress=False) as c:
        assert isinstance(c.transport, SageMakerRuntimeTransport)
        np.testing.assert_allclose(c.predict_scores(X), multi.predict_proba(X), rtol=1e-12)


def test_model_error_through_boto3_carries_the_model_message(endpoint, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    transport = SageMakerRuntimeTransport("local", region="us-east-1", endpoint_url=endpoint)
    settings = ClientSettings(target_model="multi", retry_backoff=0.01)
    with ModelClient(transport, settings, feature_names=["a", "b"], progress=False) as c:
        with pytest.raises(ModelError, match="expects 4"):
            c.predict_scores(np.ones((3, 2)))
