"""The SDK's own Model Monitor baselining output as the baseline of monitoring executions (issue 20).

``ModelBiasMonitor.suggest_baseline`` and ``ModelExplainabilityMonitor.suggest_baseline`` of the
real SageMaker SDK v2 (``tests/sdk_monitor_driver.py``, in the SDK's virtualenv) give the
baselining job's analysis config and what the schedule keeps (the monitoring config and the
EndpointInput attributes). The baselining job runs here (``run_job`` against a served model), its
``analysis.json`` is the baseline, and monitoring executions over real captured traffic of that
model find a planted drift and no violation on an undrifted window.

Needs the SDK's virtualenv (``CLARIFY_RUNNER_SDK_PYTHON`` or ``.venv-sdk``, made on first use as
for tests/test_sdk_local_mode.py); no Docker.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from _model_server import running_endpoint, save_sklearn_model
from _monitor_helpers import capture_line, ground_truth_line, hour_dir, write_jsonl
from test_monitor_explainability import capture as capture_explain
from test_monitor_explainability import records as explain_records

from analyzer.monitor.capture import TimeWindow
from container.job import run_job
from container.monitor import MonitorAttributes, run_monitor

pytestmark = pytest.mark.slow

T0 = datetime(2024, 3, 1, 10, tzinfo=UTC)
DRIVER = Path(__file__).with_name("sdk_monitor_driver.py")
BIAS_HEADERS = ["approved", "sex", "age", "income"]


def _sdk(job: dict[str, Any]) -> dict[str, Any]:
    from test_sdk_local_mode import _sdk_python

    env = {**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
    proc = subprocess.run(
        [_sdk_python(), str(DRIVER), json.dumps(job)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def applicants(n: int, seed: int, drifted: bool) -> pd.DataFrame:
    """``drifted``: applicants of sex 0 earn 20 less (so the same model approves them less)."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    income = rng.normal(50, 15, n) - (20 * (sex == 0) if drifted else 0)
    approved = (income + rng.normal(0, 8, n) > 50).astype(int)
    return pd.DataFrame(
        {"approved": approved, "sex": sex, "age": rng.integers(20, 70, n), "income": income.round(2)}
    )


def capture_bias(url: str, frame: pd.DataFrame, root: Path, start: datetime, prefix: str) -> None:
    """Requests of 10 records (CSV scores of both classes back); ground truth per request, 2 h later."""
    caps, truths = [], []
    for i in range(0, len(frame), 10):
        part = frame.iloc[i : i + 10]
        body = part[BIAS_HEADERS[1:]].to_csv(header=False, index=False)
        resp = requests.post(
            url + "/invocations", data=body, headers={"Content-Type": "text/csv"}, timeout=30
        )
        resp.raise_for_status()
        key = f"{prefix}-{i}"
        caps.append(
            capture_line(
                body,
                resp.text,
                event_id=f"e-{key}",
                inference_id=key,
                time=start + timedelta(seconds=i),
                output_type=resp.headers["Content-Type"],
            )
        )
        truths.append(ground_truth_line(key, "".join(f"{v}\n" for v in part["approved"])))
    write_jsonl(hour_dir(root / "capture", start, "credit-ep", "AllTraffic") / f"{prefix}.jsonl", caps)
    write_jsonl(hour_dir(root / "gt", start + timedelta(hours=2)) / f"{prefix}.jsonl", truths)


