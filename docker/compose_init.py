"""One-shot setup for docker-compose.yml: the German-credit example in the emulated AWS.

Creates the bucket, uploads the analysis config and the dataset, trains the example model,
uploads it as ``model.tar.gz`` and registers it with SageMaker ``CreateModel`` (image
``$MODEL_IMAGE``, default ``clarify-runner:latest``), all against the moto service.
"""

from __future__ import annotations

import io
import os
import runpy
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError

EXAMPLE = Path(os.environ.get("EXAMPLE_DIR", "/example"))
BUCKET = os.environ.get("DEMO_BUCKET", "clarify-runner-demo")
MODEL_NAME = os.environ.get("MODEL_NAME", "german-credit-sklearn")
MODEL_IMAGE = os.environ.get("MODEL_IMAGE", "clarify-runner:latest")


def wait_for_s3(client: object, seconds: float = 60) -> None:
    """Wait until the S3 emulator answers."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.list_buckets()  # type: ignore[attr-defined]
            return
        except EndpointConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def model_archive(model_dir: Path) -> bytes:
    """``model.tar.gz`` bytes with the model files at the archive root."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for p in sorted(model_dir.iterdir()):
            tar.add(p, arcname=p.name)
    return buf.getvalue()


def main() -> int:
    """Set up bucket, inputs, model artifacts and the SageMaker model; print what was made."""
    s3 = boto3.client("s3")
    sm = boto3.client("sagemaker")
    wait_for_s3(s3)
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(EXAMPLE / "analysis_config.json"), BUCKET, "config/analysis_config.json")
    s3.upload_file(str(EXAMPLE / "german_credit.csv"), BUCKET, "data/german_credit.csv")
    with tempfile.TemporaryDirectory() as tmp:
        train = runpy.run_path(str(EXAMPLE / "train_model.py"))["train"]
        train(EXAMPLE / "german_credit.csv", Path(tmp) / "model")
        s3.put_object(Bucket=BUCKET, Key="model/model.tar.gz", Body=model_archive(Path(tmp) / "model"))
    try:
        sm.delete_model(ModelName=MODEL_NAME)
    except ClientError:
        pass
    sm.create_model(
        ModelName=MODEL_NAME,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/clarify-runner-demo",
        PrimaryContainer={
            "Image": MODEL_IMAGE,
            "ModelDataUrl": f"s3://{BUCKET}/model/model.tar.gz",
            # The example model is a skops file; local_endpoint loads its tree type only when trusted.
            "Environment": {"CLARIFY_RUNNER_SKOPS_TRUSTED": "sklearn.tree._tree.Tree"},
        },
    )
    print(f"s3://{BUCKET}/config/, s3://{BUCKET}/data/ and model {MODEL_NAME} ({MODEL_IMAGE}) are ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
