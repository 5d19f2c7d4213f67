"""S3 transfers for the processing job: fetch config/model objects, publish the results.

boto3 honours ``AWS_ENDPOINT_URL_S3`` (and ``AWS_ENDPOINT_URL``), so the same code talks to
AWS, to moto in the tests and to the moto service of docker-compose.yml. Reading datasets
is ``analyzer.storage``'s job; this module moves whole files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from analyzer.errors import UserError
from analyzer.output import ANALYSIS_FILE
from analyzer.storage import s3_client, split_s3_uri

logger = logging.getLogger(__name__)


def list_keys(uri: str, client: Any = None) -> list[str]:
    """Keys of every object at ``uri``: the object itself, or all objects under the prefix."""
    client = client or s3_client()
    bucket, key = split_s3_uri(uri)
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for obj in page.get("Contents", []):
            k = obj["Key"]
            if k == key or not key or key.endswith("/") or k.startswith(key + "/"):
                if not k.endswith("/"):
                    keys.append(k)
    return sorted(keys)


def download(uri: str, dest_dir: str | os.PathLike[str], client: Any = None) -> list[Path]:
    """Download the object or every object under the prefix ``uri`` into ``dest_dir``.

    Object keys keep their path relative to the prefix (an exact object keeps its base name).
    Raises :class:`UserError` naming the URI when nothing is there.
    """
    client = client or s3_client()
    bucket, key = split_s3_uri(uri)
    keys = list_keys(uri, client)
    if not keys:
        raise UserError(f"No S3 object found at {uri}")
    dest = Path(dest_dir)
    out = []
    for k in keys:
        rel = Path(k).name if k == key else k[len(key) :].lstrip("/")
        target = dest / rel
        if ".." in Path(rel).parts:
            raise UserError(f"S3 key {k!r} escapes the download folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, k, str(target))
        out.append(target)
    logger.info("Downloaded %d object(s) from %s", len(out), uri)
    return out


def output_files(local_dir: str | os.PathLike[str]) -> list[Path]:
    """Regular files under ``local_dir`` in upload order: ``analysis.json`` (top level) last.

    Symlinks are skipped, as SageMaker's own output upload does.
    """
    root = Path(local_dir)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    files.sort(key=lambda p: p.parent == root and p.name == ANALYSIS_FILE)
    return files


def upload_outputs(local_dir: str | os.PathLike[str], s3_prefix: str, client: Any = None) -> list[str]:
    """Upload every file under ``local_dir`` to ``s3_prefix``; return the uploaded URIs.

    Call this only after the analysis succeeded (the job stages outputs locally first).
    ``analysis.json`` is uploaded last, so a reader that waits for it sees a complete set. If
    an upload fails, the objects already uploaded by this call are deleted again before the
    error is re-raised, so a failed job leaves no partial result under the prefix.
    """
    client = client or s3_client()
    bucket, prefix = split_s3_uri(s3_prefix.rstrip("/"))
    root = Path(local_dir)
    done: list[str] = []
    try:
        for path in output_files(root):
            key = "/".join(p for p in (prefix, path.relative_to(root).as_posix()) if p)
            client.upload_file(str(path), bucket, key)
            done.append(key)
    except BaseException:
        for key in done:
            try:
                client.delete_object(Bucket=bucket, Key=key)
            except Exception:  # noqa: BLE001 - best effort rollback, the original error matters
                logger.warning("Could not delete partial output s3://%s/%s", bucket, key)
        raise
    return [f"s3://{bucket}/{k}" for k in done]


def check_output_prefix(s3_prefix: str, client: Any = None) -> None:
    """Check, before any analysis runs, that outputs can be written to ``s3_prefix``.

    Writes and deletes a small probe object under the prefix. Raises :class:`UserError`
    naming the URI when the bucket does not exist, access is denied, or the write fails
    for another reason the caller can fix.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or s3_client()
    bucket, prefix = split_s3_uri(s3_prefix.rstrip("/"))
    key = "/".join(p for p in (prefix, f".clarify-runner-write-check-{os.getpid()}") if p)
    try:
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise UserError(
                f"Output {s3_prefix}: S3 bucket {bucket!r} does not exist; create it or fix --output"
            ) from None
        raise UserError(f"Output {s3_prefix} is not writable: {code}: {exc}") from None
    except BotoCoreError as exc:
        raise UserError(f"Output {s3_prefix} cannot be checked: {exc}") from None
    try:
        client.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:  # writing works; only the probe stays
        logger.warning("Could not delete the write-check object s3://%s/%s: %s", bucket, key, exc)


def remove_published(s3_prefix: str, names: list[str], client: Any = None) -> list[str]:
    """Delete what an earlier run published under ``s3_prefix``: objects named ``names`` right
    under the prefix, or under a folder of that name (``explanations_shap/...``).

    Other objects under the prefix are left alone. Returns the deleted URIs.
    """
    client = client or s3_client()
    bucket, prefix = split_s3_uri(s3_prefix.rstrip("/"))
    base = f"{prefix}/" if prefix else ""
    deleted = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
        for obj in page.get("Contents", []):
            first = obj["Key"][len(base):].split("/", 1)[0]
            if first in names:
                try:
                    client.delete_object(Bucket=bucket, Key=obj["Key"])
                except Exception as exc:  # noqa: BLE001 - it is overwritten or stays; say so
                    logger.warning("Could not remove s3://%s/%s left by an earlier run: %s",
                                   bucket, obj["Key"], exc)
                    continue
                deleted.append(f"s3://{bucket}/{obj['Key']}")
    for uri in deleted:
        logger.info("Removing %s left by an earlier run", uri)
    return deleted
