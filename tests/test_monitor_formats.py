"""Monitoring executions over S3 prefixes and JSON Lines captures (issue 20, points 2 and 3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _container_helpers import all_keys, moto_server_fixture, s3  # noqa: F401 - fixture
from _monitor_helpers import capture_line, ground_truth_line, hour_dir, write_jsonl
from test_monitor_bias import MONITOR_CONFIG, baseline_analysis, capture_window, traffic

from analyzer.monitor.capture import TimeWindow
from container.monitor import MonitorAttributes, run_monitor

T0 = datetime(2024, 3, 1, 10, tzinfo=UTC)


def _upload(client: Any, bucket: str, root: Path, prefix: str) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")


def test_captured_data_ground_truth_baseline_and_output_on_s3(moto_server: str, tmp_path: Path) -> None:
    client = s3(moto_server)
    client.create_bucket(Bucket="mon")
    served = traffic(120, seed=5, biased=False)
    baseline = baseline_analysis(served, tmp_path)
    capture_window(traffic(120, seed=6, biased=True), tmp_path, T0, "drift")
    capture_window(served, tmp_path, T0 - timedelta(hours=3), "old")  # outside the window
    _upload(client, "mon", tmp_path / "capture", "datacapture")
    _upload(client, "mon", tmp_path / "gt", "groundtruth")
    client.upload_file(str(baseline), "mon", "baselining/analysis.json")
    client.put_object(
        Bucket="mon", Key="config/analysis_config.json", Body=json.dumps(MONITOR_CONFIG).encode()
    )
    result = run_monitor(
        "s3://mon/config/analysis_config.json",
        captured="s3://mon/datacapture/",
        ground_truth="s3://mon/groundtruth",
        baseline="s3://mon/baselining/",
        output="s3://mon/monitoring/credit-ep/schedule/2024/03/01/11",
        window=TimeWindow(T0, T0 + timedelta(hours=1)),
    )
    assert result.records == 120 and result.violations
    keys = all_keys(client, "mon", "monitoring/")
    assert "monitoring/credit-ep/schedule/2024/03/01/11/analysis.json" in keys
    assert "monitoring/credit-ep/schedule/2024/03/01/11/constraint_violations.json" in keys


@pytest.mark.parametrize("batch", [1, 5])
def test_jsonlines_captures_with_attributes(tmp_path: Path, batch: int) -> None:
    """JSON Lines requests and responses with JSON ground truth, one or several records per capture."""
    config = {
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}],
        "headers": ["sex", "age", "income", "approved"],
        "label": "label",
    }
    frame = traffic(100, seed=7, biased=True)
    caps, truths = [], []
    for i in range(0, len(frame), batch):
        part = frame.iloc[i : i + batch]
        body = "".join(
            json.dumps({"features": [int(r.sex), int(r.age), float(r.income)]}) + "\n"
            for r in part.itertuples()
        )
        out = "".join(
            json.dumps({"predicted_label": int(r.score > 0.5), "score": r.score}) + "\n"
            for r in part.itertuples()
        )
        caps.append(
            capture_line(
                body,
                out,
                event_id=f"e{i}",
                time=T0 + timedelta(seconds=i),
                encoding="JSON",
                input_type="application/jsonlines",
                output_type="application/jsonlines",
            )
        )
        labels = [{"label": int(v)} for v in part["approved"]]
        truths.append(ground_truth_line(f"e{i}", "\n".join(json.dumps(x) for x in labels), encoding="JSON"))
    write_jsonl(hour_dir(tmp_path / "cap", T0, "ep", "AllTraffic") / "c.jsonl", caps)
    write_jsonl(hour_dir(tmp_path / "gt", T0) / "g.jsonl", truths)
    # the same records as CSV with the predicted label as a column: the expected metrics
    csv_frame = frame.assign(pred=(frame["score"] > 0.5).astype(int)).drop(columns="score")
    csv_frame.to_csv(tmp_path / "expected.csv", index=False)
    expected_cfg = {
        "dataset_type": "text/csv",
        "headers": ["sex", "age", "income", "approved", "pred"],
        "label": "approved",
        "predicted_label": "pred",
        **{k: config[k] for k in ("label_values_or_threshold", "facet")},
        "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
    }
    (tmp_path / "expected.json").write_text(json.dumps(expected_cfg))
    from container.job import run_job

    expected = run_job(
        tmp_path / "expected.json", data_uri=str(tmp_path / "expected.csv"), output=tmp_path / "e"
    )
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = run_monitor(
        tmp_path / "config.json",
        captured=str(tmp_path / "cap"),
        ground_truth=str(tmp_path / "gt"),
        baseline=str(tmp_path / "e"),
        output=tmp_path / "out",
        attributes=MonitorAttributes(features="features", inference="predicted_label", ground_truth="label"),
    )
    assert result.records == 100 and result.violations == []
    facets = result.analysis["post_training_bias_metrics"]["facets"]["sex"]
    assert facets == expected["post_training_bias_metrics"]["facets"]["sex"]
    assert result.analysis["post_training_bias_metrics"]["label"] == "approved"  # the last header


def test_explainability_config_is_completed_from_the_capture_and_the_contract(tmp_path: Path) -> None:
    """No predictor endpoint: the monitored endpoint; content types from the capture; JSON baseline rows."""
    import json as _json

    from analyzer.monitor.capture import parse_capture_line
    from container.monitor import _explain_dataset

    body = '{"features":[1,2,3]}\n{"features":[4,5,6]}'
    out = '{"score":0.2}\n{"score":0.7}'
    event = parse_capture_line(
        _json.dumps(
            capture_line(
                body,
                out,
                event_id="e",
                encoding="JSON",
                input_type="application/jsonlines",
                output_type="application/jsonlines",
            )
        ),
        "f",
    )
    cfg = {
        "headers": ["a", "b", "c"],
        "methods": {"shap": {"baseline": [{"features": [0, 0, 0]}], "num_samples": 10}},
        "predictor": {"content_template": '{"features":$features}'},
    }
    attrs = MonitorAttributes(features="features", inference="score")
    derived, data, n = _explain_dataset(cfg, [event], attrs, "live-endpoint", tmp_path)
    assert n == 2 and data.read_text().splitlines() == ["a,b,c", "1,2,3", "4,5,6"]
    assert derived["methods"]["shap"]["baseline"] == [[0, 0, 0]]
    assert derived["predictor"] == {
        "content_template": '{"features":$features}',
        "content_type": "application/jsonlines",
        "accept_type": "application/jsonlines",
        "label": "score",
        "endpoint_name": "live-endpoint",
    }
    csv_event = parse_capture_line(_json.dumps(capture_line("1,2,3\n", "0.1,0.9\n", event_id="e")), "f")
    derived, _, _ = _explain_dataset(
        {"headers": ["a", "b", "c"], "methods": {"shap": {}}, "predictor": {"model_name": "m"}},
        [csv_event],
        MonitorAttributes(inference="1"),
        "live-endpoint",
        tmp_path,
    )
    assert derived["predictor"] == {
        "model_name": "m",
        "content_type": "text/csv",
        "accept_type": "text/csv",
        "label": 1,
    }
