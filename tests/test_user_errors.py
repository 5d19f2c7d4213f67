"""Every user error is exit 1 with a message naming the key, column or record at fault, found
before the analysis runs; ``validate`` reports config and data problems together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _container_helpers import moto_server_fixture, pre_training_config, s3  # noqa: F401 - fixture

from container.cli import main
from tests.conftest import REPO_ROOT

GERMAN_CREDIT_CSV = REPO_ROOT / "examples" / "german_credit" / "german_credit.csv"


@pytest.fixture
def message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``/opt/ml/output/message`` of the jobs run by the test."""
    (tmp_path / "opt_ml" / "output").mkdir(parents=True)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(tmp_path / "opt_ml"))
    return tmp_path / "opt_ml" / "output" / "message"


def _config(tmp_path: Path, **changes: Any) -> Path:
    cfg = pre_training_config()
    cfg["methods"] = {"pre_training_bias": {"methods": ["CI", "DPL"]}}
    cfg.update(changes)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def _run(config: Path, data: Path, output: str) -> int:
    return main(["run", "--config", str(config), "--data", str(data), "--output", output])


def test_output_naming_a_file_is_a_user_error(tmp_path: Path, message: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("mine")
    assert _run(_config(tmp_path), GERMAN_CREDIT_CSV, str(target)) == 1
    assert message.read_text() == (
        f"ClientError: Output {target} is a file, not a folder; pass a folder to --output"
    )
    assert target.read_text() == "mine"


def test_missing_s3_bucket_fails_before_the_analysis(
    tmp_path: Path, message: Path, moto_server: str, capfd: pytest.CaptureFixture[str]
) -> None:
    s3(moto_server).create_bucket(Bucket="present")
    assert _run(_config(tmp_path), GERMAN_CREDIT_CSV, "s3://missing-bucket/out") == 1
    assert message.read_text() == (
        "ClientError: Output s3://missing-bucket/out: S3 bucket 'missing-bucket' does not exist; create "
        "it or fix --output"
    )
    assert "Loading dataset" not in capfd.readouterr().err  # checked before anything ran
    client = s3(moto_server)
    for key in ("out/report.html", "out/explanations_shap/out.csv", "out/analysis.json", "out/mine.txt",
                "outside/report.html"):
        client.put_object(Bucket="present", Key=key, Body=b"stale")
    assert _run(_config(tmp_path), GERMAN_CREDIT_CSV, "s3://present/out") == 0
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="present")["Contents"])
    # the write check leaves nothing behind; an earlier run's outputs are replaced, others kept
    assert keys == ["out/analysis.json", "out/mine.txt", "outside/report.html"]
    assert client.get_object(Bucket="present", Key="out/analysis.json")["Body"].read() != b"stale"


LABEL_YES = (
    "Label column risk holds values like [1, 0] (int64); label_values_or_threshold ['yes'] cannot be "
    "matched with them (could not convert string to float: 'yes'). Use values that occur in the column, "
    "or one number as a threshold for a numeric label."
)


def test_label_value_that_the_column_cannot_hold(
    tmp_path: Path, message: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, label_values_or_threshold=["yes"])
    assert _run(config, GERMAN_CREDIT_CSV, str(tmp_path / "out")) == 1
    assert message.read_text() == f"ClientError: {LABEL_YES}"
    assert main(["validate", "--config", str(config), "--data", str(GERMAN_CREDIT_CSV)]) == 1
    assert capsys.readouterr().out == f"1 problem(s) found in {config}:\n1. {LABEL_YES}\n"


def _duplicate_header_csv(tmp_path: Path) -> Path:
    lines = GERMAN_CREDIT_CSV.read_text().splitlines()
    path = tmp_path / "dup.csv"
    rows = ["risk,sex,job,sex"] + [",".join(line.split(",")[:4]) for line in lines[1:]]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_duplicate_header_names_are_named(tmp_path: Path, message: Path) -> None:
    data = _duplicate_header_csv(tmp_path)
    assert _run(_config(tmp_path), data, str(tmp_path / "out")) == 1
    assert message.read_text() == (
        f"ClientError: Duplicate column names in the header row of '{data}': ['sex'] appear more than once "
        "in ['risk', 'sex', 'job', 'sex']; give every column a distinct name"
    )


def test_probability_threshold_outside_0_1(tmp_path: Path, message: Path) -> None:
    assert _run(_config(tmp_path, probability_threshold=1.5), GERMAN_CREDIT_CSV, str(tmp_path / "o")) == 1
    assert message.read_text() == (
        "ClientError: Analysis configuration validation error.\nprobability_threshold: must be between 0 "
        "and 1 (a score above it is the positive label), got 1.5"
    )


def test_validate_reports_config_and_data_problems_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, probability_threshold=1.5)
    data = _duplicate_header_csv(tmp_path)
    assert main(["validate", "--config", str(config), "--data", str(data)]) == 1
    assert capsys.readouterr().out == (
        f"2 problem(s) found in {config}:\n"
        "1. probability_threshold: must be between 0 and 1 (a score above it is the positive label), got "
        "1.5\n"
        f"2. Duplicate column names in the header row of '{data}': ['sex'] appear more than once in "
        "['risk', 'sex', 'job', 'sex']; give every column a distinct name\n"
    )
