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
