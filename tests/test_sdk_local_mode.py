"""The real SageMaker Python SDK v2 in local mode drives the clarify-runner image.

An unmodified SDK script changes two things: the processor's image URI (the SDK has no
``image_uri`` argument for ``SageMakerClarifyProcessor``; the attribute is set after
construction) and the S3 endpoint of its ``LocalSession`` (moto here). The SDK then uploads the
analysis config to the emulated S3, downloads the inputs, runs the image with
``docker compose`` on the ``sagemaker-local`` network and uploads ``/opt/ml/processing/output``.

A model-backed job also needs, inside the job container, the model's artifacts and its
description: the model is registered in moto (``CreateModel``) as it would be in SageMaker, and
the processor's ``env=`` names moto's address and a region (``MODEL_ENV``). Tests marked
``xfail(strict=True)`` assert Clarify's behaviour where a named piece of issue 14 is missing;
the lead flips them when it lands.

Needs a Docker engine, ``docker compose`` or ``docker-compose``, and the images of
``scripts/build-image`` (``CLARIFY_RUNNER_IMAGE``, ``MOTO_IMAGE``; built by the session fixture
unless ``CLARIFY_RUNNER_SKIP_IMAGE_BUILD=1``). Skipped otherwise.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from _docker_helpers import (  # noqa: F401 - fixtures
    built_images_fixture,
    docker_client_fixture,
)

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
clarify = pytest.importorskip("sagemaker.clarify")
local = pytest.importorskip("sagemaker.local")

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
SDK_NETWORK = "sagemaker-local"  # the network SDK local mode puts its job containers on
TEST_LABEL = "clarify-runner.sdk-test"
MODEL_NAME = "sdk-test-xgboost"
HEADERS = ["approved", "sex", "age", "income", "hours", "tenure"]
FEATURES = HEADERS[1:]
THRESHOLD = 0.6
# The SDK sends usage telemetry to an AWS S3 URL after every job; nothing may leave this machine.
SDK_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def _compose_available() -> str | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return None
    if shutil.which("docker-compose"):
        return None
    return "SDK local mode needs `docker compose` or `docker-compose`; neither is installed"


@dataclass
class Emulator:
    """moto on the SDK's network, the test bucket and what the tests share."""

    bucket: str
    host_url: str  # for the SDK on the host (127.0.0.1:<port>)
    network_url: str  # for the job container (http://<moto container>:5000)
    frame: pd.DataFrame
    booster: Any

    def s3(self) -> Any:
        return boto3.client("s3", endpoint_url=self.host_url, region_name=REGION, **CREDENTIALS)

    def session(self) -> Any:
        """The SDK's LocalSession, pointed at the emulated S3: the one change besides the image."""
        boto_session = boto3.Session(region_name=REGION, **CREDENTIALS)
        return local.LocalSession(
            boto_session=boto_session,
            s3_endpoint_url=self.host_url,
            default_bucket=self.bucket,
            sagemaker_config=SDK_CONFIG,
        )

    def model_env(self, region: bool = True) -> dict[str, str]:
        """What a model-backed job needs today inside the container (see the module docstring)."""
        env = {
            "AWS_ENDPOINT_URL_S3": self.network_url,
            "AWS_ENDPOINT_URL_SAGEMAKER": self.network_url,
        }
        if region:
            env["AWS_DEFAULT_REGION"] = REGION
        return env

    def analysis(self, prefix: str) -> dict[str, Any]:
        body = self.s3().get_object(Bucket=self.bucket, Key=f"{prefix}/analysis.json")["Body"].read()
        return json.loads(body)

    def keys(self, prefix: str) -> list[str]:
        resp = self.s3().list_objects_v2(Bucket=self.bucket, Prefix=prefix + "/")
        return sorted(o["Key"][len(prefix) + 1 :] for o in resp.get("Contents", []))

    def scores(self, rows: np.ndarray) -> np.ndarray:
        import xgboost

        return self.booster.predict(xgboost.DMatrix(np.asarray(rows, dtype=np.float64)))


