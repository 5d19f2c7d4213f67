"""Resolving a model (models file, SageMaker DescribeModel on moto) and unpacking its artifacts."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import boto3
import pytest
from _container_helpers import REGION, moto_server_fixture, s3, tar_gz  # noqa: F401 - fixture

from analyzer.errors import ConfigError, ModelError
from container.endpoints.models import fetch_model_data, resolve_model, spec_from_models_file


def _model_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "model.joblib").write_bytes(b"not really a model")
    (path / "extra.txt").write_text("x")
    return path


def test_models_file_entry_with_relative_archive(tmp_path: Path) -> None:
    tar_gz(_model_folder(tmp_path / "m"), tmp_path / "model.tar.gz")
    models = tmp_path / "models.json"
    models.write_text(json.dumps({"gc": {"image": "img:1", "model_data_url": "model.tar.gz",
                                         "environment": {"A": 1}}}))
    spec = resolve_model("gc", models)
    assert spec.image == "img:1"
    assert spec.environment == {"A": "1"}
    assert spec.model_data_url == str(tmp_path / "model.tar.gz")
    unpacked = fetch_model_data(spec.model_data_url, tmp_path / "work")
    assert sorted(p.name for p in unpacked.iterdir()) == ["extra.txt", "model.joblib"]


def test_models_file_errors_name_the_model_and_file(tmp_path: Path) -> None:
    models = tmp_path / "models.json"
    models.write_text(json.dumps({"other": {}}))
    with pytest.raises(ConfigError, match="'gc'.*known: other"):
        spec_from_models_file("gc", models)
    models.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        spec_from_models_file("gc", models)


def test_local_folder_is_used_as_is_and_missing_path_is_a_model_error(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m")
    assert fetch_model_data(str(folder), tmp_path / "w") == folder
    with pytest.raises(ModelError, match="does not exist"):
        fetch_model_data(str(tmp_path / "nope"), tmp_path / "w")


def test_archive_escaping_the_model_folder_is_rejected(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ModelError, match=r"\.\./escape\.txt"):
        fetch_model_data(str(archive), tmp_path / "w")
    assert not (tmp_path / "escape.txt").exists()


def test_describe_model_on_moto_and_s3_archive(tmp_path: Path, moto_server: str) -> None:
    client = s3(moto_server)
    client.create_bucket(Bucket="models")
    archive = tar_gz(_model_folder(tmp_path / "m"), tmp_path / "model.tar.gz")
    client.upload_file(str(archive), "models", "gc/model.tar.gz")
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(
        ModelName="gc",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={"Image": "clarify-runner:latest", "ModelDataUrl": "s3://models/gc/model.tar.gz",
                          "Environment": {"SAGEMAKER_PROGRAM": "x"}},
    )
    spec = resolve_model("gc")
    assert (spec.image, spec.model_data_url) == ("clarify-runner:latest", "s3://models/gc/model.tar.gz")
    assert spec.environment == {"SAGEMAKER_PROGRAM": "x"}
    unpacked = fetch_model_data(spec.model_data_url, tmp_path / "w")
    assert (unpacked / "model.joblib").read_bytes() == b"not really a model"
    with pytest.raises(ModelError, match="'missing'"):
        resolve_model("missing")


def test_models_file_given_inline_or_as_an_s3_uri(tmp_path: Path, moto_server: str) -> None:
    """An SDK ``env=`` alone can name the model: JSON text, or an ``s3://`` URI of the file."""
    inline = json.dumps({"gc": {"model_data_url": "s3://models/gc/model.tar.gz", "environment": {"A": 1}}})
    spec = resolve_model("gc", inline)
    assert (spec.image, spec.environment) == (None, {"A": "1"})
    assert spec.model_data_url == "s3://models/gc/model.tar.gz"
    client = s3(moto_server)
    client.create_bucket(Bucket="models")
    client.put_object(Bucket="models", Key="registry/models.json",
                      Body=json.dumps({"gc": {"image": "img:2", "model_data_url": "gc/model.tar.gz"}}))
    spec = resolve_model("gc", "s3://models/registry/models.json")
    assert (spec.image, spec.model_data_url) == ("img:2", "s3://models/registry/gc/model.tar.gz")
    with pytest.raises(ConfigError, match=r"'other' is not in the models file s3://models/registry/models.json"):
        resolve_model("other", "s3://models/registry/models.json")
    with pytest.raises(ConfigError, match="relative model_data_url 'gc/model.tar.gz'"):
        resolve_model("gc", json.dumps({"gc": {"model_data_url": "gc/model.tar.gz"}}))
    with pytest.raises(ConfigError, match="given inline is not valid JSON"):
        resolve_model("gc", "{not json")


def test_models_file_from_the_environment_as_json_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARIFY_RUNNER_MODELS_FILE", json.dumps({"gc": {"image": "img:3"}}))
    assert resolve_model("gc").image == "img:3"


def _no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(tmp_path / "opt-ml"))


def test_missing_region_is_a_user_error_naming_aws_default_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SDK local mode passes credentials but no region: exit 1 naming the variable, not NoRegionError."""
    from analyzer.errors import failure_outcome

    _no_region(monkeypatch, tmp_path)
    with pytest.raises(ConfigError, match="AWS_DEFAULT_REGION") as info:
        resolve_model("gc")
    assert failure_outcome(info.value).exit_code == 1
    from container.endpoints.sagemaker_backend import use_existing_endpoint

    with pytest.raises(ConfigError, match=r"predictor.endpoint_name: set AWS_DEFAULT_REGION"):
        with use_existing_endpoint("ep"):
            pass


def test_region_of_the_processing_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside SageMaker: AWS_REGION, else the region in the job's ARN."""
    from container.endpoints.region import aws_region

    _no_region(monkeypatch, tmp_path)
    job = tmp_path / "opt-ml" / "config" / "processingjobconfig.json"
    job.parent.mkdir(parents=True)
    job.write_text(json.dumps({"ProcessingJobArn": "arn:aws:sagemaker:eu-west-3:1:processing-job/x"}))
    assert aws_region() == "eu-west-3"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert aws_region() == "ap-south-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert aws_region() == "us-west-2"
    job.write_text(json.dumps({"ProcessingJobArn": "local-job-name"}))  # SDK local mode: not an ARN
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ConfigError, match="AWS_DEFAULT_REGION"):
        aws_region()
