"""Shadow-endpoint lifecycle: subprocess backend, SageMaker backend on moto, backend choice."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from types import SimpleNamespace

import boto3
import numpy as np
import pytest
import requests
from _container_helpers import REGION, moto_server_fixture  # noqa: F401 - fixture
from _model_server import running_endpoint, train_sklearn_classifier, write_sklearn_model_dir

from analyzer.errors import ConfigError, JobStopped
from container.endpoints import choose_backend, in_sagemaker_job, open_shadow_endpoint, registry


def _predictor(**kw: object) -> SimpleNamespace:
    base = {"model_name": None, "endpoint_name": None, "endpoint_name_prefix": None,
            "initial_instance_count": 1, "instance_type": "ml.m5.xlarge", "accelerator_type": None}
    base.update(kw)
    return SimpleNamespace(**base)


def _models_file(tmp_path: Path) -> Path:
    model_dir = write_sklearn_model_dir(tmp_path / "model")
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"lr": {"image": "none", "model_data_url": str(model_dir)}}))
    return path


def test_subprocess_backend_serves_predictions_and_stops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    model, x = train_sklearn_classifier()
    pred = _predictor(model_name="lr", initial_instance_count=2)
    with open_shadow_endpoint(pred, backend="subprocess", models_file=_models_file(tmp_path)) as handle:
        assert len(handle.urls) == 2 and handle.endpoint_name is None
        for url in handle.urls:
            body = "\n".join(",".join(map(str, r)) for r in x[:3])
            resp = requests.post(url + "/invocations", data=body, timeout=30,
                                 headers={"Content-Type": "text/csv", "Accept": "application/json"})
            assert resp.status_code == 200
        assert len(registry.pending()) == 2
    assert registry.pending() == []
    for url in handle.urls:
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/ping", timeout=2)
    text = caplog.text
    assert "Spinning up shadow endpoint" in text and "Stop using endpoint: sm-clarify-lr-" in text
    assert "Endpoint is in service after" in text
    assert np.asarray(model.predict_proba(x[:1])).shape == (1, 2)


def test_stop_event_ends_the_wait_and_tears_down(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(JobStopped):
        with open_shadow_endpoint(_predictor(model_name="lr"), backend="subprocess",
                                  models_file=_models_file(tmp_path), stop_event=stop):
            pytest.fail("the endpoint must not open after a stop")
    assert registry.pending() == []


def test_sagemaker_backend_creates_waits_and_deletes(
    tmp_path: Path, moto_server: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName="lr", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
                    PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://b/m.tar.gz"})
    model_dir = write_sklearn_model_dir(tmp_path / "model")
    _, x = train_sklearn_classifier()
    with running_endpoint(model_dir) as runtime_url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", runtime_url)
        pred = _predictor(model_name="lr", endpoint_name_prefix="gc-test")
        with open_shadow_endpoint(pred, backend="sagemaker") as handle:
            assert handle.endpoint_name.startswith("gc-test-lr-")
            desc = sm.describe_endpoint(EndpointName=handle.endpoint_name)
            assert desc["EndpointStatus"] == "InService"
            config = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])
            variant = config["ProductionVariants"][0]
            assert (variant["ModelName"], variant["InstanceType"]) == ("lr", "ml.m5.xlarge")
            runtime = boto3.client("sagemaker-runtime", region_name=REGION)
            answer = runtime.invoke_endpoint(EndpointName=handle.endpoint_name, ContentType="text/csv",
                                             Accept="application/json", Body=",".join(map(str, x[0])))
            body = answer["Body"].read()
            assert len(json.loads(body)) >= 1
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert "Creating endpoint-config with name sm-clarify-config-" in caplog.text
    assert "Deleting endpoint with name: gc-test-lr-" in caplog.text


def test_existing_endpoint_is_used_and_never_deleted(moto_server: str) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName="lr", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
                    PrimaryContainer={"Image": "img"})
    sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[
        {"VariantName": "v", "ModelName": "lr", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="users-endpoint", EndpointConfigName="cfg")
    with open_shadow_endpoint(_predictor(endpoint_name="users-endpoint", model_name="lr")) as handle:
        assert handle.endpoint_name == "users-endpoint" and handle.urls == ()
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["users-endpoint"]


def test_backend_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLARIFY_RUNNER_ENDPOINT_BACKEND", raising=False)
    assert choose_backend("subprocess") == "subprocess"
    with pytest.raises(ConfigError, match="'kubernetes'"):
        choose_backend("kubernetes")
    monkeypatch.setenv("CLARIFY_RUNNER_ENDPOINT_BACKEND", "sagemaker")
    assert choose_backend("auto") == "sagemaker"
    monkeypatch.delenv("CLARIFY_RUNNER_ENDPOINT_BACKEND")
    (tmp_path / "config").mkdir()
    job = tmp_path / "config" / "processingjobconfig.json"
    job.write_text(json.dumps({"ProcessingJobArn": "local-job-name"}))
    assert not in_sagemaker_job(tmp_path)
    job.write_text(json.dumps({"ProcessingJobArn": "arn:aws:sagemaker:us-east-1:1:processing-job/x"}))
    assert in_sagemaker_job(tmp_path)
    # No Docker socket: a SageMaker job uses SageMaker, anything else local subprocesses.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    assert choose_backend("auto", opt_ml=tmp_path) == "sagemaker"
    job.write_text(json.dumps({"ProcessingJobArn": "local-job-name"}))
    assert choose_backend("auto", opt_ml=tmp_path) == "subprocess"


def test_predictor_without_model_or_endpoint_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="model_name or endpoint_name"):
        with open_shadow_endpoint(_predictor()):
            pass
