"""Test helpers: start the real model server in a subprocess, and write small trained model folders.

Kept out of the shipped packages (it was ``local_endpoint.testing``). Typical use in a test::

    from _model_server import running_endpoint, write_sklearn_model_dir

    def test_something(tmp_path):
        model_dir = write_sklearn_model_dir(tmp_path / "model")
        with running_endpoint(model_dir) as url:   # "http://127.0.0.1:PORT"
            requests.post(url + "/invocations", data=b"1,2,3,4\\n", headers={"Content-Type": "text/csv"})

or, when the stop has to happen at a chosen moment::

    ep = start_endpoint(model_dir)
    try: ... ep.url ...
    finally: ep.stop()
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TESTS_DIR = Path(__file__).resolve().parent
PACKAGE_PARENT = TESTS_DIR.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningEndpoint:
    """A server subprocess: ``url`` is ``http://127.0.0.1:PORT``; call :meth:`stop` when done."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        """Everything the server wrote to stdout/stderr so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM the server, wait for it (SIGKILL after ``timeout`` s); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _ping(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/ping", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_endpoint(
    model_dir: str | Path,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> RunningEndpoint:
    """Start ``python -m local_endpoint serve`` on a free 127.0.0.1 port and wait for ``/ping``.

    ``env`` adds environment variables (e.g. ``SAGEMAKER_INFERENCE_OUTPUT``). Raises
    ``RuntimeError`` with the server log if it exits or does not answer within ``timeout`` s.
    """
    full_env = dict(os.environ)
    # The tests folder too: a pickled SlowClassifier names this module.
    path = [str(PACKAGE_PARENT), str(TESTS_DIR), full_env.get("PYTHONPATH")]
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, path))
    full_env.update(env or {})
    last_log = ""
    for _attempt in range(3):
        port = free_port()
        log_fd, log_name = tempfile.mkstemp(prefix="local-endpoint-", suffix=".log")
        cmd = [
            sys.executable,
            "-m",
            "local_endpoint",
            "serve",
            "--model-dir",
            str(model_dir),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--workers",
            str(workers),
        ]
        proc = subprocess.Popen(cmd, env=full_env, stdout=log_fd, stderr=subprocess.STDOUT)
        os.close(log_fd)
        ep = RunningEndpoint(f"http://127.0.0.1:{port}", proc, Path(log_name))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _ping(ep.url):
                return ep
            time.sleep(0.05)
        ep.stop()
        last_log = ep.log()
        if "address already in use" not in last_log.lower():
            break
    raise RuntimeError(f"local endpoint did not start for {model_dir}:\n{last_log}")


@contextmanager
def running_endpoint(
    model_dir: str | Path,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Iterator[str]:
    """Context manager: start the endpoint (see :func:`start_endpoint`), yield its URL, stop it."""
    ep = start_endpoint(model_dir, workers=workers, env=env, timeout=timeout)
    try:
        yield ep.url
    finally:
        ep.stop()


# --------------------------------------------------------------------------- model folders


def make_classification_data(
    n_samples: int = 300, n_features: int = 4, n_classes: int = 2, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small synthetic classification data set ``(X float64, y int)``."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=min(n_features, max(2, n_classes)),
        n_redundant=0,
        n_classes=n_classes,
        random_state=random_state,
    )


def train_sklearn_classifier(
    n_features: int = 4, n_classes: int = 2, random_state: int = 0
) -> tuple[Any, np.ndarray]:
    """A fitted ``LogisticRegression`` and its training matrix ``X``."""
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification_data(n_features=n_features, n_classes=n_classes, random_state=random_state)
    return LogisticRegression(max_iter=1000).fit(X, y), X


def save_sklearn_model(model: Any, folder: str | Path, fmt: str = "joblib") -> Path:
    """Write ``model`` into ``folder`` as ``model.joblib`` or ``model.skops``; returns the folder.

    ``fmt="skops"`` needs the ``skops`` package (non-pickle, preferred for shared models).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "skops":
        import skops.io as sio

        sio.dump(model, folder / "model.skops")
    elif fmt == "joblib":
        import joblib

        joblib.dump(model, folder / "model.joblib")
    else:
        raise ValueError(f"fmt must be 'joblib' or 'skops', not {fmt!r}")
    return folder


def write_sklearn_model_dir(
    folder: str | Path,
    model: Any = None,
    *,
    fmt: str = "joblib",
    n_features: int = 4,
    n_classes: int = 2,
    random_state: int = 0,
) -> Path:
    """Write a model folder the endpoint can serve; trains a small classifier when ``model`` is None.

    The default model is a ``LogisticRegression`` on
    :func:`make_classification_data` with ``n_features`` features, so tests can compute
    the expected answer with ``train_sklearn_classifier(...)[0].predict_proba``.
    """
    if model is None:
        model, _ = train_sklearn_classifier(n_features, n_classes, random_state)
    return save_sklearn_model(model, folder, fmt)


def train_mixed_type_pipeline(X: np.ndarray, y: np.ndarray, categorical: list[int]) -> Any:
    """A fitted ``Pipeline(ColumnTransformer(OneHotEncoder on ``categorical``), LogisticRegression)``.

    ``X`` is an object array (strings in the ``categorical`` columns, floats elsewhere), as
    the endpoint's CSV decoder produces for records with string features.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [j for j in range(X.shape[1]) if j not in categorical]
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), categorical), ("num", StandardScaler(), numeric)]
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))]).fit(X, y)


class SlowClassifier:
    """Wraps a classifier and sleeps ``delay`` seconds per call (for shutdown tests).

    Pickled by reference to this module (``_model_server``), so the server must find the tests
    folder on its path (:func:`start_endpoint` puts it there).
    """

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.n_features_in_ = inner.n_features_in_
        self.classes_ = inner.classes_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Sleep, then delegate."""
        time.sleep(self.delay)
        return self.inner.predict_proba(X)
