"""Server lifecycle: SAGEMAKER_BIND_TO_PORT, several workers, graceful shutdown on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import requests
from _endpoint_helpers import decode_rows, encode_records, invoke
from _model_server import (
    PACKAGE_PARENT,
    TESTS_DIR,
    SlowClassifier,
    free_port,
    start_endpoint,
    train_sklearn_classifier,
    write_sklearn_model_dir,
)


def _wait_for_ping(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited during start-up"
        try:
            if requests.get(url + "/ping", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError("server did not answer /ping")


def test_server_without_a_model_exits_with_a_clear_message(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="is empty"):
        start_endpoint(tmp_path, timeout=60)


@pytest.mark.slow
def test_sigterm_lets_the_request_in_flight_finish_with_two_workers(tmp_path) -> None:
    model, X = train_sklearn_classifier()
    folder = write_sklearn_model_dir(tmp_path / "model", SlowClassifier(model, delay=1.5))
    port = free_port()
    env = dict(os.environ, SAGEMAKER_BIND_TO_PORT=str(port), SAGEMAKER_MODEL_SERVER_WORKERS="2")
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_PARENT), str(TESTS_DIR)])  # SlowClassifier
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local_endpoint",
                "serve",
                "--model-dir",
                str(folder),
                "--host",
                "127.0.0.1",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_ping(url, proc)
        result: dict = {}

        def call() -> None:
            result["resp"] = invoke(url, encode_records(X[:3], "text/csv"))

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.5)  # the request is now inside the model's 1.5 s sleep
        proc.send_signal(signal.SIGTERM)
        caller.join(30)
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    resp = result["resp"]
    assert resp.status_code == 200
    np.testing.assert_allclose(decode_rows(resp.content, "text/csv"), model.predict_proba(X[:3]), rtol=1e-12)
    text = log.read_text()
    assert "Started parent process" in text or "worker" in text.lower()  # multi-process mode
    try:
        requests.get(url + "/ping", timeout=2)
        raise AssertionError("server still answering after SIGTERM")
    except requests.ConnectionError:
        pass
