"""The processing-job entrypoint: contract paths, S3 in/out on moto, failures, SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _container_helpers import (  # noqa: F401 - fixture
    GC_MODEL_ENV,
    GERMAN_CREDIT_DIR,
    REPO_ROOT,
    all_keys,
    german_credit_model_dir,
    moto_server_fixture,
    opt_ml_tree,
    pre_training_config,
    s3,
)

from analyzer.errors import ConfigError
from container.processing_job import ContractPaths, find_config, find_data, log_hosts, main


@pytest.fixture
def opt_ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A tmp /opt/ml root; the root logger is restored afterwards (main() installs its handler)."""
    root = tmp_path / "opt_ml"
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(root))
    for var in ("CLARIFY_RUNNER_CONFIG", "CLARIFY_RUNNER_DATA", "CLARIFY_RUNNER_OUTPUT"):
        monkeypatch.delenv(var, raising=False)
    log = logging.getLogger()
    handlers, level = log.handlers[:], log.level
    try:
        yield root
    finally:
        log.handlers[:] = handlers
        log.setLevel(level)


def test_config_is_the_single_file_whatever_its_name(tmp_path: Path) -> None:
    paths = ContractPaths(tmp_path)
    paths.config_dir.mkdir(parents=True)
    with pytest.raises(ConfigError, match="is empty"):
        find_config(paths)
    (paths.config_dir / "bias_analysis_config.json").write_text("{}")
    assert find_config(paths).name == "bias_analysis_config.json"
    (paths.config_dir / "other.json").write_text("{}")
    with pytest.raises(ConfigError, match="bias_analysis_config.json, other.json"):
        find_config(paths)


def test_config_and_data_paths_from_processingjobconfig(tmp_path: Path) -> None:
    cfg_file = tmp_path / "elsewhere" / "cfg.json"
    cfg_file.parent.mkdir()
    cfg_file.write_text("{}")
    (tmp_path / "d").mkdir()
    job = {"ProcessingInputs": [
        {"InputName": "analysis_config", "S3Input": {"LocalPath": str(cfg_file.parent)}},
        {"InputName": "dataset", "S3Input": {"LocalPath": str(tmp_path / "d")}},
    ]}
    paths = ContractPaths(tmp_path / "opt_ml")
    assert find_config(paths, job) == cfg_file
    assert find_data(paths, job) is None  # empty dataset folder: dataset_uri must be set
    (tmp_path / "d" / "x.csv").write_text("a\n")
    assert find_data(paths, job) == str(tmp_path / "d")


def test_host_lines_like_the_real_container(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    assert log_hosts({"current_host": "algo-1", "hosts": ["algo-1"]})
    assert ["This host is algo-1.", "This host is the leader.", "Number of hosts in the cluster is 1."] == [
        r.getMessage() for r in caplog.records
    ]
    assert not log_hosts({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]})


def test_local_contract_paths_end_to_end(opt_ml: Path, capfd: pytest.CaptureFixture[str]) -> None:
    opt_ml_tree(opt_ml, pre_training_config())
    assert main([]) == 0
    analysis = json.loads((opt_ml / "processing" / "output" / "analysis.json").read_text())
    assert "pre_training_bias_metrics" in analysis
    assert not (opt_ml / "output" / "message").exists()
    assert "This host is the leader." in capfd.readouterr().err


def test_s3_input_prefix_to_uploaded_outputs(opt_ml: Path, moto_server: str) -> None:
    client = s3(moto_server)
    for bucket in ("inputs", "results"):
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket="inputs", Key="job/config/analysis_config.json",
                      Body=json.dumps(pre_training_config()).encode())
    client.upload_file(str(GERMAN_CREDIT_DIR / "german_credit.csv"), "inputs", "job/data/part-0.csv")
    opt_ml_tree(opt_ml, None, data=False)
    code = main(["--config", "s3://inputs/job/config/", "--data", "s3://inputs/job/data/",
                 "--output", "s3://results/run-1"])
    assert code == 0
    keys = all_keys(client, "results")
    assert "run-1/analysis.json" in keys
    body = json.loads(client.get_object(Bucket="results", Key="run-1/analysis.json")["Body"].read())
    assert "pre_training_bias_metrics" in body


def test_failing_analysis_uploads_nothing_and_writes_the_message(opt_ml: Path, moto_server: str) -> None:
    client = s3(moto_server)
    client.create_bucket(Bucket="results")
    cfg = pre_training_config()
    cfg["label"] = "no_such_column"
    opt_ml_tree(opt_ml, cfg)
    assert main(["--output", "s3://results/run-2"]) == 1
    assert all_keys(client, "results") == []
    message = (opt_ml / "output" / "message").read_bytes()
    assert len(message) <= 1024
    text = message.decode("utf-8")
    assert text.startswith("ClientError: ") and "no_such_column" in text


def test_sigterm_mid_run_tears_down_the_shadow_endpoint(opt_ml: Path, tmp_path: Path) -> None:
    model_dir = german_credit_model_dir(tmp_path / "model")
    models = tmp_path / "models.json"
    entry = {"image": "unused", "model_data_url": str(model_dir), "environment": GC_MODEL_ENV}
    models.write_text(json.dumps({"german-credit-sklearn": entry}))
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    cfg["methods"] = {"shap": {**cfg["methods"]["shap"], "num_samples": 5000}}
    opt_ml_tree(opt_ml, cfg)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CLARIFY_RUNNER_OPT_ML": str(opt_ml)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "container.processing_job", "--backend", "subprocess",
         "--models-file", str(models)],
        env=env, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "Endpoint is in service" in line:
                break
        time.sleep(1.0)
        children = _children(proc.pid)
        assert children, "the local endpoint process should be running:\n" + "".join(lines)[-4000:]
        proc.send_signal(signal.SIGTERM)
        lines.extend(proc.stderr)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = "".join(lines)
    assert code == 128 + signal.SIGTERM, log
    assert "Signal 15 received, cleaning up" in log
    assert "Stop using endpoint" in log
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)
    assert (opt_ml / "output" / "message").read_text().startswith("Stopped")
    assert not (opt_ml / "processing" / "output" / "analysis.json").exists()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.parametrize("current", ["algo-1", "algo-2"])
def test_more_than_one_host_fails_clearly_on_every_host(opt_ml: Path, current: str) -> None:
    """instance_count=2: no host may exit 0 (the SDK would report a job without results as done)."""
    opt_ml_tree(opt_ml, pre_training_config())
    (opt_ml / "config" / "resourceconfig.json").write_text(
        json.dumps({"current_host": current, "hosts": ["algo-1", "algo-2"]})
    )
    assert main([]) == 1
    message = (opt_ml / "output" / "message").read_text()
    assert message.startswith("ClientError: This processing job has 2 hosts")
    assert "instance_count=1" in message and "Spark" in message
    assert not (opt_ml / "processing" / "output" / "analysis.json").exists()