def _dataset(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "sex": rng.integers(0, 2, n),
            "age": rng.integers(18, 80, n),
            "income": rng.integers(10, 200, n) * 1000,
            "hours": rng.integers(10, 60, n),
            "tenure": rng.integers(0, 30, n),
        }
    )
    logit = 0.04 * (frame["age"] - 45) + frame["income"] / 60_000 - 1.5 + 0.8 * frame["sex"]
    frame.insert(0, "approved", (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int))
    return frame


def _train(frame: pd.DataFrame) -> Any:
    import xgboost

    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "nthread": 1, "seed": 0}
    dtrain = xgboost.DMatrix(frame[FEATURES].to_numpy(np.float64), label=frame["approved"])
    return xgboost.train(params, dtrain, num_boost_round=20)


def _model_tarball(booster: Any, folder: Path) -> bytes:
    path = folder / "model.json"
    booster.save_model(path)
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w:gz") as tar:
        tar.add(path, arcname="model.json")
    return sink.getvalue()


@pytest.fixture(scope="module")
def emulator(docker_client: Any, built_images: dict[str, str], tmp_path_factory: Any) -> Iterator[Emulator]:
    reason = _compose_available()
    if reason:
        pytest.skip(reason)
    import docker

    created_network = None
    try:
        docker_client.networks.get(SDK_NETWORK)
    except docker.errors.NotFound:
        created_network = docker_client.networks.create(SDK_NETWORK, driver="bridge")
    name = f"sdk-moto-{secrets.token_hex(4)}"
    moto = docker_client.containers.run(
        built_images["moto"],
        detach=True,
        name=name,
        labels={TEST_LABEL: "moto"},
        network=SDK_NETWORK,
        ports={"5000/tcp": ("127.0.0.1", None)},
    )
    try:
        moto.reload()
        port = moto.attrs["NetworkSettings"]["Ports"]["5000/tcp"][0]["HostPort"]
        host_url = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=host_url, region_name=REGION, **CREDENTIALS)
        deadline = time.monotonic() + 60
        while True:
            try:
                s3.list_buckets()
                break
            except Exception:  # noqa: BLE001 - moto is still starting
                if time.monotonic() > deadline:
                    pytest.fail(f"moto did not answer: {moto.logs().decode()[-2000:]}")
                time.sleep(0.5)
        bucket = "clarify-runner-sdk-test"
        s3.create_bucket(Bucket=bucket)
        frame = _dataset()
        s3.put_object(Bucket=bucket, Key="data/train.csv", Body=frame.to_csv(index=False, header=False))
        booster = _train(frame)
        tarball = _model_tarball(booster, tmp_path_factory.mktemp("model"))
        s3.put_object(Bucket=bucket, Key="model/model.tar.gz", Body=tarball)
        sm = boto3.client("sagemaker", endpoint_url=host_url, region_name=REGION, **CREDENTIALS)
        sm.create_model(
            ModelName=MODEL_NAME,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": built_images["image"],
                "ModelDataUrl": f"s3://{bucket}/model/model.tar.gz",
            },
        )
        yield Emulator(bucket, host_url, f"http://{name}:5000", frame, booster)
    finally:
        moto.remove(force=True)
        if created_network is not None:
            created_network.remove()


@pytest.fixture
def job_containers(docker_client: Any, built_images: dict[str, str]) -> Iterator[None]:
    """Remove the compose containers SDK local mode leaves behind (it never runs `down`)."""
    before = {c.id for c in docker_client.containers.list(all=True)}
    yield
    for c in docker_client.containers.list(all=True, filters={"label": "com.docker.compose.service"}):
        if c.id not in before and c.attrs["Config"]["Image"] == built_images["image"]:
            c.remove(force=True)


def _processor(emu: Emulator, image: str, env: dict[str, str] | None = None, count: int = 1) -> Any:
    processor = clarify.SageMakerClarifyProcessor(
        role=ROLE,
        instance_count=count,
        instance_type="local",
        sagemaker_session=emu.session(),
        env=env,
    )
    processor.image_uri = image  # the SDK retrieves AWS's Clarify image; point it at ours
    return processor


