"""The real SageMaker Python SDK v2 in local mode drives the clarify-runner image.

An unmodified SDK script changes two things: the processor's image URI (the SDK has no
``image_uri`` argument for ``SageMakerClarifyProcessor``; the attribute is set after
construction) and the S3 endpoint of its ``LocalSession`` (moto here). The SDK then uploads the
analysis config to the emulated S3, downloads the inputs, runs the image with
``docker compose`` on the ``sagemaker-local`` network and uploads ``/opt/ml/processing/output``.

A model-backed job also needs, inside the job container, the model's artifacts and its
description: either the model is registered in moto (``CreateModel``) as it would be in
SageMaker and the processor's ``env=`` names moto's address and a region
(:meth:`Emulator.model_env`), or ``env=`` gives ``CLARIFY_RUNNER_MODELS_FILE`` as JSON text.

The SDK calls of the selected tests run side by side (the ``sdk_runs`` fixture); each test
waits for its own and checks its outputs and its job containers' logs.

The SDK script itself is ``tests/sdk_local_driver.py``, run with a separate virtualenv
(``.venv-sdk``, made on first use with ``sagemaker[local]==SDK_VERSION``; or
``CLARIFY_RUNNER_SDK_PYTHON``): the SDK's dependency ``smdebug-rulesconfig`` installs a
top-level ``tests`` package that would shadow this project's ``tests`` folder.

Needs a Docker engine, ``docker compose`` or ``docker-compose``, and the images of
``scripts/build-image`` (``CLARIFY_RUNNER_IMAGE``, ``MOTO_IMAGE``; built by the session fixture
unless ``CLARIFY_RUNNER_SKIP_IMAGE_BUILD=1``). Skipped otherwise.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from _container_helpers import REPO_ROOT
from _docker_helpers import (  # noqa: F401 - fixtures
    built_images_fixture,
    docker_client_fixture,
)

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
SDK_VERSION = "2.257.7"
SDK_VENV = REPO_ROOT / ".venv-sdk"
DRIVER = Path(__file__).with_name("sdk_local_driver.py")


def _sdk_python() -> str:
    """The interpreter of a virtualenv holding the SDK (made once; skip when it cannot be)."""
    given = os.environ.get("CLARIFY_RUNNER_SDK_PYTHON")
    python = given or str(SDK_VENV / "bin" / "python")
    check = [python, "-c", f"import sagemaker, yaml; assert sagemaker.__version__ == {SDK_VERSION!r}"]
    env = {**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
    if Path(python).exists() and subprocess.run(check, capture_output=True, env=env).returncode == 0:
        return python
    if given:
        pytest.skip(f"CLARIFY_RUNNER_SDK_PYTHON={given} has no sagemaker=={SDK_VERSION}")
    uv = shutil.which("uv")
    steps = (
        [[uv, "venv", "-q", str(SDK_VENV), "--python", sys.executable],
         [uv, "pip", "install", "-q", "--python", python, f"sagemaker[local]=={SDK_VERSION}"]]
        if uv
        else [[sys.executable, "-m", "venv", str(SDK_VENV)],
              [python, "-m", "pip", "install", "-q", f"sagemaker[local]=={SDK_VERSION}"]]
    )  # fmt: skip
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            pytest.skip(f"cannot install the SageMaker SDK into {SDK_VENV}: {proc.stderr[-1500:]}")
    return python


@pytest.fixture(scope="module")
def sdk_python() -> str:
    return _sdk_python()


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
        sm.create_model(  # the same model answering p0,p1 (model_scores=1 selects p1)
            ModelName=P0P1_MODEL,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": built_images["image"],
                "ModelDataUrl": f"s3://{bucket}/model/model.tar.gz",
                "Environment": {"SAGEMAKER_INFERENCE_OUTPUT": "probabilities"},
            },
        )
        yield Emulator(bucket, host_url, f"http://{name}:5000", frame, booster)
    finally:
        moto.remove(force=True)
        if created_network is not None:
            created_network.remove()


JOB_ENV = "CLARIFY_RUNNER_SDK_TEST_JOB"  # marks a job's containers for the test (read by nobody)


@dataclass
class SdkRun:
    """One SDK call's outcome: the driver process and the job containers it left."""

    proc: subprocess.CompletedProcess[str]
    containers: list[Any]
    seconds: float

    def logs(self) -> str:
        return "\n".join(c.logs().decode("utf-8", errors="replace") for c in self.containers)


