"""The SageMaker SDK's Model Monitor baselining calls, run by tests/test_monitor_sdk_baseline.py.

Runs in the SDK's own virtualenv (see tests/test_sdk_local_mode.py for why). It calls
``ModelBiasMonitor.suggest_baseline`` / ``ModelExplainabilityMonitor.suggest_baseline`` exactly as
a user does, with one change: the processing job is not started; ``SageMakerClarifyProcessor._run``
records the analysis config the SDK hands to the baselining job instead. The script prints, as
JSON, that baselining config and what the monitor keeps for its schedule (the monitoring
analysis config uploaded as ConfigUri, and the EndpointInput attributes).
"""

from __future__ import annotations

import json
import sys
from typing import Any
from unittest import mock

from sagemaker import clarify
from sagemaker.model_monitor import ModelBiasMonitor, ModelExplainabilityMonitor

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def _session() -> Any:
    session = mock.MagicMock(name="sagemaker_session")
    session.boto_region_name = "us-east-1"
    session.boto_session.region_name = "us-east-1"
    session.sagemaker_config = None
    session.local_mode = False
    return session


def main(job: dict[str, Any]) -> dict[str, Any]:
    """Run one suggest_baseline call described by ``job`` and return what the SDK produced."""
    captured: dict[str, Any] = {}

    def fake_run(self: Any, data_config: Any, analysis_config: dict[str, Any], *args: Any, **kw: Any) -> None:
        captured["config"] = json.loads(json.dumps(analysis_config))
        self.latest_job = mock.MagicMock(name="processing_job")

    session = _session()
    data_config = clarify.DataConfig(
        s3_data_input_path="s3://bucket/baseline/data.csv",
        s3_output_path="s3://bucket/baseline/output",
        label=job.get("label"),
        headers=job["headers"],
        dataset_type="text/csv",
    )
    model_config = clarify.ModelConfig(
        model_name="credit-model", instance_type="ml.m5.xlarge", instance_count=1,
        content_type="text/csv", accept_type="text/csv",
    )  # fmt: skip
    with mock.patch.object(clarify.SageMakerClarifyProcessor, "_run", fake_run):
        if job["kind"] == "bias":
            monitor: Any = ModelBiasMonitor(role=ROLE, sagemaker_session=session)
            monitor.suggest_baseline(
                data_config=data_config,
                bias_config=clarify.BiasConfig(**job["bias"]),
                model_config=model_config,
                model_predicted_label_config=clarify.ModelPredictedLabelConfig(**job["predicted_label"]),
            )
        else:
            monitor = ModelExplainabilityMonitor(role=ROLE, sagemaker_session=session)
            monitor.suggest_baseline(
                data_config=data_config,
                explainability_config=clarify.SHAPConfig(**job["shap"]),
                model_config=model_config,
                model_scores=job["model_scores"],
            )
    kept = monitor.latest_baselining_job_config
    return {
        "baselining_config": captured["config"],
        "monitoring_config": kept.analysis_config._to_dict(),
        "features_attribute": kept.features_attribute,
        "inference_attribute": kept.inference_attribute,
        "probability_attribute": kept.probability_attribute,
        "probability_threshold_attribute": kept.probability_threshold_attribute,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