def _data_config(emu: Emulator, prefix: str) -> Any:
    return clarify.DataConfig(
        s3_data_input_path=f"s3://{emu.bucket}/data/train.csv",
        s3_output_path=f"s3://{emu.bucket}/{prefix}",
        label="approved",
        headers=HEADERS,
        dataset_type="text/csv",
    )


def _bias_config() -> Any:
    return clarify.BiasConfig(
        label_values_or_threshold=[1], facet_name="sex", facet_values_or_threshold=[0], group_name="tenure"
    )


def _model_config() -> Any:
    return clarify.ModelConfig(
        model_name=MODEL_NAME,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        accept_type="text/csv",
        content_type="text/csv",
    )


def _shap_pdp(emu: Emulator) -> list[Any]:
    baseline = [emu.frame[FEATURES].median().round().astype(int).tolist()]
    shap = clarify.SHAPConfig(
        baseline=baseline, num_samples=60, agg_method="mean_abs", save_local_shap_values=True, seed=1
    )
    pdp = clarify.PDPConfig(features=["age", "income"], grid_resolution=5)
    return [shap, pdp]


def _metrics(section: list[dict[str, Any]]) -> dict[str, float]:
    return {m["name"]: m["value"] for m in section[0]["metrics"]}


def _expected_bias(emu: Emulator, stage: str) -> dict[str, float]:
    """The same metrics computed in process on the same data (and model, post-training)."""
    from analyzer.bias import FacetSpec, bias_section

    frame = emu.frame.copy()
    predicted = None
    if stage == "post_training":
        frame["predicted"] = (emu.scores(frame[FEATURES].to_numpy()) > THRESHOLD).astype(int)
        predicted = "predicted"
    out = bias_section(
        frame,
        stage=stage,  # type: ignore[arg-type]
        label="approved",
        label_values_or_threshold=[1],
        facets=[FacetSpec("sex", [0])],
        methods="all",
        predicted_label=predicted,
        group_variable="tenure",
        predicted_label_values_or_threshold=[1] if predicted else None,
    )
    return {m["name"]: m["value"] for m in out["facets"]["sex"][0]["metrics"]}


def _assert_close(got: dict[str, float], want: dict[str, float]) -> None:
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def _assert_shap_adds_up(emu: Emulator, prefix: str, analysis: dict[str, Any]) -> None:
    (label,) = analysis["explanations"]["kernel_shap"]  # one score per record: one label
    expected_value = analysis["explanations"]["kernel_shap"][label]["expected_value"]
    body = emu.s3().get_object(Bucket=emu.bucket, Key=f"{prefix}/explanations_shap/out.csv")["Body"].read()
    local_values = pd.read_csv(io.BytesIO(body))
    assert len(local_values) == len(emu.frame)
    gap = emu.scores(emu.frame[FEATURES].to_numpy()) - expected_value
    np.testing.assert_allclose(local_values.to_numpy().sum(axis=1), gap, atol=1e-5)


# ------------------------------------------------------------------------------- the SDK calls


def test_pre_training_bias(emulator: Emulator, built_images: dict[str, str], job_containers: None) -> None:
    """Only the image URI and the LocalSession's S3 endpoint differ from an AWS script."""
    prefix = "out/pre"
    processor = _processor(emulator, built_images["image"])
    processor.run_pre_training_bias(
        data_config=_data_config(emulator, prefix), data_bias_config=_bias_config(), methods="all"
    )
    analysis = emulator.analysis(prefix)
    section = analysis["pre_training_bias_metrics"]
    assert section["label"] == "approved" and section["facets"]["sex"][0]["value_or_threshold"] == "0"
    _assert_close(_metrics(section["facets"]["sex"]), _expected_bias(emulator, "pre_training"))
    assert {"analysis.json", "report.html", "report.ipynb", "report.pdf"} <= set(emulator.keys(prefix))