def run_sdk(
    emu: Emulator,
    sdk_python: str,
    image: str,
    call: str,
    prefix: str,
    *,
    env: dict[str, str] | None = None,
    instance_count: int = 1,
    model_name: str = MODEL_NAME,
    **extra: Any,
) -> subprocess.CompletedProcess[str]:
    """Run one SDK call (tests/sdk_local_driver.py) with the SDK's virtualenv."""
    job = {
        "region": REGION,
        "s3_endpoint_url": emu.host_url,
        "bucket": emu.bucket,
        "role": ROLE,
        "image": image,
        "env": {**(env or {}), JOB_ENV: prefix},
        "instance_count": instance_count,
        "prefix": prefix,
        "headers": HEADERS,
        "model_name": model_name,
        "threshold": THRESHOLD,
        "baseline": [emu.frame[FEATURES].median().round().astype(int).tolist()],
        "call": call,
        **extra,
    }
    return subprocess.run(
        [sdk_python, str(DRIVER), json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"},
    )


P0P1_MODEL = "sdk-test-xgboost-p0p1"


def _jobs(emu: Emulator) -> dict[str, dict[str, Any]]:
    """Every SDK call of this module: test name -> run_sdk arguments (the prefix is the name)."""
    inline_models = {MODEL_NAME: {"model_data_url": f"s3://{emu.bucket}/model/model.tar.gz"}}
    return {
        "test_pre_training_bias": {"call": "pre_training_bias"},
        "test_post_training_bias_with_a_model": {
            "call": "post_training_bias",
            "env": {"AWS_ENDPOINT_URL_S3": emu.network_url,
                    "CLARIFY_RUNNER_MODELS_FILE": json.dumps(inline_models)},
        },
        "test_shap_and_pdp": {"call": "explainability", "env": emu.model_env()},
        "test_run_bias_and_explainability": {"call": "bias_and_explainability", "env": emu.model_env()},
        "test_missing_region_is_a_user_error_naming_the_variable": {
            "call": "post_training_bias", "env": emu.model_env(region=False)
        },
        "test_two_hosts_fail_clearly": {"call": "pre_training_bias", "instance_count": 2},
        "test_model_scores_index_selects_the_explained_column": {
            "call": "explainability", "env": emu.model_env(), "model_name": P0P1_MODEL,
            "model_scores": 1, "pdp": False,
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def sdk_runs(
    request: pytest.FixtureRequest,
    emulator: Emulator,
    sdk_python: str,
    built_images: dict[str, str],
    docker_client: Any,
) -> Iterator[dict[str, Future[SdkRun]]]:
    """Start the SDK calls of the selected tests at once (each test waits for its own).

    The jobs are independent (own prefix, own compose project); running them side by side
    takes the module from ~9.5 minutes (one after the other) to a few. Their containers are
    found by the ``JOB_ENV`` marker in their environment and removed at the end (SDK local
    mode never runs ``down``).
    """
    selected = {item.originalname for item in request.session.items if item.module is request.module}
    jobs = {name: spec for name, spec in _jobs(emulator).items() if name in selected}
    image = built_images["image"]

    def one(name: str, spec: dict[str, Any]) -> SdkRun:
        spec = dict(spec)
        start = time.monotonic()
        proc = run_sdk(emulator, sdk_python, image, spec.pop("call"), name, **spec)
        seconds = time.monotonic() - start
        print(f"\n{name}: the SDK call took {seconds:.0f} s")
        return SdkRun(proc, _job_containers(docker_client, name), seconds)

    pool = ThreadPoolExecutor(max_workers=len(jobs) or 1, thread_name_prefix="sdk-job")
    futures = {name: pool.submit(one, name, spec) for name, spec in jobs.items()}
    try:
        yield futures
    finally:
        pool.shutdown(wait=True)
        for name in jobs:
            for c in _job_containers(docker_client, name):
                c.remove(force=True)


def _job_containers(docker_client: Any, name: str) -> list[Any]:
    marker = f"{JOB_ENV}={name}"
    found = docker_client.containers.list(all=True, filters={"label": "com.docker.compose.service"})
    return [c for c in found if marker in (c.attrs["Config"].get("Env") or [])]


def _ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


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


def test_pre_training_bias(emulator: Emulator, sdk_runs: dict[str, Future[SdkRun]]) -> None:
    """Only the image URI and the LocalSession's S3 endpoint differ from an AWS script."""
    prefix = "test_pre_training_bias"
    run = sdk_runs[prefix].result()
    _ok(run.proc)
    analysis = emulator.analysis(prefix)
    section = analysis["pre_training_bias_metrics"]
    assert section["label"] == "approved" and section["facets"]["sex"][0]["value_or_threshold"] == "0"
    _assert_close(_metrics(section["facets"]["sex"]), _expected_bias(emulator, "pre_training"))
    assert {"analysis.json", "report.html", "report.ipynb", "report.pdf"} <= set(emulator.keys(prefix))
    logs = run.logs()
    assert "Column approved with data uniqueness fraction" in logs
    pdf_line = "PDF report '/opt/ml/processing/output/report.pdf' generated successfully."
    collected = re.search(r"Collected analyses: \s*\{", logs)
    assert collected is not None and logs.index(pdf_line) < collected.start()


def test_post_training_bias_with_a_model(emulator: Emulator, sdk_runs: dict[str, Future[SdkRun]]) -> None:
    """XGBoost answers P(1) per record; probability_threshold=0.6 makes the predicted labels.

    The model is named by CLARIFY_RUNNER_MODELS_FILE as JSON text in the SDK's env= (no region,
    no SageMaker API); the SHAP tests below find theirs through DescribeModel on moto.
    """
    prefix = "test_post_training_bias_with_a_model"
    run = sdk_runs[prefix].result()
    _ok(run.proc)
    section = emulator.analysis(prefix)["post_training_bias_metrics"]
    _assert_close(_metrics(section["facets"]["sex"]), _expected_bias(emulator, "post_training"))
    logs = run.logs()
    order = ["Loaded dataset.", "Spinning up shadow endpoint", "Using endpoint name: ", "Endpoint ready.",
             "We assume a prediction above 0.600 indicates 1 and below or equal indicates 0."]
    positions = [logs.index(text) for text in order]
    assert positions == sorted(positions)


def test_shap_and_pdp(emulator: Emulator, sdk_runs: dict[str, Future[SdkRun]]) -> None:
    prefix = "test_shap_and_pdp"
    run = sdk_runs[prefix].result()
    _ok(run.proc)
    analysis = emulator.analysis(prefix)
    _assert_shap_adds_up(emulator, prefix, analysis)
    pdp = analysis["explanations"]["pdp"]
    assert [p["feature_name"] for p in pdp] == ["age", "income"]
    assert all(len(p["model_predictions"][0]) == 5 for p in pdp)
    logs = run.logs()
    out = "/opt/ml/processing/output/explanations_shap"
    for line in ["SHAP n_samples 60",
                 f"Wrote baseline used to compute explanations to: {out}/baseline.csv",
                 f"Wrote {len(emulator.frame)} local explanations to: {out}/out.csv",
                 "Shap analysis finished."]:  # fmt: skip
        assert line in logs, line


def test_run_bias_and_explainability(emulator: Emulator, sdk_runs: dict[str, Future[SdkRun]]) -> None:
    prefix = "test_run_bias_and_explainability"
    _ok(sdk_runs[prefix].result().proc)
    analysis = emulator.analysis(prefix)
    pre = analysis["pre_training_bias_metrics"]["facets"]["sex"]
    post = analysis["post_training_bias_metrics"]["facets"]["sex"]
    _assert_close(_metrics(pre), _expected_bias(emulator, "pre_training"))
    _assert_close(_metrics(post), _expected_bias(emulator, "post_training"))
    _assert_shap_adds_up(emulator, prefix, analysis)
    assert "pdp" in analysis["explanations"]


def test_missing_region_is_a_user_error_naming_the_variable(
    emulator: Emulator, sdk_runs: dict[str, Future[SdkRun]]
) -> None:
    prefix = "test_missing_region_is_a_user_error_naming_the_variable"
    run = sdk_runs[prefix].result()
    assert run.proc.returncode == 3  # the SDK raised: the job failed
    (job,) = run.containers
    logs = run.logs()
    assert job.attrs["State"]["ExitCode"] == 1, logs[-3000:]
    assert "AWS_DEFAULT_REGION" in logs
    assert "analysis.json" not in emulator.keys(prefix)


def test_two_hosts_fail_clearly(emulator: Emulator, sdk_runs: dict[str, Future[SdkRun]]) -> None:
    prefix = "test_two_hosts_fail_clearly"
    run = sdk_runs[prefix].result()
    assert run.proc.returncode == 3, "the SDK reported success"
    assert len(run.containers) == 2
    for job in run.containers:
        logs = job.logs().decode("utf-8", errors="replace")
        assert job.attrs["State"]["ExitCode"] == 1, logs[-3000:]
        assert "This processing job has 2 hosts" in logs
    assert "analysis.json" not in emulator.keys(prefix)


def test_model_scores_index_selects_the_explained_column(
    emulator: Emulator, sdk_runs: dict[str, Future[SdkRun]]
) -> None:
    """The model answers p0,p1 (SAGEMAKER_INFERENCE_OUTPUT=probabilities); model_scores=1 picks P(1)."""
    prefix = "test_model_scores_index_selects_the_explained_column"
    _ok(sdk_runs[prefix].result().proc)
    _assert_shap_adds_up(emulator, prefix, emulator.analysis(prefix))
