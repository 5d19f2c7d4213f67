"""Start-up: the content-type probe is taken from /ping where the endpoint advertises it, and
the background imports wait for the first model request when the endpoint already runs."""

from __future__ import annotations

import importlib
import sys
import threading
import time

import numpy as np
import pytest
import requests
from _model_client_helpers import FakeServer, npy_bytes, numeric_rows, sum_model_npy_aware
from _model_server import running_endpoint, train_sklearn_classifier, write_sklearn_model_dir

from analyzer import preload
from analyzer.model_client import HttpTransport, ModelClient
from analyzer.plan import ClientSettings

ADVERTISED = {
    "X-Clarify-Runner-Accept": "application/x-npy",
    "X-Clarify-Runner-Same-Answer": "text/csv",
}


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


def _client(url: str, **settings) -> ModelClient:
    settings_ = ClientSettings(**settings)
    return ModelClient(HttpTransport(url), settings_, feature_names=["a", "b", "c"], progress=False)


def test_local_endpoint_ping_advertises_same_answer_for_csv(tmp_path) -> None:
    model, x = train_sklearn_classifier(n_features=4)
    folder = write_sklearn_model_dir(tmp_path / "model", model)
    with running_endpoint(folder) as url:
        resp = requests.get(url + "/ping", timeout=5)
        assert resp.status_code == 200
        assert resp.headers["X-Clarify-Runner-Accept"] == "application/x-npy"
        assert resp.headers["X-Clarify-Runner-Same-Answer"] == "text/csv"
        # and the claim holds: the same rows answer the same in both formats
        rows = x[:5]
        csv_body = "\n".join(",".join(repr(float(v)) for v in r) for r in rows).encode()
        as_csv = requests.post(url + "/invocations", data=csv_body, timeout=5,
                               headers={"Content-Type": "text/csv", "Accept": "text/csv"})
        as_npy = requests.post(url + "/invocations", data=npy_bytes(rows.astype(np.float64)), timeout=5,
                               headers={"Content-Type": "application/x-npy", "Accept": "application/x-npy"})
        from_csv = np.array([[float(v) for v in line.split(",")] for line in as_csv.text.splitlines()])
        from_npy = np.load(__import__("io").BytesIO(as_npy.content))
        np.testing.assert_allclose(from_csv, from_npy, rtol=1e-12)


def test_client_takes_the_fast_path_from_ping_without_a_probe(serve) -> None:
    server = serve(sum_model_npy_aware, ping_headers=ADVERTISED)
    rows = numeric_rows(40, 3)
    with _client(server.url) as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    types = [r.headers["content-type"] for r in server.requests]
    assert types == ["application/x-npy"] * len(types)  # no text/csv probe request
    assert sum(len(np.load(__import__("io").BytesIO(r.body))) for r in server.requests) == 40


def test_client_probes_when_ping_only_advertises_the_binary_type(serve) -> None:
    server = serve(sum_model_npy_aware, ping_headers={"X-Clarify-Runner-Accept": "application/x-npy"})
    rows = numeric_rows(40, 3)
    with _client(server.url) as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    types = [r.headers["content-type"] for r in server.requests]
    assert types[:2] == ["text/csv", "application/x-npy"]  # the probe: both formats, same sample
    assert len(server.requests[0].body.splitlines()) == 8


def test_client_probes_a_configured_type_that_is_not_advertised(serve) -> None:
    def model(req, index):
        if req.headers["content-type"] == "application/jsonlines":
            import json

            return 200, "\n".join(repr(sum(json.loads(line)["f"])) for line in req.body.decode().splitlines())
        return sum_model_npy_aware(req, index)

    server = serve(model, ping_headers=ADVERTISED)  # same answer only for text/csv
    rows = numeric_rows(30, 3)
    with _client(server.url, content_type="application/jsonlines", accept_type="text/csv",
                 content_template='{"f":$features}') as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    types = [r.headers["content-type"] for r in server.requests]
    assert types[0] == "application/jsonlines" and types[-1] == "application/x-npy"


def test_advertised_fast_path_falls_back_when_the_answer_is_not_numeric(serve) -> None:
    def labels_only(req, index):
        if req.headers.get("content-type") == "application/x-npy":
            return 406, b"application/x-npy can only carry numeric outputs"
        return 200, "\n".join("yes" for line in req.body.decode().splitlines() if line)

    server = serve(labels_only, ping_headers=ADVERTISED)
    rows = numeric_rows(12, 3)
    with _client(server.url, label=0) as client:
        assert client.predict_labels(rows).tolist() == ["yes"] * 12
        assert client.predict_labels(rows[:3]).tolist() == ["yes"] * 3
    types = [r.headers["content-type"] for r in server.requests]
    assert types[0] == "application/x-npy" and set(types[1:]) == {"text/csv"}


def test_preload_waits_for_the_first_model_request(monkeypatch) -> None:
    name = "colorsys"  # a small standard module nothing here imports
    monkeypatch.delitem(sys.modules, name, raising=False)
    gate = threading.Event()
    monkeypatch.setattr(preload, "_FIRST_REQUEST", gate)

    class Methods:
        shap = object()
        pdp = None
        report = None

    class Config:
        methods = Methods()

    monkeypatch.setattr(preload, "EXPLAIN_MODULES", (name,))
    thread = preload.preload_for(Config(), after_first_request=True)
    assert thread is not None
    time.sleep(0.2)
    assert thread.is_alive() and name not in sys.modules
    preload.first_request_sent()
    thread.join(timeout=10)
    assert not thread.is_alive() and name in sys.modules
    importlib.import_module(name)


def test_model_client_signals_its_first_request(serve, monkeypatch) -> None:
    gate = threading.Event()
    monkeypatch.setattr(preload, "_FIRST_REQUEST", gate)
    server = serve(sum_model_npy_aware, ping_headers=ADVERTISED)
    with _client(server.url) as client:
        assert not gate.is_set()
        client.predict_scores(numeric_rows(3, 3))
    assert gate.is_set()