def test_post_training_bias_with_a_model(
    emulator: Emulator, built_images: dict[str, str], job_containers: None
) -> None:
    """XGBoost answers P(1) per record; probability_threshold=0.6 makes the predicted labels."""
    prefix = "out/post"
    processor = _processor(emulator, built_images["image"], env=emulator.model_env())
    processor.run_post_training_bias(
        data_config=_data_config(emulator, prefix),
        data_bias_config=_bias_config(),
        model_config=_model_config(),
        model_predicted_label_config=clarify.ModelPredictedLabelConfig(probability_threshold=THRESHOLD),
        methods="all",
    )
    section = emulator.analysis(prefix)["post_training_bias_metrics"]
    _assert_close(_metrics(section["facets"]["sex"]), _expected_bias(emulator, "post_training"))


def test_shap_and_pdp(emulator: Emulator, built_images: dict[str, str], job_containers: None) -> None:
    prefix = "out/explain"
    processor = _processor(emulator, built_images["image"], env=emulator.model_env())
    processor.run_explainability(
        data_config=_data_config(emulator, prefix),
        model_config=_model_config(),
        explainability_config=_shap_pdp(emulator),
    )
    analysis = emulator.analysis(prefix)
    _assert_shap_adds_up(emulator, prefix, analysis)
    pdp = analysis["explanations"]["pdp"]
    assert [p["feature_name"] for p in pdp] == ["age", "income"]
    assert all(len(p["model_predictions"][0]) == 5 for p in pdp)


def test_run_bias_and_explainability(
    emulator: Emulator, built_images: dict[str, str], job_containers: None
) -> None:
    prefix = "out/both"
    processor = _processor(emulator, built_images["image"], env=emulator.model_env())
    processor.run_bias_and_explainability(
        data_config=_data_config(emulator, prefix),
        model_config=_model_config(),
        explainability_config=_shap_pdp(emulator),
        bias_config=_bias_config(),
        model_predicted_label_config=clarify.ModelPredictedLabelConfig(probability_threshold=THRESHOLD),
    )
    analysis = emulator.analysis(prefix)
    _assert_close(
        _metrics(analysis["pre_training_bias_metrics"]["facets"]["sex"]),
        _expected_bias(emulator, "pre_training"),
    )
    _assert_close(
        _metrics(analysis["post_training_bias_metrics"]["facets"]["sex"]),
        _expected_bias(emulator, "post_training"),
    )
    _assert_shap_adds_up(emulator, prefix, analysis)
    assert "pdp" in analysis["explanations"]


# ------------------------------------------------------------- what issue 14 still has to deliver


@pytest.mark.xfail(
    strict=True,
    reason="issue 14 item 2: CLARIFY_RUNNER_MODELS_FILE accepts only a local path, not inline JSON "
    "or an s3:// URI, so env= alone cannot name the model",
)
def test_models_file_given_inline_through_env(
    emulator: Emulator, built_images: dict[str, str], job_containers: None
) -> None:
    prefix = "out/inline-models"
    models = {MODEL_NAME: {"model_data_url": f"s3://{emulator.bucket}/model/model.tar.gz"}}
    env = {"AWS_ENDPOINT_URL_S3": emulator.network_url, "CLARIFY_RUNNER_MODELS_FILE": json.dumps(models)}
    processor = _processor(emulator, built_images["image"], env=env)
    processor.run_post_training_bias(
        data_config=_data_config(emulator, prefix),
        data_bias_config=_bias_config(),
        model_config=_model_config(),
        model_predicted_label_config=clarify.ModelPredictedLabelConfig(probability_threshold=THRESHOLD),
        methods="all",
    )
    section = emulator.analysis(prefix)["post_training_bias_metrics"]
    _assert_close(_metrics(section["facets"]["sex"]), _expected_bias(emulator, "post_training"))


