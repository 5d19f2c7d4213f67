"""An SDK v2 Clarify script, run by tests/test_sdk_local_mode.py with the SDK's own virtualenv.

It is what a user writes for SageMaker Clarify, with two changes: the ``LocalSession``'s
``s3_endpoint_url`` (the S3 emulator) and ``processor.image_uri`` (this project's image). The
test passes the job as JSON on the command line; the script exits 0 when the SDK call
returned, 3 when it raised (the traceback goes to stderr).

This file imports only the SDK and boto3: it runs in a separate virtualenv because the SDK's
dependency ``smdebug-rulesconfig`` installs a top-level ``tests`` package that would shadow
this project's ``tests`` folder.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

import boto3
from sagemaker import clarify
from sagemaker.local import LocalSession

# The SDK otherwise sends usage telemetry to AWS after every job.
SDK_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def run(job: dict[str, Any]) -> None:
    """Run one SDK call described by ``job`` (see tests/test_sdk_local_mode.py)."""
    session = LocalSession(
        boto_session=boto3.Session(
            region_name=job["region"], aws_access_key_id="testing", aws_secret_access_key="testing"
        ),
        s3_endpoint_url=job["s3_endpoint_url"],  # change 1: the S3 emulator
        default_bucket=job["bucket"],
        sagemaker_config=SDK_CONFIG,
    )
    processor = clarify.SageMakerClarifyProcessor(
        role=job["role"],
        instance_count=job.get("instance_count", 1),
        instance_type="local",
        sagemaker_session=session,
        env=job.get("env"),
    )
    processor.image_uri = job["image"]  # change 2: this image instead of AWS's Clarify image

    data_config = clarify.DataConfig(
        s3_data_input_path=f"s3://{job['bucket']}/data/train.csv",
        s3_output_path=f"s3://{job['bucket']}/{job['prefix']}",
        label="approved",
        headers=job["headers"],
        dataset_type="text/csv",
    )
    bias_config = clarify.BiasConfig(
        label_values_or_threshold=[1], facet_name="sex", facet_values_or_threshold=[0], group_name="tenure"
    )
    model_config = clarify.ModelConfig(
        model_name=job.get("model_name"),
        instance_type="ml.m5.xlarge",
        instance_count=1,
        accept_type="text/csv",
        content_type="text/csv",
    )
    predicted = clarify.ModelPredictedLabelConfig(probability_threshold=job.get("threshold"))
    shap = clarify.SHAPConfig(
        baseline=job.get("baseline"),
        num_samples=60,
        agg_method="mean_abs",
        save_local_shap_values=True,
        seed=1,
    )
    pdp = clarify.PDPConfig(features=["age", "income"], grid_resolution=5)

    call = job["call"]
    if call == "pre_training_bias":
        processor.run_pre_training_bias(data_config=data_config, data_bias_config=bias_config, methods="all")
    elif call == "post_training_bias":
        processor.run_post_training_bias(
            data_config=data_config,
            data_bias_config=bias_config,
            model_config=model_config,
            model_predicted_label_config=predicted,
            methods="all",
        )
    elif call == "explainability":
        processor.run_explainability(
            data_config=data_config,
            model_config=model_config,
            explainability_config=[shap, pdp] if job.get("pdp", True) else shap,
            model_scores=job.get("model_scores"),
        )
    elif call == "bias_and_explainability":
        processor.run_bias_and_explainability(
            data_config=data_config,
            model_config=model_config,
            explainability_config=[shap, pdp],
            bias_config=bias_config,
            model_predicted_label_config=predicted,
        )
    else:
        raise ValueError(f"unknown call {call!r}")


if __name__ == "__main__":
    try:
        run(json.loads(sys.argv[1]))
    except Exception:  # noqa: BLE001 - the test reads the exit code and the traceback
        traceback.print_exc()
        sys.exit(3)
