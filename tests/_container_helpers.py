"""Fixtures and helpers for the processing-job container tests (moto, model folders, /opt/ml trees)."""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
GERMAN_CREDIT_DIR = REPO_ROOT / "examples" / "german_credit"
REGION = "us-east-1"
# The German-credit model is a skops file whose tree type local_endpoint trusts only on request.
GC_MODEL_ENV = {"CLARIFY_RUNNER_SKOPS_TRUSTED": "sklearn.tree._tree.Tree"}


@pytest.fixture(name="moto_server")
def moto_server_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A ThreadedMotoServer on 127.0.0.1 (S3 + SageMaker control plane); yields its URL.

    The AWS endpoint variables point boto3 at it for the duration of the test.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    import requests

    requests.post(url + "/moto-api/reset", timeout=10)  # moto's state is process-wide
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": url,
        "AWS_ENDPOINT_URL_SAGEMAKER": url,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        yield url
    finally:
        server.stop()


def s3(url: str) -> Any:
    """A boto3 S3 client for the moto server at ``url``."""
    import boto3

    return boto3.client("s3", endpoint_url=url, region_name=REGION)


def all_keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    """Every key under ``prefix`` in ``bucket``."""
    resp = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def german_credit_model_dir(dest: Path) -> Path:
    """Train the German-credit example model (skops) into ``dest``; returns the folder."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gc_train_model", GERMAN_CREDIT_DIR / "train_model.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    module.train(GERMAN_CREDIT_DIR / "german_credit.csv", dest)
    return dest


def tar_gz(folder: Path, archive: Path) -> Path:
    """Pack the files of ``folder`` (at the archive root) as ``archive`` (model.tar.gz layout)."""
    with tarfile.open(archive, "w:gz") as tar:
        for p in sorted(folder.iterdir()):
            tar.add(p, arcname=p.name)
    return archive


def write_config(path: Path, **changes: Any) -> Path:
    """Write the German-credit analysis config with top-level ``changes`` (None deletes a key)."""
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    for key, value in changes.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cfg))
    return path


def opt_ml_tree(root: Path, config: dict[str, Any] | None = None, *, data: bool = True) -> Path:
    """A ``/opt/ml`` tree: config in processing/input/config, German credit in .../data."""
    (root / "processing" / "input" / "config").mkdir(parents=True, exist_ok=True)
    (root / "processing" / "output").mkdir(parents=True, exist_ok=True)
    (root / "output").mkdir(parents=True, exist_ok=True)
    (root / "config").mkdir(parents=True, exist_ok=True)
    if config is not None:
        (root / "processing" / "input" / "config" / "analysis_config.json").write_text(json.dumps(config))
    if data:
        d = root / "processing" / "input" / "data"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(GERMAN_CREDIT_DIR / "german_credit.csv", d / "german_credit.csv")
    resources = {"current_host": "algo-1", "hosts": ["algo-1"]}
    (root / "config" / "resourceconfig.json").write_text(json.dumps(resources))
    return root


def pre_training_config() -> dict[str, Any]:
    """The German-credit config reduced to pre-training bias (no model needed: fast)."""
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    cfg["methods"] = {"pre_training_bias": {"methods": "all"}}
    cfg.pop("predictor", None)
    return cfg