@pytest.mark.xfail(
    strict=True,
    reason="issue 14 item 2: without AWS_DEFAULT_REGION, DescribeModel raises NoRegionError (exit 2, "
    "internal error) instead of a user error (exit 1) naming AWS_DEFAULT_REGION",
)
def test_missing_region_is_a_user_error_naming_the_variable(
    emulator: Emulator, built_images: dict[str, str], docker_client: Any, job_containers: None
) -> None:
    prefix = "out/no-region"
    before = {c.id for c in docker_client.containers.list(all=True)}
    processor = _processor(emulator, built_images["image"], env=emulator.model_env(region=False))
    try:
        processor.run_post_training_bias(
            data_config=_data_config(emulator, prefix),
            data_bias_config=_bias_config(),
            model_config=_model_config(),
            model_predicted_label_config=clarify.ModelPredictedLabelConfig(probability_threshold=THRESHOLD),
            methods="all",
        )
    except RuntimeError:
        pass  # compose reports the failed container; the assertions below check how it failed
    (job,) = [c for c in docker_client.containers.list(all=True) if c.id not in before]
    logs = job.logs().decode("utf-8", errors="replace")
    assert job.attrs["State"]["ExitCode"] == 1, logs[-3000:]
    assert "AWS_DEFAULT_REGION" in logs
    assert "analysis.json" not in emulator.keys(prefix)


@pytest.mark.xfail(
    strict=True,
    reason="issue 14 item 4: with instance_count=2 the non-leader host exits at once, compose stops "
    "the leader, and the SDK reports success with no analysis.json; every host must exit 1 instead",
)
def test_two_hosts_fail_clearly(emulator: Emulator, built_images: dict[str, str], docker_client: Any) -> None:
    prefix = "out/two-hosts"
    before = {c.id for c in docker_client.containers.list(all=True)}
    processor = _processor(emulator, built_images["image"], count=2)
    try:
        with pytest.raises(RuntimeError):
            processor.run_pre_training_bias(
                data_config=_data_config(emulator, prefix), data_bias_config=_bias_config(), methods="all"
            )
        jobs = [c for c in docker_client.containers.list(all=True) if c.id not in before]
        assert len(jobs) == 2
        for job in jobs:
            assert job.attrs["State"]["ExitCode"] == 1
            assert "host" in job.logs().decode("utf-8", errors="replace").lower()
    finally:
        for c in docker_client.containers.list(all=True):
            if c.id not in before and c.attrs["Config"]["Image"] == built_images["image"]:
                c.remove(force=True)


@pytest.mark.xfail(
    strict=True,
    reason="issue 14 item 1: explanations ignore predictor.label as the score locator "
    "(model_scores=1 on a p0,p1 answer must explain column 1 only)",
)
def test_model_scores_index_selects_the_explained_column(
    emulator: Emulator, built_images: dict[str, str], job_containers: None
) -> None:
    """The model answers p0,p1 (SAGEMAKER_INFERENCE_OUTPUT=probabilities); model_scores=1 picks P(1)."""
    prefix = "out/model-scores"
    sm = boto3.client("sagemaker", endpoint_url=emulator.host_url, region_name=REGION, **CREDENTIALS)
    name = "sdk-test-xgboost-p0p1"
    try:
        sm.describe_model(ModelName=name)
    except Exception:  # noqa: BLE001 - not registered yet
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": built_images["image"],
                "ModelDataUrl": f"s3://{emulator.bucket}/model/model.tar.gz",
                "Environment": {"SAGEMAKER_INFERENCE_OUTPUT": "probabilities"},
            },
        )
    model_config = clarify.ModelConfig(
        model_name=name,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        accept_type="text/csv",
        content_type="text/csv",
    )
    processor = _processor(emulator, built_images["image"], env=emulator.model_env())
    processor.run_explainability(
        data_config=_data_config(emulator, prefix),
        model_config=model_config,
        explainability_config=_shap_pdp(emulator)[0],
        model_scores=1,
    )
    _assert_shap_adds_up(emulator, prefix, emulator.analysis(prefix))
