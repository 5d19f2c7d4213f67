"""How a job ends: one error taxonomy, one exit-code mapping, one stop mechanism, a quick CLI."""

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
from _container_helpers import GC_MODEL_ENV, GERMAN_CREDIT_DIR, REPO_ROOT, german_credit_model_dir

from analyzer.errors import (
    ConfigError,
    DatasetError,
    InternalError,
    JobStopped,
    ModelError,
    NotSupportedError,
    PlatformError,
    StopEvent,
    check_stop,
    failure_outcome,
)
from container.cli import main
from tests.conftest import GERMAN_CREDIT_CSV, free_port

STOPPED = "the job was stopped and wrote no results"


@pytest.fixture
def opt_ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "opt_ml"
    (root / "output").mkdir(parents=True)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(root))
    log = logging.getLogger()
    handlers, level = log.handlers[:], log.level
    try:
        yield root
    finally:
        log.handlers[:] = handlers
        log.setLevel(level)


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (ConfigError("bad key"), 1, "ClientError: bad key"),
        (DatasetError("no column"), 1, "ClientError: no column"),
        (NotSupportedError("images"), 1, "ClientError: images"),
        (ModelError("answered 500"), 3, "ClientError: answered 500"),
        (PlatformError("unreachable"), 4, "PlatformError: unreachable"),
        (InternalError("oops"), 2, "AlgorithmError: InternalError: oops"),
        (KeyError("x"), 2, "AlgorithmError: KeyError: 'x'"),
        (JobStopped(signal.SIGTERM), 143, f"Stopped: Signal 15 received; {STOPPED}"),
        (JobStopped(signal.SIGINT), 130, f"Stopped: Signal 2 received; {STOPPED}"),
        (KeyboardInterrupt(), 130, f"Stopped: interrupted; {STOPPED}"),
    ],
)
def test_one_mapping_from_errors_to_exit_codes_and_messages(error: BaseException, code: int, message: str):
    outcome = failure_outcome(error)
    assert (outcome.exit_code, outcome.message) == (code, message)


def test_once_stopped_any_error_reports_the_stop() -> None:
    """An error raised while unwinding after a signal is reported as the stop, not as itself."""
    assert failure_outcome(ModelError("connection reset"), signum=signal.SIGTERM).exit_code == 143


def test_stop_event_check_raises_the_one_stop_exception() -> None:
    event = StopEvent()
    check_stop(event)
    event.stop(signal.SIGINT)
    event.stop(signal.SIGTERM)  # the first signal is the one reported
    with pytest.raises(JobStopped) as info:
        check_stop(event)
    assert info.value.signum == signal.SIGINT
    assert not issubclass(JobStopped, Exception)  # `except Exception` in the analysis cannot swallow it


def test_unreachable_endpoint_is_a_platform_error(tmp_path: Path, opt_ml: Path) -> None:
    config = {
        "dataset_type": "text/csv",
        "label": "risk",
        "methods": {"shap": {"baseline": [[0] * 9], "num_samples": 10}},
        "predictor": {"endpoint_name": "x", "probability": 1},
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    url = f"http://127.0.0.1:{free_port()}"
    code = main(["run", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV), "--output",
                 str(tmp_path / "o"), "--endpoint-url", url])
    assert code == 4
    message = (opt_ml / "output" / "message").read_text()
    assert message.startswith("PlatformError: The model endpoint (" + url) and "cannot be reached" in message


def test_help_imports_nothing_heavy() -> None:
    """`--help` must answer at once: nothing heavy is imported before the arguments are parsed."""
    heavy = ("numpy", "pandas", "pydantic", "pyarrow", "boto3", "requests", "docker", "numba", "sklearn",
             "scipy", "jmespath", "starlette", "uvicorn", "matplotlib")
    for argv in (["--help"], ["run", "--help"], ["validate", "--help"]):
        code = (
            f"import sys\nfrom container.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n"
            f"    pass\nprint(sorted(m for m in {heavy!r} if m in sys.modules))"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT,
                              check=True)
        assert proc.stdout.strip().splitlines()[-1] == "[]", argv


def test_log_level_is_accepted_after_the_subcommand(tmp_path: Path, opt_ml: Path) -> None:
    config = {
        "dataset_type": "text/csv",
        "label": "risk",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex"}],
        "methods": {"pre_training_bias": {"methods": ["CI"]}},
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    data = ["--data", str(GERMAN_CREDIT_CSV)]
    assert main(["validate", "--log-level", "DEBUG", "--config", str(path), *data]) == 0
    assert logging.getLogger().level == logging.DEBUG
    assert main(["--log-level", "WARNING", "validate", "--config", str(path), *data]) == 0
    assert logging.getLogger().level == logging.WARNING
    out = tmp_path / "out"
    assert main(["run", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV), "--output", str(out),
                 "--log-level", "ERROR"]) == 0
    assert logging.getLogger().level == logging.ERROR


@pytest.mark.slow
def test_sigterm_stops_clarify_runner_run_cleanly(tmp_path: Path) -> None:
    """`clarify-runner run` handles SIGTERM like the processing job: endpoint stopped, staging
    removed, exit 143, message written."""
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "output").mkdir(parents=True)
    model_dir = german_credit_model_dir(tmp_path / "model")
    models = tmp_path / "models.json"
    entry = {"image": "unused", "model_data_url": str(model_dir), "environment": GC_MODEL_ENV}
    models.write_text(json.dumps({"german-credit-sklearn": entry}))
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    cfg["methods"] = {"shap": {**cfg["methods"]["shap"], "num_samples": 5000}}
    config = tmp_path / "analysis_config.json"
    config.write_text(json.dumps(cfg))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CLARIFY_RUNNER_OPT_ML": str(opt_ml)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "container.cli", "run", "--config", str(config), "--data",
         str(GERMAN_CREDIT_DIR / "german_credit.csv"), "--output", str(out), "--backend", "subprocess",
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
    assert (opt_ml / "output" / "message").read_text().startswith("Stopped: Signal 15 received")
    assert list(out.iterdir()) == []  # no analysis.json, no staging folder


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]
