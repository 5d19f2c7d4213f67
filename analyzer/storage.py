"""Listing and reading data files from a local path or an ``s3://`` URI.

A location is a file, a folder (read recursively) or an S3 object/prefix. S3 prefixes follow
SageMaker's ``S3Prefix`` rule: every key that starts with the prefix, so ``s3://b/data`` also
matches ``s3://b/data_old/x.csv``; end the prefix with ``/`` to mean a folder. boto3 reads
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` by itself, so a local S3 (MinIO, moto) works
without code here.

Hidden files and markers are skipped: any file or folder whose name starts with ``.`` or
``_`` (``_SUCCESS``, ``_committed_*``, ``.part-0.crc``, ``.ipynb_checkpoints``) and Spark
``*.crc`` checksums.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from analyzer.errors import DatasetError
from analyzer.settings import runner_settings

S3_SCHEME = "s3://"
S3_PAGE_SIZE = 1000  # keys per ListObjectsV2 call


def is_s3(uri: str | Path) -> bool:
    """True when ``uri`` is an ``s3://`` URI."""
    return str(uri).startswith(S3_SCHEME)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into ``(bucket, key)``; the key may be empty."""
    if not is_s3(uri):
        raise DatasetError(f"Not an S3 URI: '{uri}'")
    rest = uri[len(S3_SCHEME) :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise DatasetError(f"S3 URI without a bucket name: '{uri}'")
    return bucket, key


def is_data_file_name(name: str) -> bool:
    """False for hidden files and job markers (``.x``, ``_SUCCESS``, ``*.crc``)."""
    return bool(name) and not name.startswith((".", "_")) and not name.endswith(".crc")


def s3_client() -> Any:
    """A boto3 S3 client; path-style addressing when an endpoint URL override is set
    (``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, e.g. moto), which boto3 honours itself."""
    import boto3
    from botocore.config import Config

    custom = runner_settings().s3_endpoint_url
    config = Config(s3={"addressing_style": "path"}) if custom else None
    return boto3.client("s3", config=config)


def _s3_error(uri: str, exc: Exception) -> DatasetError:
    return DatasetError(f"Unable to read '{uri}' from S3: {exc}")


def list_files(uri: str | Path) -> list[str]:
    """Every data file at ``uri``, in a stable (sorted) order.

    A file gives itself; a folder gives its files recursively, sorted by relative path; an S3
    URI gives the object itself if it exists, otherwise every object under the prefix sorted
    by key. Raises :class:`DatasetError` naming ``uri`` when nothing is found.
    """
    if is_s3(uri):
        return _list_s3(str(uri))
    path = Path(uri)
    if path.is_file():
        return [str(path)]
    if not path.exists():
        raise DatasetError(f"Dataset path not found: '{uri}'")
    files = []
    for child in sorted(path.rglob("*"), key=lambda p: p.relative_to(path).as_posix()):
        rel = child.relative_to(path).parts
        if child.is_file() and all(is_data_file_name(part) for part in rel):
            files.append(str(child))
    if not files:
        raise DatasetError(f"No data files found in folder '{uri}' (hidden files and markers are skipped)")
    return files


def _list_s3(uri: str) -> list[str]:
    bucket, key = split_s3_uri(uri)
    client = s3_client()
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if key and not key.endswith("/"):
            try:
                client.head_object(Bucket=bucket, Key=key)
                return [uri]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=key, PaginationConfig={"PageSize": S3_PAGE_SIZE}
        ):
            for obj in page.get("Contents", []):
                k = obj["Key"]
                rel = k[len(key) :].lstrip("/") if key else k
                if k.endswith("/") or not rel:
                    continue
                if all(is_data_file_name(part) for part in PurePosixPath(rel).parts) and is_data_file_name(
                    PurePosixPath(k).name
                ):
                    keys.append(k)
    except (ClientError, BotoCoreError) as exc:
        raise _s3_error(uri, exc) from exc
    if not keys:
        raise DatasetError(f"No data files found under S3 prefix '{uri}'")
    return [f"{S3_SCHEME}{bucket}/{k}" for k in sorted(keys)]


def read_bytes(uri: str | Path) -> bytes:
    """The whole content of one file or S3 object."""
    if is_s3(uri):
        bucket, key = split_s3_uri(str(uri))
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise _s3_error(str(uri), exc) from exc
    path = Path(uri)
    if not path.is_file():
        raise DatasetError(f"File not found: '{uri}'")
    return path.read_bytes()


def download(uri: str | Path, dest: str | Path) -> Path:
    """Copy one file or S3 object to ``dest`` (a file path, or an existing folder) and return the path."""
    dest = Path(dest)
    name = PurePosixPath(str(uri)).name if is_s3(uri) else Path(uri).name
    target = dest / name if dest.is_dir() else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_s3(uri):
        bucket, key = split_s3_uri(str(uri))
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            s3_client().download_file(bucket, key, str(target))
        except (ClientError, BotoCoreError) as exc:
            raise _s3_error(str(uri), exc) from exc
    else:
        if not Path(uri).is_file():
            raise DatasetError(f"File not found: '{uri}'")
        shutil.copyfile(uri, target)
    return target
