"""Bias drift executions end to end on captured data (issue 20, points 2, 3 and 5).

The baseline is a baselining job's ``analysis.json``, made here by ``run_job`` on the records
the endpoint served before (what ``ModelBiasMonitor.suggest_baseline`` runs); the window is
the captured traffic of one hour with its ground truth.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _monitor_helpers import capture_line, ground_truth_line, hour_dir, write_jsonl

from analyzer.errors import DatasetError
from analyzer.monitor.capture import TimeWindow
from container.job import run_job
from container.monitor import MonitorAttributes, run_monitor

T0 = datetime(2024, 3, 1, 10, tzinfo=UTC)
HEADERS = ["sex", "age", "income", "approved"]
MONITOR_CONFIG = {  # what the SDK's BiasAnalysisConfig writes: no dataset_type, methods or predictor
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}],
    "headers": HEADERS,
    "label": "approved",
}


def traffic(n: int, seed: int, biased: bool) -> pd.DataFrame:
    """Applicants, their true outcome and the model's score; ``biased``: sex 0 scored down."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    age = rng.integers(20, 70, n)
    income = rng.normal(50, 15, n).round(1)
    approved = (income + rng.normal(0, 10, n) > 50).astype(int)
    score = 1 / (1 + np.exp(-(income - 50) / 8))
    if biased:
        score = np.where(sex == 0, score * 0.3, score)
    return pd.DataFrame(
        {"sex": sex, "age": age, "income": income, "approved": approved, "score": score.round(6)}
    )


def baseline_analysis(frame: pd.DataFrame, tmp: Path) -> Path:
    """The baselining job: pre- and post-training bias on the served records (predictions as a column)."""
    data = tmp / "baseline.csv"
    frame.to_csv(data, index=False)
    cfg = {
        "dataset_type": "text/csv",
        "headers": [*HEADERS, "score"],
        "label": "approved",
        "predicted_label": "score",
        "probability_threshold": 0.5,
        **{k: MONITOR_CONFIG[k] for k in ("label_values_or_threshold", "facet")},
        "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
    }
    path = tmp / "baseline_config.json"
    path.write_text(json.dumps(cfg))
    run_job(path, data_uri=str(data), output=tmp / "baseline")
    return tmp / "baseline" / "analysis.json"


def capture_window(frame: pd.DataFrame, root: Path, start: datetime, prefix: str) -> tuple[Path, Path]:
    """Capture files (one request per record, scores as CSV) and their ground truth an hour later."""
    caps, truths = [], []
    for i, row in enumerate(frame.itertuples(index=False)):
        when = start + timedelta(seconds=5 * i)
        key = f"{prefix}-{i}"
        caps.append(
            capture_line(
                [row.sex, row.age, row.income],
                f"{row.score}\n",
                event_id=f"ev-{key}",
                inference_id=key,
                time=when,
            )
        )
        truths.append(ground_truth_line(key, str(row.approved)))
    write_jsonl(hour_dir(root / "capture", start, "credit-ep", "AllTraffic") / f"{prefix}.jsonl", caps)
    write_jsonl(hour_dir(root / "gt", start + timedelta(hours=1)) / f"{prefix}.jsonl", truths)
    return root / "capture", root / "gt"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("bias_monitor")
    served = traffic(300, seed=1, biased=False)
    baseline = baseline_analysis(served, tmp)
    config = tmp / "monitor_config.json"
    config.write_text(json.dumps(MONITOR_CONFIG))
    capture_window(served, tmp, T0, "same")  # hour 10: the baseline's own traffic again
    capture_window(traffic(300, seed=2, biased=True), tmp, T0 + timedelta(hours=2), "drift")  # hour 12
    return {"tmp": tmp, "baseline": baseline, "config": config}


def _run(setup: dict[str, Path], start: datetime, out: str, **kw: object) -> object:
    return run_monitor(
        setup["config"],
        captured=str(setup["tmp"] / "capture"),
        ground_truth=str(setup["tmp"] / "gt"),
        baseline=str(setup["baseline"]),
        output=setup["tmp"] / out,
        window=TimeWindow(start, start + timedelta(hours=1)),
        **kw,  # type: ignore[arg-type]
    )


def test_undrifted_window_has_no_violation(setup: dict[str, Path]) -> None:
    result = _run(setup, T0, "undrifted")
    out = setup["tmp"] / "undrifted"
    assert result.status == "Completed" and result.records == 300  # type: ignore[attr-defined]
    assert not (out / "constraint_violations.json").exists()
    analysis = json.loads((out / "analysis.json").read_text())
    baseline = json.loads(setup["baseline"].read_text())
    assert analysis["post_training_bias_metrics"] == baseline["post_training_bias_metrics"]
    assert analysis["pre_training_bias_metrics"] == baseline["pre_training_bias_metrics"]


def test_drifted_window_has_bias_violations(setup: dict[str, Path]) -> None:
    result = _run(
        setup,
        T0 + timedelta(hours=2),
        "drifted",
        cloudwatch_dir=setup["tmp"] / "cw",
        endpoint_name="credit-ep",
        schedule_name="bias-schedule",
    )
    out = setup["tmp"] / "drifted"
    assert result.status == "CompletedWithViolations"  # type: ignore[attr-defined]
    written = json.loads((out / "constraint_violations.json").read_text())
    assert written["version"] == "1.0"
    names = {v["metric_name"] for v in written["violations"]}
    assert {"DPPL", "DI"} <= names
    analysis = json.loads((out / "analysis.json").read_text())
    post = {
        m["name"]: m["value"] for m in analysis["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]
    }
    dppl = next(v for v in written["violations"] if v["metric_name"] == "DPPL")
    assert dppl == {
        "facet": "sex",
        "facet_value": "0",
        "metric_name": "DPPL",
        "constraint_check_type": "bias_drift_check",
        "description": f"Metric value {post['DPPL']!r} doesn't meet the baseline constraint "
        f"requirement {dppl['description'].rsplit(' ', 1)[1]}",
    }
    assert post["DPPL"] > 0.2  # sex 0 is approved far less often
    lines = [json.loads(x) for x in (setup["tmp"] / "cw" / "metrics.jsonl").read_text().splitlines()]
    dppl_metric = next(r for r in lines if r["MetricName"] == "bias_metric_DPPL")
    assert dppl_metric["Value"] == post["DPPL"] and dppl_metric["Timestamp"] == "2024-03-01T13:00:00Z"
    assert {"Name": "Endpoint", "Value": "credit-ep"} in dppl_metric["Dimensions"]


def test_a_later_clean_run_removes_a_stale_violation_file(setup: dict[str, Path]) -> None:
    out = setup["tmp"] / "reused"
    out.mkdir()
    (out / "constraint_violations.json").write_text("{}")
    _run(setup, T0, "reused")
    assert not (out / "constraint_violations.json").exists()


def test_probability_attribute_and_threshold(setup: dict[str, Path]) -> None:
    """A threshold of 0 predicts everyone approved: no disparity, so no violation either."""
    attrs = MonitorAttributes(probability="0", probability_threshold=0.0)
    result = _run(setup, T0 + timedelta(hours=2), "all_approved", attributes=attrs)
    post = result.analysis["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]  # type: ignore[attr-defined]
    assert next(m for m in post if m["name"] == "DPPL")["value"] == 0


def test_empty_window_fails(setup: dict[str, Path]) -> None:
    with pytest.raises(DatasetError, match="No captured data .* in the monitoring window"):
        _run(setup, T0 + timedelta(hours=5), "empty")
