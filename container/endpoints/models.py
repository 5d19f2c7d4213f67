"""Find a SageMaker model's image, artifacts and environment, and unpack its artifacts.

A model is resolved from a local models file (offline use) or through the SageMaker API
(``DescribeModel``; ``AWS_ENDPOINT_URL_SAGEMAKER`` points it at moto in the tests). The models
file is JSON, given as a local path, an ``s3://`` URI or the JSON text itself (so that an SDK
``env=`` alone can name the model)::

    {"<model_name>": {"image": "clarify-runner:latest",
                      "model_data_url": "s3://bucket/model.tar.gz | /path/dir | rel/model.tar.gz",
                      "environment": {"KEY": "VALUE"}}}

A relative ``model_data_url`` is relative to the models file's folder (or S3 prefix).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from analyzer import settings
from analyzer.errors import ConfigError, ModelError
from analyzer.settings import runner_settings
from container.endpoints.region import aws_region

logger = logging.getLogger(__name__)

MODELS_FILE_ENV = settings.MODELS_FILE.name


@dataclass(frozen=True)
class ModelSpec:
    """What is needed to serve a model: its image, its artifacts and its environment."""

    name: str
    image: str | None
    model_data_url: str | None
    environment: dict[str, str] = field(default_factory=dict)


def _read_models_table(models_file: str) -> tuple[object, str, str | None]:
    """The parsed models file, how to name it in messages, and the base of relative URLs."""
    text = models_file.strip()
    if text.startswith("{"):
        source, base, raw = "given inline", None, text
    elif text.startswith("s3://"):
        import tempfile

        from container.s3 import download

        source, base = f"file {text}", text.rsplit("/", 1)[0]
        with tempfile.TemporaryDirectory(prefix="clarify-runner-models-") as tmp:
            files = download(text, tmp)
            if len(files) != 1:
                raise ConfigError(f"models file {text}: expected one S3 object, found {len(files)}")
            raw = files[0].read_text(encoding="utf-8")
    else:
        path = Path(models_file)
        source, base = f"file {path}", str(path.parent)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigError(
                f"models file {path} does not exist (--models-file / ${MODELS_FILE_ENV} takes a "
                "path, an s3:// URI or the JSON text itself)"
            ) from exc
    try:
        return json.loads(raw), source, base
    except json.JSONDecodeError as exc:
        raise ConfigError(f"models {source} is not valid JSON: {exc}") from exc


def spec_from_models_file(model_name: str, models_file: str | os.PathLike[str]) -> ModelSpec:
    """Read ``model_name``'s entry from a models file: a local path, an ``s3://`` URI, or the
    JSON text itself (``{...}``, e.g. given in the SDK's ``env=``)."""
    table, source, base = _read_models_table(str(models_file))
    if not isinstance(table, dict) or model_name not in table:
        known = ", ".join(sorted(table)) if isinstance(table, dict) else "none"
        raise ConfigError(
            f"predictor.model_name {model_name!r} is not in the models {source} (known: {known})"
        )
    entry = table[model_name]
    if not isinstance(entry, dict):
        raise ConfigError(f"models {source}: entry {model_name!r} must be an object")
    url = entry.get("model_data_url")
    if url and "://" not in url and not Path(url).is_absolute():
        if base is None:
            raise ConfigError(
                f"models {source}: entry {model_name!r} has a relative model_data_url {url!r}; "
                "inline models need an s3:// URL or an absolute path"
            )
        url = f"{base}/{url}" if base.startswith("s3://") else str((Path(base) / url).resolve())
    env = entry.get("environment") or {}
    return ModelSpec(model_name, entry.get("image"), url, {str(k): str(v) for k, v in env.items()})


def spec_from_sagemaker(model_name: str, client: object | None = None) -> ModelSpec:
    """Describe ``model_name`` with the SageMaker API (``DescribeModel``)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    sm = client or boto3.client("sagemaker", region_name=aws_region("model_name"))
    try:
        desc = sm.describe_model(ModelName=model_name)  # type: ignore[union-attr]
    except ClientError as exc:
        raise ModelError(f"predictor.model_name {model_name!r}: DescribeModel failed: {exc}") from exc
    except BotoCoreError as exc:
        raise ModelError(
            f"predictor.model_name {model_name!r}: cannot reach the SageMaker API ({exc}); "
            f"use a models file (--models-file / ${MODELS_FILE_ENV}) to run offline"
        ) from exc
    container = desc.get("PrimaryContainer") or (desc.get("Containers") or [{}])[0]
    return ModelSpec(
        model_name,
        container.get("Image"),
        container.get("ModelDataUrl"),
        {str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
    )


def resolve_model(model_name: str, models_file: str | os.PathLike[str] | None = None) -> ModelSpec:
    """Resolve ``model_name`` from ``models_file`` (or ``$CLARIFY_RUNNER_MODELS_FILE``), else SageMaker."""
    models_file = models_file or runner_settings().models_file
    if models_file:
        return spec_from_models_file(model_name, models_file)
    return spec_from_sagemaker(model_name)


def _check_member(member: tarfile.TarInfo, dest: Path) -> None:
    parts = PurePosixPath(member.name).parts
    if member.name.startswith("/") or ".." in parts:
        raise ModelError(f"model archive member {member.name!r} points outside the model folder")
    if member.issym() or member.islnk():
        target = PurePosixPath(member.linkname)
        if target.is_absolute() or ".." in target.parts:
            raise ModelError(
                f"model archive link {member.name!r} -> {member.linkname!r} leaves the model folder"
            )
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise ModelError(f"model archive member {member.name!r} is not a regular file or folder")


def unpack_archive(archive: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Unpack a ``model.tar.gz`` into ``dest`` safely (no absolute paths, no ``..``)."""
    dest_path = Path(dest)
    dest_path.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                _check_member(m, dest_path)
            tar.extractall(dest_path, members=members)  # noqa: S202 - members checked above
    except tarfile.TarError as exc:
        raise ModelError(f"model data {archive} is not a readable tar archive: {exc}") from exc
    return dest_path


def fetch_model_data(url: str | None, dest: str | os.PathLike[str]) -> Path:
    """Make the model artifacts of ``url`` available as a folder under ``dest``; return it.

    ``url`` is an ``s3://`` object (``model.tar.gz``) or prefix, a local ``.tar.gz`` file or a
    local folder (returned as is). ``None`` gives an empty folder (a model without artifacts).
    """
    dest_path = Path(dest)
    model_dir = dest_path / "model"
    if url is None:
        model_dir.mkdir(parents=True, exist_ok=True)
        return model_dir
    if url.startswith("s3://"):
        from container.s3 import download

        raw = dest_path / "download"
        files = download(url, raw)
        if len(files) == 1 and tarfile.is_tarfile(files[0]):
            return unpack_archive(files[0], model_dir)
        shutil.move(str(raw), str(model_dir))
        return model_dir
    local = Path(url.removeprefix("file://"))
    if local.is_dir():
        return local
    if local.is_file():
        if tarfile.is_tarfile(local):
            return unpack_archive(local, model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(local, model_dir / local.name)
        return model_dir
    raise ModelError(f"model data {url} does not exist")
