"""Environment variables: read in one settings module per package, all listed in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer import settings as runner
from analyzer.errors import ConfigError
from local_endpoint import settings as server
from tests.conftest import REPO_ROOT

PACKAGES = ("analyzer", "container", "local_endpoint")


def _readme_rows() -> dict[str, str]:
    text = (REPO_ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]+) \|", text, flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_every_variable_is_in_the_readme_table_with_its_default() -> None:
    rows = _readme_rows()
    for var in (*runner.VARIABLES, *server.VARIABLES):
        assert var.name in rows, f"{var.name} is missing from the README table"
        expected = "—" if var.default is None else f"`{var.default}`"
        assert rows[var.name] == expected, var.name


def test_only_the_settings_modules_read_the_environment() -> None:
    readers = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if path.name == "settings.py":
                continue
            text = path.read_text()
            for pattern in (r"os\.environ\.get\(", r"os\.getenv\(", r"os\.environ\[[^\]]+\](?!\s*=)"):
                if re.search(pattern, text):
                    readers.append(f"{path.relative_to(REPO_ROOT)}: {pattern}")
    assert readers == []


def test_runner_settings_are_typed_and_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in runner.VARIABLES:
        monkeypatch.delenv(var.name, raising=False)
    s = runner.runner_settings()
    assert (s.opt_ml, s.endpoint_backend, s.endpoint_timeout, s.sagemaker_poll_seconds) == (
        Path("/opt/ml"), "auto", 600.0, 15.0
    )
    assert s.s3_endpoint_url is None and s.in_container is False
    monkeypatch.setenv("CLARIFY_RUNNER_ENDPOINT_TIMEOUT", "2.5")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws:1")
    assert runner.runner_settings().endpoint_timeout == 2.5
    assert runner.runner_settings().s3_endpoint_url == "http://aws:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3:2")
    assert runner.runner_settings().s3_endpoint_url == "http://s3:2"
    monkeypatch.setenv("CLARIFY_RUNNER_ENDPOINT_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="CLARIFY_RUNNER_ENDPOINT_TIMEOUT must be a number"):
        runner.runner_settings()


def test_server_settings_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"SAGEMAKER_BIND_TO_PORT": "9000", "CLARIFY_RUNNER_SKOPS_TRUSTED": "a.B, c.D",
           "CLARIFY_RUNNER_MODEL_FLAVOR": " XGBoost "}
    s = server.server_settings(env)
    assert (s.port, s.workers, s.max_content_length, s.model_dir) == (9000, None, 6 * 1024 * 1024,
                                                                       Path("/opt/ml/model"))
    assert s.skops_trusted == frozenset({"a.B", "c.D"}) and s.model_flavor == "xgboost"
    with pytest.raises(ValueError, match="SAGEMAKER_MODEL_SERVER_WORKERS must be an integer"):
        server.server_settings({"SAGEMAKER_MODEL_SERVER_WORKERS": "many"})


def test_model_call_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ("CLARIFY_RUNNER_REQUEST_TIMEOUT", "CLARIFY_RUNNER_MAX_RETRIES", "CLARIFY_RUNNER_MODEL_DEADLINE")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    s = runner.runner_settings()
    assert (s.request_timeout, s.max_retries, s.model_deadline) == (60.0, 5, 86400.0)
    monkeypatch.setenv("CLARIFY_RUNNER_MAX_RETRIES", "0")
    assert runner.runner_settings().max_retries == 0
    monkeypatch.setenv("CLARIFY_RUNNER_MAX_RETRIES", "-1")
    expected = r"^Environment variable CLARIFY_RUNNER_MAX_RETRIES must be 0 or more, got '-1'$"
    with pytest.raises(ConfigError, match=expected):
        runner.runner_settings()
    monkeypatch.setenv("CLARIFY_RUNNER_MAX_RETRIES", "2")
    monkeypatch.setenv("CLARIFY_RUNNER_REQUEST_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="CLARIFY_RUNNER_REQUEST_TIMEOUT must be positive"):
        runner.runner_settings()