@pytest.fixture(scope="module")
def bias(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sklearn.linear_model import LogisticRegression

    sdk = _sdk(
        {
            "kind": "bias",
            "headers": BIAS_HEADERS,
            "label": "approved",
            "bias": {"label_values_or_threshold": [1], "facet_name": "sex", "facet_values_or_threshold": [0]},
            "predicted_label": {"probability": 1, "probability_threshold": 0.6},
        }
    )
    tmp = tmp_path_factory.mktemp("sdk_bias")
    train = applicants(600, seed=0, drifted=False)
    model = LogisticRegression(max_iter=1000).fit(train[BIAS_HEADERS[1:]], train["approved"])
    served = applicants(200, seed=1, drifted=False)
    with running_endpoint(save_sklearn_model(model, tmp / "model")) as url:
        served.to_csv(tmp / "baseline.csv", index=False)
        (tmp / "baselining_config.json").write_text(json.dumps(sdk["baselining_config"]))
        run_job(
            tmp / "baselining_config.json",
            data_uri=str(tmp / "baseline.csv"),
            output=tmp / "baseline",
            endpoint_url=url,
        )
        capture_bias(url, served, tmp, T0, "same")
        capture_bias(url, applicants(200, seed=2, drifted=True), tmp, T0 + timedelta(hours=1), "drift")
    (tmp / "monitoring_config.json").write_text(json.dumps(sdk["monitoring_config"]))
    return {"tmp": tmp, "sdk": sdk}


def _bias_run(bias: Any, start: datetime, out: str) -> Any:
    tmp, sdk = bias["tmp"], bias["sdk"]
    attrs = MonitorAttributes(
        features=sdk["features_attribute"],
        inference=sdk["inference_attribute"],
        probability=sdk["probability_attribute"],
        probability_threshold=sdk["probability_threshold_attribute"],
    )
    return run_monitor(
        tmp / "monitoring_config.json",
        captured=str(tmp / "capture"),
        ground_truth=str(tmp / "gt"),
        baseline=str(tmp / "baseline" / "analysis.json"),
        output=tmp / out,
        window=TimeWindow(start, start + timedelta(hours=1)),
        attributes=attrs,
    )


def test_sdk_bias_baseline_and_monitoring_config(bias: Any) -> None:
    sdk = bias["sdk"]
    assert "methods" not in sdk["monitoring_config"] and sdk["probability_attribute"] == "1"
    baseline = json.loads((bias["tmp"] / "baseline" / "analysis.json").read_text())
    assert list(baseline) == ["version", "post_training_bias_metrics", "pre_training_bias_metrics"]
    assert (bias["tmp"] / "baseline" / "report.pdf").exists()  # the SDK's baselining config asks for it


def test_sdk_bias_baseline_undrifted_window(bias: Any) -> None:
    result = _bias_run(bias, T0, "undrifted")
    assert result.status == "Completed" and result.records == 200
    baseline = json.loads((bias["tmp"] / "baseline" / "analysis.json").read_text())
    assert result.analysis["post_training_bias_metrics"] == baseline["post_training_bias_metrics"]


def test_sdk_bias_baseline_drifted_window(bias: Any) -> None:
    result = _bias_run(bias, T0 + timedelta(hours=1), "drifted")
    assert result.status == "CompletedWithViolations"
    names = {v["metric_name"] for v in result.violations}
    assert {"DPL", "DPPL", "DI"} <= names  # pre-training (labels) and post-training (predictions)
    assert (bias["tmp"] / "drifted" / "constraint_violations.json").exists()


def test_sdk_explainability_baseline(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    shap = {"baseline": [[0.0, 0.0, 0.0, 0.0]], "num_samples": 64, "agg_method": "mean_abs"}
    sdk = _sdk({"kind": "explainability", "headers": ["a", "b", "c", "d"], "shap": shap, "model_scores": 1})
    assert sdk["inference_attribute"] == "1" and "label" not in sdk["monitoring_config"]["predictor"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 4))
    model = LogisticRegression().fit(x, (x @ [3.0, 1.0, 0.3, 0.1] + rng.normal(size=500) > 0).astype(int))
    served = explain_records(60, seed=1, drifted=False)
    with running_endpoint(save_sklearn_model(model, tmp_path / "model")) as url:
        pd.DataFrame(served, columns=["a", "b", "c", "d"]).to_csv(tmp_path / "baseline.csv", index=False)
        (tmp_path / "baselining.json").write_text(json.dumps(sdk["baselining_config"]))
        run_job(
            tmp_path / "baselining.json",
            data_uri=str(tmp_path / "baseline.csv"),
            output=tmp_path / "baseline",
            endpoint_url=url,
        )
        capture_explain(url, served, tmp_path / "capture", T0, "same")
        capture_explain(
            url,
            explain_records(60, seed=2, drifted=True),
            tmp_path / "capture",
            T0 + timedelta(hours=1),
            "drift",
        )
        (tmp_path / "monitoring.json").write_text(json.dumps(sdk["monitoring_config"]))
        results = [
            run_monitor(
                tmp_path / "monitoring.json",
                captured=str(tmp_path / "capture"),
                baseline=str(tmp_path / "baseline"),
                output=tmp_path / f"out{h}",
                window=TimeWindow(T0 + timedelta(hours=h), T0 + timedelta(hours=h + 1)),
                attributes=MonitorAttributes(inference=sdk["inference_attribute"]),
                endpoint_url=url,
            )
            for h in (0, 1)
        ]
    assert results[0].status == "Completed" and results[0].ndcg["label0"] == pytest.approx(1.0)
    assert results[1].status == "CompletedWithViolations" and results[1].ndcg["label0"] < 0.9
