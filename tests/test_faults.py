"""Fault injection: endpoints and models that stall, die, fail or answer garbage.

Each test asserts the exact message a user reads and how long the job took to fail (with
small configured timeouts, and loose upper bounds: a multiple of the timeout, never a
micro-timing).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _docker_helpers import (  # noqa: F401 - fixtures
    built_images_fixture,
    docker_client_fixture,
    unrelated_shadow_fixture,
)
from _model_client_helpers import Drop, FakeServer, numeric_rows, sum_model

from analyzer.errors import ModelError, PlatformError
from analyzer.model_client import HttpTransport, ModelClient
from analyzer.plan import ClientSettings


@pytest.fixture
def serve():
    servers: list[FakeServer] = []

    def start(handler, **kwargs) -> FakeServer:
        server = FakeServer(handler, **kwargs)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


def client_for(url: str, **settings) -> ModelClient:
    settings.setdefault("retry_backoff", 0.01)
    settings.setdefault("max_backoff", 0.05)
    return ModelClient(HttpTransport(url), ClientSettings(**settings), feature_names=["a", "b", "c"],
                       progress=False)


@pytest.fixture
def stall():
    """A handler that never answers (until the test ends)."""
    release = threading.Event()

    def handler(req, index):
        release.wait(30)
        raise Drop()

    yield handler
    release.set()


def test_stalled_endpoint_fails_within_twice_the_request_timeout(serve, stall) -> None:
    server = serve(stall)
    timeout = 0.5
    started = time.monotonic()
    with client_for(server.url, request_timeout=timeout) as client:
        with pytest.raises(ModelError) as info:
            client.predict_scores(numeric_rows(5000, 3))
    elapsed = time.monotonic() - started
    assert elapsed < 3 * timeout + 1.0, elapsed
    message = str(info.value)
    assert message.startswith(
        f"The model endpoint ({server.url}) failed on a request of 1 record(s) (text/csv, "
    )
    assert (
        "no answer within the request timeout of 0.5 s ($CLARIFY_RUNNER_REQUEST_TIMEOUT), twice in a "
        "row with no answer in between: the endpoint is stalled, or too slow for this request."
    ) in message


def test_stalled_endpoint_single_records(serve, stall) -> None:
    """One record per request (``$record`` template): the retry of a timed-out record is the
    second strike."""
    server = serve(stall)
    started = time.monotonic()
    with client_for(server.url, request_timeout=0.4, content_type="application/json",
                    content_template="$record", record_template="$features_kvp",
                    probability="score") as client:
        with pytest.raises(ModelError, match=r"no answer within the request timeout of 0.4 s"):
            client.predict_scores(numeric_rows(20, 3))
    assert time.monotonic() - started < 3 * 0.4 + 1.0


def test_slow_batches_are_halved_not_failed(serve) -> None:
    """A model too slow for big batches but fine for small ones is not a stalled endpoint."""

    def slow_when_big(req, index):
        if req.body.count(b"\n") > 4:
            time.sleep(1.0)
        return sum_model(req, index)

    server = serve(slow_when_big)
    rows = numeric_rows(16, 3)
    with client_for(server.url, request_timeout=0.3) as client:
        scores = client.predict_scores(rows)
    np.testing.assert_allclose(scores[:, 0], rows.sum(axis=1))


def test_model_call_deadline_fails_the_job(serve) -> None:
    def slow(req, index):
        time.sleep(0.15)
        return sum_model(req, index)

    server = serve(slow)
    started = time.monotonic()
    with client_for(server.url, request_timeout=5, deadline=1.0, max_rows_per_request=1,
                    max_in_flight=1) as client:
        with pytest.raises(ModelError) as info:
            client.predict_scores(numeric_rows(100, 3))
    assert time.monotonic() - started < 2.5
    assert ("the model calls of this job took longer than the deadline of 1 s "
            "($CLARIFY_RUNNER_MODEL_DEADLINE)") in str(info.value)


def test_endpoint_answering_5xx_fails_after_the_retry_budget(serve) -> None:
    server = serve(lambda req, i: (503, "upstream model crashed: CUDA out of memory"))
    started = time.monotonic()
    with client_for(server.url, max_retries=2) as client:
        with pytest.raises(ModelError) as info:
            client.predict_scores(numeric_rows(10, 3))
    assert time.monotonic() - started < 3.0
    assert ("gave up after 3 attempts; last error: HTTP 503: upstream model crashed: CUDA out of "
            "memory") in str(info.value)


def test_endpoint_that_dies_is_a_platform_error(serve) -> None:
    server = serve(sum_model)
    url = server.url
    server.stop()
    started = time.monotonic()
    with client_for(url, max_retries=2) as client:
        with pytest.raises(PlatformError) as info:
            client.predict_scores(numeric_rows(10, 3))
    assert time.monotonic() - started < 3.0
    assert "the endpoint cannot be reached (gave up after 3 attempts); last error: cannot connect to " \
        f"{url}/invocations" in str(info.value)


def test_endpoint_dropping_every_connection(serve) -> None:
    def drop(req, index):
        raise Drop()

    server = serve(drop)
    started = time.monotonic()
    with client_for(server.url, max_retries=2) as client:
        with pytest.raises(ModelError, match=r"gave up after 3 attempts; last error: connection to "):
            client.predict_scores(numeric_rows(4, 3))
    assert time.monotonic() - started < 3.0


def test_wrong_row_count(serve) -> None:
    server = serve(lambda req, i: (200, "0.5\n0.25"))
    started = time.monotonic()
    with client_for(server.url) as client:
        with pytest.raises(ModelError) as info:
            client.predict_scores(numeric_rows(3, 3))
    assert time.monotonic() - started < 2.0
    assert ("failed on a request of 3 record(s) (text/csv, 55 bytes): the CSV response has 2 lines for 3 "
            "records; the rows in the response payload must match the records in the request payload; "
            "response body: '0.5\\n0.25'.") in str(info.value)


# --- models that fail to load --------------------------------------------------------------

@pytest.fixture(scope="module")
def untrusted_model(tmp_path_factory: pytest.TempPathFactory):
    """The German-credit skops model, whose tree type skops does not trust by default."""
    from _container_helpers import german_credit_model_dir

    return german_credit_model_dir(tmp_path_factory.mktemp("gc-model"))


SKOPS_TRUST_ERROR = (
    "model.skops holds types that skops does not trust by default: sklearn.tree._tree.Tree; if you "
    "trust them, set CLARIFY_RUNNER_SKOPS_TRUSTED=sklearn.tree._tree.Tree"
)


@pytest.mark.slow
def test_subprocess_backend_reports_the_load_error_within_seconds(untrusted_model, monkeypatch) -> None:
    from container.endpoints.models import ModelSpec
    from container.endpoints.subprocess_backend import open_subprocess_endpoint

    monkeypatch.delenv("CLARIFY_RUNNER_SKOPS_TRUSTED", raising=False)
    monkeypatch.setenv("CLARIFY_RUNNER_ENDPOINT_TIMEOUT", "120")
    spec = ModelSpec("gc", None, str(untrusted_model))
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        with open_subprocess_endpoint("gc-endpoint", spec):
            pass
    assert time.monotonic() - started < 30  # seconds, not the 120 s ping timeout
    assert str(info.value).startswith(
        "local endpoint gc-endpoint failed to start: the model failed to load: ")
    assert SKOPS_TRUST_ERROR in str(info.value)


@pytest.mark.slow
def test_multi_worker_server_reports_its_load_error_on_ping(untrusted_model, monkeypatch) -> None:
    """uvicorn restarts a worker that dies; the server must say why instead (the Docker case)."""
    import os
    import socket
    import subprocess
    import sys

    from container.endpoints.common import wait_for_ping

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "CLARIFY_RUNNER_SKOPS_TRUSTED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "local_endpoint", "serve", "--model-dir", str(untrusted_model),
         "--port", str(port), "--host", "127.0.0.1", "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        started = time.monotonic()
        with pytest.raises(ModelError) as info:
            wait_for_ping([f"http://127.0.0.1:{port}"], what="model server", timeout=120)
        assert time.monotonic() - started < 40
    finally:
        proc.terminate()
        proc.wait(30)
    assert str(info.value) == f"model server failed to start: the model failed to load: {SKOPS_TRUST_ERROR}"


def test_ping_timeout_names_the_variable_and_shows_the_log(serve) -> None:
    from container.endpoints.common import wait_for_ping

    server = serve(sum_model)
    server.stop()
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        wait_for_ping([server.url], what="local endpoint x", timeout=0.5, logs=lambda: "a\nb\nstill loading")
    assert time.monotonic() - started < 3
    assert str(info.value) == (
        "local endpoint x did not answer /ping within 0.5 seconds ($CLARIFY_RUNNER_ENDPOINT_TIMEOUT); "
        "its log ends:\na\nb\nstill loading"
    )


def test_load_error_header_is_the_servers() -> None:
    from container.endpoints.common import LOAD_ERROR_HEADER
    from local_endpoint.app import LOAD_ERROR_HEADER as SERVER_HEADER

    assert LOAD_ERROR_HEADER == SERVER_HEADER


# --- predictions that cannot be used ---------------------------------------------------------

@pytest.mark.parametrize(
    ("body", "settings", "got"),
    [
        ("0.5\nnan\n0.2", {}, "[nan]"),
        ("0.5\ninf\n0.2", {}, "[inf]"),
        ('{"s": 0.5}\n{"s": NaN}\n{"s": 0.2}',
         {"content_type": "application/jsonlines", "content_template": '{"features": $features}',
          "probability": "s"}, "[nan]"),
    ],
)
def test_non_finite_scores_name_the_record(serve, body: str, settings: dict, got: str) -> None:
    server = serve(lambda req, i: (200, body))
    with client_for(server.url, **settings) as client:
        with pytest.raises(ModelError) as info:
            client.predict_labels(numeric_rows(3, 3), probability_threshold=0.5)
    assert str(info.value) == (
        f"The model endpoint ({server.url}) returned a non-finite prediction (NaN, null or infinity) "
        "for 1 of 3 record(s): row(s) 1 (0-based, in the order sent); row 1 (a=0.105, b=-0.536, "
        f"c=0.362) got {got}. "
        "A NaN would count as label 0 in bias metrics and leave blank SHAP values: fix the model, or remove "
        "the records it cannot score"
    )


def test_null_score_names_the_record(serve) -> None:
    server = serve(lambda req, i: (200, '{"s": 0.5}\n{"s": null}\n{"s": 0.2}'))
    with client_for(server.url, content_type="application/jsonlines",
                    content_template='{"features": $features}', probability="s") as client:
        with pytest.raises(ModelError) as info:
            client.predict_scores(numeric_rows(3, 3))
    assert "predictor.probability 's' found nothing in the response {\"s\": null}" in str(info.value)


def test_empty_predicted_label_names_the_record(serve) -> None:
    server = serve(lambda req, i: (200, "1,0.5\n,0.2\n0,0.1"))
    with client_for(server.url, label=0) as client:
        with pytest.raises(ModelError, match=r"for 1 of 3 record\(s\): row\(s\) 1 .* got ''\."):
            client.predict_labels(numeric_rows(3, 3))


def test_nan_scores_fail_the_run_with_exit_3(serve, tmp_path, monkeypatch) -> None:
    """End to end: post-training bias against an endpoint that scores record 3 as NaN."""
    import json

    from _container_helpers import GERMAN_CREDIT_DIR

    from container.cli import main

    def nan_for_record_3(req, index):
        lines = req.body.decode().splitlines()
        return 200, "\n".join("nan" if i == 3 else "0.7" for i in range(len(lines)))

    server = serve(nan_for_record_3)
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    cfg["methods"] = {"post_training_bias": {"methods": ["DPPL"]}}
    cfg["predictor"]["probability"] = 0
    config = tmp_path / "config.json"
    config.write_text(json.dumps(cfg))
    (tmp_path / "opt_ml" / "output").mkdir(parents=True)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(tmp_path / "opt_ml"))
    code = main(["run", "--config", str(config), "--data", str(GERMAN_CREDIT_DIR / "german_credit.csv"),
                 "--output", str(tmp_path / "out"), "--endpoint-url", server.url])
    assert code == 3
    message = (tmp_path / "opt_ml" / "output" / "message").read_text()
    assert message.startswith(
        f"ClientError: The model endpoint ({server.url}) returned a non-finite prediction (NaN, null or "
        "infinity) for 1 of 1000 record(s): row(s) 3 (0-based, in the order sent); row 3 (sex='male', "
        "job=2.0, "
    )
    assert not (tmp_path / "out" / "analysis.json").exists()


@pytest.mark.docker
@pytest.mark.slow
def test_docker_backend_reports_the_load_error_and_keeps_the_log(
    untrusted_model, docker_client, built_images, unrelated_shadow, monkeypatch, caplog
) -> None:
    """The image serves with several uvicorn workers (which restart a crashing worker): the job
    still fails in seconds with the server's own error, logs the container's log before removing
    the container, and touches nothing but its own containers."""
    import logging

    from _docker_helpers import assert_still_running, unique_name

    from container.endpoints.docker_backend import LABEL, open_docker_endpoint
    from container.endpoints.models import ModelSpec

    monkeypatch.setenv("CLARIFY_RUNNER_ENDPOINT_TIMEOUT", "300")
    name = unique_name("clarify-runner-test-loadfail")
    workers = {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}
    spec = ModelSpec("gc", built_images["image"], str(untrusted_model), workers)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="container.endpoints.docker_backend"):
        with pytest.raises(ModelError) as info:
            with open_docker_endpoint(name, spec):
                pass
    assert time.monotonic() - started < 120  # not the 300 s ping timeout
    assert str(info.value).startswith(f"shadow endpoint {name} failed to start: the model failed to load: ")
    assert SKOPS_TRUST_ERROR in str(info.value)
    assert "The endpoint containers' log ends" in caplog.text and SKOPS_TRUST_ERROR in caplog.text
    assert docker_client.containers.list(all=True, filters={"label": f"{LABEL}={name}"}) == []
    assert docker_client.networks.list(filters={"label": f"{LABEL}={name}"}) == []
    assert_still_running(unrelated_shadow)


def test_run_against_a_stalled_endpoint_fails_within_twice_the_configured_timeout(
    serve, stall, tmp_path, monkeypatch
) -> None:
    """End to end: ``CLARIFY_RUNNER_REQUEST_TIMEOUT`` reaches the job's model client."""
    import json

    from _container_helpers import GERMAN_CREDIT_DIR

    from container.cli import main

    server = serve(stall)
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    cfg["methods"] = {"post_training_bias": {"methods": ["DPPL"]}}
    config = tmp_path / "config.json"
    config.write_text(json.dumps(cfg))
    (tmp_path / "opt_ml" / "output").mkdir(parents=True)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(tmp_path / "opt_ml"))
    monkeypatch.setenv("CLARIFY_RUNNER_REQUEST_TIMEOUT", "0.5")
    started = time.monotonic()
    code = main(["run", "--config", str(config), "--data", str(GERMAN_CREDIT_DIR / "german_credit.csv"),
                 "--output", str(tmp_path / "out"), "--endpoint-url", server.url])
    took = time.monotonic() - started
    assert code == 3
    assert took < 3 * 0.5 + 4.0, took  # plan, data and the two timeouts; not minutes
    message = (tmp_path / "opt_ml" / "output" / "message").read_text()
    assert message.startswith(
        f"ClientError: The model endpoint ({server.url}) failed on a request of 1 record(s)")
    assert "no answer within the request timeout of 0.5 s ($CLARIFY_RUNNER_REQUEST_TIMEOUT)" in message
