"""The AWS region of the SageMaker API calls a job makes (DescribeModel, endpoints, InvokeEndpoint).

boto3 finds a region only in ``AWS_DEFAULT_REGION`` or an AWS config file. A SageMaker
processing container may have neither: SageMaker sets ``AWS_REGION``, and the job's own ARN
(``ProcessingJobArn`` in ``/opt/ml/config/processingjobconfig.json``) names its region. SDK local
mode passes credentials to the job container but no region at all. So the region is, in order:
boto3's own, ``AWS_REGION``, the region in the job's ARN; with none of them the job stops with a
user error (exit 1) that names ``AWS_DEFAULT_REGION``, before any endpoint starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from analyzer.errors import ConfigError
from analyzer.settings import runner_settings

__all__ = ["aws_region", "job_region"]

NO_REGION_MESSAGE = (
    "No AWS region for the SageMaker API calls of predictor.{key}: set AWS_DEFAULT_REGION in the "
    "job's environment (SageMaker Python SDK: env={{'AWS_DEFAULT_REGION': '<region>'}} on the "
    "processor), or give the model in a models file (--models-file / CLARIFY_RUNNER_MODELS_FILE, "
    "a path, an s3:// URI or inline JSON), which needs no SageMaker API"
)


def job_region(opt_ml: str | os.PathLike[str] | None = None) -> str | None:
    """The region in ``ProcessingJobArn`` (``arn:<partition>:sagemaker:<region>:...``), if any."""
    root = Path(opt_ml) if opt_ml else runner_settings().opt_ml
    try:
        cfg = json.loads((root / "config" / "processingjobconfig.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    arn = str(cfg.get("ProcessingJobArn") or "") if isinstance(cfg, dict) else ""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] == "sagemaker" and parts[3]:
        return parts[3]
    return None


def aws_region(key: str = "model_name", opt_ml: str | os.PathLike[str] | None = None) -> str:
    """The region for SageMaker API calls (see the module docstring).

    Raises:
        ConfigError: no region anywhere; the message names ``AWS_DEFAULT_REGION``.
    """
    import boto3

    region = boto3.session.Session().region_name or runner_settings().aws_region or job_region(opt_ml)
    if not region:
        raise ConfigError(NO_REGION_MESSAGE.format(key=key))
    return region
