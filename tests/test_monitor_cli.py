"""``clarify-runner monitor`` and the processing job's monitoring mode (issue 20, points 1 and 5)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_monitor_bias import MONITOR_CONFIG, T0, baseline_analysis, capture_window, traffic

from analyzer.settings import MONITOR_VARIABLES, monitor_settings
from container.cli import main as cli_main
from container.monitor import monitor_kind
from container.processing_job import main as job_main
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("monitor_cli")
    served = traffic(200, seed=3, biased=False)
    baseline = baseline_analysis(served, tmp)
    capture_window(served, tmp, T0, "same")
    capture_window(traffic(200, seed=4, biased=True), tmp, T0 + timedelta(hours=1), "drift")
    config = tmp / "monitor_config.json"
    config.write_text(json.dumps(MONITOR_CONFIG))
    return {"tmp": tmp, "baseline": baseline, "config": config}


def test_cli_monitor_finds_drift_and_exits_0(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp = data["tmp"]
    argv = [
        "monitor",
        "--config",
        str(data["config"]),
        "--captured",
        str(tmp / "capture"),
        "--ground-truth",
        str(tmp / "gt"),
        "--baseline",
        str(data["baseline"]),
    ]
    # the execution is "now" = 13:00; the window is the previous hours, offset like a schedule's
    window = ["--end-time", "2024-03-01T13:00:00Z", "--start-offset=-PT2H", "--end-offset=-PT1H"]
    assert (
        cli_main(
            [*argv, "--output", str(tmp / "cli_drift"), *window, "--cloudwatch-metrics", str(tmp / "cli_cw")]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("CompletedWithViolations:") and "sex DPPL: Metric value" in out
    assert (tmp / "cli_drift" / "constraint_violations.json").exists()
    assert (tmp / "cli_cw" / "metrics.jsonl").read_text().count("bias_metric_") > 10
    clean = ["--start-time", "2024-03-01T10:00:00Z", "--end-time", "2024-03-01T11:00:00Z"]
    assert cli_main([*argv, "--output", str(tmp / "cli_clean"), *clean]) == 0
    assert capsys.readouterr().out.startswith("Completed: 0 violation(s) in 200 records")
    assert not (tmp / "cli_clean" / "constraint_violations.json").exists()


def test_cli_monitor_errors_are_user_errors(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp = data["tmp"]
    code = cli_main(
        [
            "monitor",
            "--config",
            str(data["config"]),
            "--captured",
            str(tmp / "capture"),
            "--baseline",
            str(tmp / "nope.json"),
            "--output",
            str(tmp / "x"),
        ]
    )
    assert code == 1
    assert "nope.json" in capsys.readouterr().err


def _contract_env(monkeypatch: pytest.MonkeyPatch, root: Path, data: dict[str, Path], **extra: str) -> None:
    for var in MONITOR_VARIABLES:
        monkeypatch.delenv(var.name, raising=False)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(root))
    config_dir = root / "processing" / "input" / "config"
    config_dir.mkdir(parents=True)
    (config_dir / "analysis_config.json").write_text(data["config"].read_text())
    env = {
        "dataset_format": json.dumps(
            {"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}
        ),
        "dataset_source": str(data["tmp"] / "capture"),
        "ground_truth_source": str(data["tmp"] / "gt"),
        "baseline_constraints": str(data["baseline"]),
        "output_path": str(root / "processing" / "resultdata"),
        "sagemaker_endpoint_name": "credit-ep",
        "sagemaker_monitoring_schedule_name": "bias-schedule",
        "start_time": "2024-03-01T12:00:00Z",
        "end_time": "2024-03-01T13:00:00Z",
        "start_time_offset": "-PT1H",
        "end_time_offset": "-PT1H",
        **extra,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def test_processing_job_runs_a_monitoring_execution(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Model Monitor contract variables select the mode; violations still exit 0."""
    _contract_env(monkeypatch, tmp_path, data, publish_cloudwatch_metrics="Enabled")
    assert job_main([]) == 0
    result = tmp_path / "processing" / "resultdata"
    violations = json.loads((result / "constraint_violations.json").read_text())["violations"]
    assert {"DPPL", "DI"} <= {v["metric_name"] for v in violations}
    assert (
        json.loads((result / "analysis.json").read_text())["pre_training_bias_metrics"]["label"] == "approved"
    )
    metrics = (tmp_path / "output" / "metrics" / "cloudwatch" / "metrics.jsonl").read_text().splitlines()
    first: dict[str, Any] = json.loads(metrics[0])
    assert {d["Name"] for d in first["Dimensions"]} >= {
        "Endpoint",
        "MonitoringSchedule",
        "BiasStage",
        "Facet",
    }
    assert not (tmp_path / "output" / "message").exists()


def test_processing_job_without_cloudwatch_and_without_drift(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _contract_env(
        monkeypatch,
        tmp_path,
        data,
        start_time="2024-03-01T11:00:00Z",
        end_time="2024-03-01T12:00:00Z",
        publish_cloudwatch_metrics="Disabled",
    )
    assert job_main([]) == 0
    assert (tmp_path / "processing" / "resultdata" / "analysis.json").exists()
    assert not (tmp_path / "processing" / "resultdata" / "constraint_violations.json").exists()
    assert not (tmp_path / "output" / "metrics").exists()


def test_processing_job_rejects_other_dataset_formats(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _contract_env(monkeypatch, tmp_path, data, dataset_format='{"csv": {"header": true}}')
    assert job_main([]) == 1
    assert "not supported yet" in (tmp_path / "output" / "message").read_text()


def test_monitor_kind_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert monitor_kind(MONITOR_CONFIG) == "bias"
    assert monitor_kind({"methods": {"shap": {}}, "headers": ["a"]}) == "explainability"
    assert monitor_kind({"methods": {"shap": {}}}, "MODEL_BIAS") == "bias"
    s = monitor_settings({"probability_threshold_attribute": "0.6", "publish_cloudwatch_metrics": "Enabled"})
    assert (
        s.probability_threshold_attribute == 0.6 and s.publish_cloudwatch_metrics and s.dataset_source is None
    )
    assert monitor_settings({}).publish_cloudwatch_metrics is False


def test_every_monitor_variable_is_in_the_readme() -> None:
    text = (REPO_ROOT / "README.md").read_text()
    for var in MONITOR_VARIABLES:
        default = "—" if var.default is None else f"`{var.default}`"
        assert f"| `{var.name}` | {default} |" in text, var.name
