"""Feature-attribution drift executions end to end: real endpoint, real captures (issue 20, points 4, 5).

A logistic regression is served by ``local_endpoint``; the captures are its real answers to
batches of records. The baseline is the baselining job's ``analysis.json`` (``run_job`` with the
config ``ModelExplainabilityMonitor.suggest_baseline`` runs: ``methods.shap`` + ``predictor``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from _model_server import running_endpoint, save_sklearn_model
from _monitor_helpers import capture_line, hour_dir, write_jsonl

from analyzer.monitor.capture import TimeWindow
from container.job import run_job
from container.monitor import MonitorAttributes, run_monitor

T0 = datetime(2024, 3, 1, 10, tzinfo=UTC)
HEADERS = ["a", "b", "c", "d"]
SHAP = {"baseline": [[0.0, 0.0, 0.0, 0.0]], "num_samples": 64, "agg_method": "mean_abs"}
# what the SDK's ExplainabilityAnalysisConfig writes: methods, predictor, headers (features only)
MONITOR_CONFIG = {
    "methods": {"shap": SHAP},
    "predictor": {"model_name": "credit-model", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1},
    "headers": HEADERS,
}


def records(n: int, seed: int, drifted: bool) -> np.ndarray:
    """Normal features; ``drifted``: feature a (the most important) stops varying, d varies 30x more."""
    x = np.random.default_rng(seed).normal(size=(n, 4)).round(4)
    if drifted:
        x[:, 0] = 0.0
        x[:, 3] *= 30
    return x


def capture(url: str, x: np.ndarray, root: Path, start: datetime, prefix: str, batch: int = 10) -> None:
    """Send ``x`` to the endpoint ``batch`` records per request and write what data capture records."""
    lines = []
    for i in range(0, len(x), batch):
        body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in x[i : i + batch])
        resp = requests.post(
            url + "/invocations", data=body, headers={"Content-Type": "text/csv"}, timeout=30
        )
        resp.raise_for_status()
        lines.append(
            capture_line(
                body,
                resp.text,
                event_id=f"{prefix}-{i}",
                time=start + timedelta(seconds=i),
                output_type=resp.headers["Content-Type"],
            )
        )
    write_jsonl(hour_dir(root, start, "credit-ep", "AllTraffic") / f"{prefix}.jsonl", lines)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sklearn.linear_model import LogisticRegression

    tmp = tmp_path_factory.mktemp("explain_monitor")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 4))
    y = (x @ [3.0, 1.0, 0.3, 0.1] + rng.normal(size=500) > 0).astype(int)
    model_dir = save_sklearn_model(LogisticRegression().fit(x, y), tmp / "model")
    served = records(60, seed=1, drifted=False)
    with running_endpoint(model_dir) as url:
        pd.DataFrame(served, columns=HEADERS).to_csv(tmp / "baseline.csv", index=False)
        cfg = {"dataset_type": "text/csv", "headers": HEADERS, **MONITOR_CONFIG}
        cfg["predictor"] = {**MONITOR_CONFIG["predictor"], "probability": 1}  # type: ignore[dict-item]
        (tmp / "baseline_config.json").write_text(json.dumps(cfg))
        run_job(
            tmp / "baseline_config.json",
            data_uri=str(tmp / "baseline.csv"),
            output=tmp / "baseline",
            endpoint_url=url,
        )
        capture(url, served, tmp / "capture", T0, "same")
        capture(url, records(60, seed=2, drifted=True), tmp / "capture", T0 + timedelta(hours=1), "drift")
        (tmp / "monitor_config.json").write_text(json.dumps(MONITOR_CONFIG))
        yield {"tmp": tmp, "url": url}


def _run(setup: Any, start: datetime, out: str, **kw: Any) -> Any:
    tmp = setup["tmp"]
    return run_monitor(
        tmp / "monitor_config.json",
        captured=str(tmp / "capture"),
        baseline=str(tmp / "baseline"),
        output=tmp / out,
        window=TimeWindow(start, start + timedelta(hours=1)),
        endpoint_url=setup["url"],
        attributes=MonitorAttributes(inference="1"),
        **kw,
    )


def test_undrifted_window_has_no_attribution_violation(setup: Any) -> None:
    result = _run(setup, T0, "undrifted")
    assert result.kind == "explainability" and result.status == "Completed" and result.records == 60
    assert result.ndcg == {"label0": pytest.approx(1.0)}
    out = setup["tmp"] / "undrifted"
    assert not (out / "constraint_violations.json").exists()
    window = json.loads((out / "analysis.json").read_text())["explanations"]["kernel_shap"]["label0"]
    baseline = json.loads((setup["tmp"] / "baseline" / "analysis.json").read_text())
    expected = baseline["explanations"]["kernel_shap"]["label0"]
    assert window["global_shap_values"] == pytest.approx(expected["global_shap_values"])


def test_drifted_window_violates_the_ndcg_threshold(setup: Any) -> None:
    cw = setup["tmp"] / "cw"
    result = _run(
        setup,
        T0 + timedelta(hours=1),
        "drifted",
        cloudwatch_dir=cw,
        endpoint_name="credit-ep",
        schedule_name="fa-schedule",
    )
    assert result.status == "CompletedWithViolations"
    score = result.ndcg["label0"]
    assert score < 0.9
    written = json.loads((setup["tmp"] / "drifted" / "constraint_violations.json").read_text())
    assert written == {
        "version": "1.0",
        "violations": [
            {
                "label": "label0",
                "metric_name": "shap",
                "constraint_check_type": "feature_attribution_drift_check",
                "description": f"Feature attribution drift {score!r} exceeds threshold 0.9",
            }
        ],
    }
    values = result.analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert values["a"] == 0 and values["d"] == max(values.values())
    metrics = [json.loads(x) for x in (cw / "metrics.jsonl").read_text().splitlines()]
    assert sorted(m["MetricName"] for m in metrics) == [
        "ExpectedValue",
        "feature_a",
        "feature_b",
        "feature_c",
        "feature_d",
    ]
    assert {"Name": "ExplainabilityMethod", "Value": "KernelShap"} in metrics[0]["Dimensions"]
    assert _run(setup, T0 + timedelta(hours=1), "lenient", ndcg_threshold=0.3).violations == []


def test_processing_job_explainability_execution_with_a_shadow_endpoint(
    setup: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contract variables; predictor.model_name resolved offline and served as a shadow endpoint."""
    from analyzer.settings import MONITOR_VARIABLES
    from container.processing_job import main as job_main

    src = setup["tmp"]
    for var in MONITOR_VARIABLES:
        monkeypatch.delenv(var.name, raising=False)
    models = {"credit-model": {"model_data_url": str(src / "model")}}
    (tmp_path / "models.json").write_text(json.dumps(models))
    config_dir = tmp_path / "processing" / "input" / "config"
    config_dir.mkdir(parents=True)
    (config_dir / "analysis_config.json").write_text((src / "monitor_config.json").read_text())
    env = {
        "CLARIFY_RUNNER_OPT_ML": str(tmp_path),
        "CLARIFY_RUNNER_MODELS_FILE": str(tmp_path / "models.json"),
        "CLARIFY_RUNNER_ENDPOINT_BACKEND": "subprocess",
        "dataset_format": json.dumps({"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}),
        "dataset_source": str(src / "capture"),
        "baseline_constraints": str(src / "baseline" / "analysis.json"),
        "output_path": str(tmp_path / "result"),
        "inference_attribute": "1",
        "publish_cloudwatch_metrics": "Enabled",
        "sagemaker_endpoint_name": "credit-ep",
        "sagemaker_monitoring_schedule_name": "fa-schedule",
        "end_time": (T0 + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_time_offset": "-PT1H",
        "end_time_offset": "-PT0H",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert job_main([]) == 0
    written = json.loads((tmp_path / "result" / "constraint_violations.json").read_text())
    assert written["violations"][0]["constraint_check_type"] == "feature_attribution_drift_check"
    metrics = (tmp_path / "output" / "metrics" / "cloudwatch" / "metrics.jsonl").read_text()
    assert '"feature_d"' in metrics and '"fa-schedule"' in metrics
