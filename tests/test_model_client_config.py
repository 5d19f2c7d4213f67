"""ModelClient.from_predictor: defaults taken from the predictor section and dataset type."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from _model_client_helpers import FakeServer, Request

from analyzer.endpoint import EndpointHandle
from analyzer.errors import ConfigError, NotSupportedError
from analyzer.model_client import HttpTransport, ModelClient, SageMakerRuntimeTransport

KEYS = ("content_type", "accept_type", "content_template", "record_template", "label", "probability",
        "label_headers", "custom_attributes", "target_model")


def predictor(**values) -> SimpleNamespace:
    return SimpleNamespace(**{k: values.get(k) for k in KEYS})


def test_content_type_defaults_to_dataset_type_and_accept_to_content_type() -> None:
    handle = EndpointHandle(urls=("http://127.0.0.1:9",))
    client = ModelClient.from_predictor(
        predictor(content_template='{"f":$features}', probability="score"),
        dataset_type="application/jsonlines", feature_names=["a"], endpoint=handle,
        max_payload_bytes=1000,
    )
    assert isinstance(client.transport, HttpTransport)
    assert (client.content_type, client.accept_type) == ("application/jsonlines", "application/jsonlines")
    assert client.max_payload_bytes == 1000
    client.close()


def test_named_endpoint_uses_the_runtime_api(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    handle = EndpointHandle(endpoint_name="ep", region="eu-west-1")
    client = ModelClient.from_predictor(predictor(), dataset_type="text/csv", feature_names=["a"],
                                        endpoint=handle)
    assert isinstance(client.transport, SageMakerRuntimeTransport)
    client.close()


def test_parquet_needs_content_type_and_images_are_not_tabular() -> None:
    handle = EndpointHandle(urls=("http://127.0.0.1:9",))
    with pytest.raises(ConfigError, match="predictor.content_type is required"):
        ModelClient.from_predictor(predictor(), dataset_type="application/x-parquet",
                                   feature_names=["a"], endpoint=handle)
    with pytest.raises(NotSupportedError, match="image/jpeg"):
        ModelClient.from_predictor(predictor(content_type="image/jpeg"), dataset_type="application/x-image",
                                   feature_names=["a"], endpoint=handle)


def test_json_predictor_round_trip_with_label_headers() -> None:
    def model(req: Request, index: int) -> tuple[int, str]:
        import json

        doc = json.loads(req.body)
        preds = [{"scores": [0.2, 0.8] if r["x"] > 0 else [0.9, 0.1]} for r in doc["instances"]]
        return 200, json.dumps({"predictions": preds})

    server = FakeServer(model)
    try:
        cfg = predictor(content_type="application/json", content_template='{"instances": $records}',
                        record_template='{"x": "${x}"}', probability="predictions[*].scores",
                        label_headers=["no", "yes"])
        handle = EndpointHandle(urls=(server.url,))
        with ModelClient.from_predictor(cfg, dataset_type="text/csv", feature_names=["x"],
                                        endpoint=handle, progress=False) as client:
            labels = client.predict_labels(np.array([[1.0], [-2.0], [3.0]]))
    finally:
        server.stop()
    assert labels.tolist() == ["yes", "no", "yes"]
