"""The client against fake servers that misbehave on purpose (127.0.0.1, free ports)."""

from __future__ import annotations

import io
import json
import logging
import threading
import time

import numpy as np
import pytest
from _model_client_helpers import (
    Drop,
    FakeServer,
    csv_rows,
    npy_bytes,
    numeric_rows,
    sum_model,
    sum_model_npy_aware,
)

from analyzer.errors import ModelError
from analyzer.model_client import (
    FALLBACK_MESSAGE,
    HttpTransport,
    ModelClient,
    SageMakerRuntimeTransport,
)
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


def make_client(urls, feature_names=("a", "b", "c"), progress=False, **settings) -> ModelClient:
    settings.setdefault("retry_backoff", 0.01)
    return ModelClient(HttpTransport(urls), ClientSettings(**settings), feature_names=list(feature_names),
                       progress=progress)


def test_batches_pipelined_in_order_across_replicas(serve) -> None:
    first, second = serve(sum_model), serve(sum_model)
    rows = numeric_rows(5000, 3)
    with make_client([first.url, second.url], max_payload_bytes=20_000) as client:
        scores = client.predict_scores(rows)
        assert client.stats.rows == 5000
        assert client.stats.requests == len(first.requests) + len(second.requests)
    np.testing.assert_allclose(scores[:, 0], rows.sum(axis=1))
    assert first.requests and second.requests
    assert all(len(r.body) <= 20_000 for r in first.requests + second.requests)
    assert len(first.requests) + len(second.requests) >= 5000 * 20 // 20_000


def test_fallback_to_per_record_after_batch_error(serve, caplog) -> None:
    def batch_hater(req, index):
        rows = csv_rows(req.body)
        if len(rows) > 1:
            return 400, "Model cannot handle a batch"
        return 200, repr(sum(rows[0]))

    server = serve(batch_hater)
    rows = numeric_rows(6, 3)
    with caplog.at_level(logging.WARNING, logger="analyzer.model_client"):
        with make_client(server.url) as client:
            scores = client.predict_scores(rows)
    np.testing.assert_allclose(scores[:, 0], rows.sum(axis=1))
    assert FALLBACK_MESSAGE in caplog.text
    assert "Model cannot handle a batch" in caplog.text
    assert len(server.requests) == 7  # one rejected batch + six single records


def test_recovers_after_two_503(serve) -> None:
    def flaky(req, index):
        if index < 2:
            return 503, "busy"
        return sum_model(req, index)

    server = serve(flaky)
    rows = numeric_rows(10, 3)
    with make_client(server.url) as client:
        scores = client.predict_scores(rows)
        assert client.stats.retries == 2
    np.testing.assert_allclose(scores[:, 0], rows.sum(axis=1))
    assert len(server.requests) == 3


def test_gives_up_after_max_retries_with_the_endpoint_text(serve) -> None:
    server = serve(lambda req, i: (429, "Too many requests, slow down"))
    with make_client(server.url, max_retries=2) as client:
        with pytest.raises(ModelError, match="gave up after 3 attempts.*Too many requests"):
            client.predict_scores(numeric_rows(4, 3))
    assert len(server.requests) == 3


def test_timeout_of_a_single_record(serve) -> None:
    release = threading.Event()

    def hang(req, index):
        release.wait(5)
        return sum_model(req, index)

    server = serve(hang)
    try:
        with make_client(server.url, request_timeout=0.3, max_retries=1) as client:
            with pytest.raises(ModelError, match="no answer within the request timeout of 0.3 s"):
                client.predict_scores(numeric_rows(1, 3))
    finally:
        release.set()


def test_timeout_of_a_batch_halves_the_batch(serve, caplog) -> None:
    def slow_batches(req, index):
        if len(csv_rows(req.body)) > 2:
            time.sleep(1.0)
        return sum_model(req, index)

    server = serve(slow_batches)
    rows = numeric_rows(8, 3)
    with caplog.at_level(logging.WARNING, logger="analyzer.model_client"):
        with make_client(server.url, request_timeout=0.3) as client:
            scores = client.predict_scores(rows)
    np.testing.assert_allclose(scores[:, 0], rows.sum(axis=1))
    assert "timed out" in caplog.text and "batch size is reduced" in caplog.text


def test_dropped_connection_is_retried(serve) -> None:
    def drop_first(req, index):
        if index == 0:
            raise Drop()
        return sum_model(req, index)

    server = serve(drop_first)
    rows = numeric_rows(5, 3)
    with make_client(server.url) as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    assert len(server.requests) == 2


def test_always_dropped_connection_fails_clearly(serve) -> None:
    def drop(req, index):
        raise Drop()

    server = serve(drop)
    with make_client(server.url, max_retries=1) as client:
        with pytest.raises(ModelError, match="connection to .* failed"):
            client.predict_scores(numeric_rows(3, 3))


def test_wrong_row_count_fails_with_the_response_and_request(serve) -> None:
    server = serve(lambda req, i: (200, "0.5\n0.25"))
    with make_client(server.url) as client:
        with pytest.raises(ModelError) as info:
            client.predict_scores(numeric_rows(3, 3))
    message = str(info.value)
    assert "2 lines for 3 records" in message
    assert "'0.5\\n0.25'" in message  # the endpoint's own text
    assert "request of 3 record(s)" in message and "Request body starts" in message


def test_non_utf8_body_fails_clearly(serve) -> None:
    server = serve(lambda req, i: (200, b"\xff\xfe\x00garbage"))
    with make_client(server.url) as client:
        with pytest.raises(ModelError, match="not UTF-8"):
            client.predict_scores(numeric_rows(2, 3))


def test_single_record_model_error_is_raised_with_endpoint_text(serve) -> None:
    server = serve(lambda req, i: (415, '{"error": "unsupported content type text/csv"}'))
    with make_client(server.url) as client:
        with pytest.raises(ModelError, match="HTTP 415.*unsupported content type"):
            client.predict_scores(numeric_rows(1, 3))


def test_payload_limit_splits_an_oversized_batch(serve, caplog) -> None:
    server = serve(sum_model)
    rows = np.concatenate([numeric_rows(50, 3), np.full((50, 3), 1.0 / 3)])  # longer tail rows
    with caplog.at_level(logging.INFO, logger="analyzer.model_client"):
        with make_client(server.url, max_payload_bytes=2500) as client:
            scores = client.predict_scores(rows)
    np.testing.assert_allclose(scores[:, 0], rows.sum(axis=1))
    assert all(len(r.body) <= 2500 for r in server.requests)


def test_headers_arrive_at_the_server(serve) -> None:
    server = serve(sum_model)
    with make_client(server.url, custom_attributes="trace=1,mode=x", target_model="model-b.tar.gz") as c:
        c.predict_scores(numeric_rows(2, 3))
    headers = server.requests[0].headers
    assert headers["x-amzn-sagemaker-custom-attributes"] == "trace=1,mode=x"
    assert headers["x-amzn-sagemaker-target-model"] == "model-b.tar.gz"
    assert headers["content-type"] == "text/csv" and headers["accept"] == "text/csv"


def test_summary_line_and_stats(serve, caplog) -> None:
    server = serve(sum_model)
    with make_client(server.url) as client:
        client.predict_scores(numeric_rows(3, 3))
        with caplog.at_level(logging.INFO, logger="analyzer.model_client"):
            client.log_summary()
    assert "Model endpoint delivered" in caplog.text
    assert "requests per second and a total of 1 requests over" in caplog.text


NPY_PING = {"X-Clarify-Runner-Accept": "application/x-npy"}


def test_binary_fast_path_only_for_numeric_rows(serve) -> None:
    server = serve(sum_model_npy_aware, ping_headers=NPY_PING)
    rows = numeric_rows(50, 3)
    with make_client(server.url) as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
        assert server.requests[-1].headers["content-type"] == "application/x-npy"
        assert server.requests[-1].headers["accept"] == "application/x-npy"
        mixed = np.array([["x", 1.0, 2.0], ["y", 3.0, 4.0]], dtype=object)
        np.testing.assert_array_equal(client.predict_scores(mixed), [[1.0], [1.0]])
        assert server.requests[-1].headers["content-type"] == "text/csv"


def test_binary_fast_path_not_used_when_it_answers_differently(serve) -> None:
    def inconsistent(req, index):
        if req.headers.get("content-type") == "application/x-npy":
            return 200, npy_bytes(np.zeros((len(np.load(io.BytesIO(req.body))), 2)))
        return sum_model(req, index)

    server = serve(inconsistent, ping_headers=NPY_PING)
    rows = numeric_rows(20, 3)
    with make_client(server.url) as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    assert server.requests[-1].headers["content-type"] == "text/csv"


def test_binary_fast_path_not_used_without_advertisement(serve) -> None:
    server = serve(sum_model_npy_aware)
    with make_client(server.url) as client:
        client.predict_scores(numeric_rows(5, 3))
    assert {r.headers["content-type"] for r in server.requests} == {"text/csv"}


def test_boto3_transport_sends_headers_to_the_runtime_route(serve, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = serve(sum_model)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    transport = SageMakerRuntimeTransport("my-endpoint", region="us-east-1")
    rows = numeric_rows(7, 3)
    with ModelClient(transport, ClientSettings(custom_attributes="c=1", target_model="m2.tar.gz"),
                     feature_names=["a", "b", "c"], progress=False) as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    req = server.requests[0]
    assert req.path == "/endpoints/my-endpoint/invocations"
    assert req.headers["x-amzn-sagemaker-custom-attributes"] == "c=1"
    assert req.headers["x-amzn-sagemaker-target-model"] == "m2.tar.gz"


def test_boto3_transport_retries_once_per_our_policy(serve, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    def unavailable_twice(req, index):
        if index < 2:
            return 503, '{"message": "busy"}', {"x-amzn-errortype": "ServiceUnavailable"}
        return sum_model(req, index)

    server = serve(unavailable_twice)
    transport = SageMakerRuntimeTransport("ep", region="us-east-1", endpoint_url=server.url)
    rows = numeric_rows(4, 3)
    with ModelClient(transport, ClientSettings(retry_backoff=0.01), feature_names=["a", "b", "c"],
                     progress=False) as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
        assert client.stats.requests == 3
    assert len(server.requests) == 3  # botocore did not retry on its own


def test_http_413_halves_the_batch(serve) -> None:
    def small_limit(req, index):
        if len(req.body) > 300:
            return 413, "Request Entity Too Large"
        return sum_model(req, index)

    server = serve(small_limit)
    rows = numeric_rows(40, 3)
    with make_client(server.url) as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
        assert client.stats.fallbacks == 0
    assert max(len(csv_rows(r.body)) for r in server.requests[-3:]) < 40


def test_single_record_template_sends_one_record_per_request(serve) -> None:
    def kvp_model(req, index):
        doc = json.loads(req.body)
        return 200, json.dumps({"score": doc["a"] + doc["b"] + doc["c"]})

    server = serve(kvp_model)
    rows = numeric_rows(9, 3)
    with make_client(server.url, content_type="application/json", content_template="$record",
                     record_template="$features_kvp", probability="score") as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    assert len(server.requests) == 9


def test_a_failure_stops_the_other_requests(serve) -> None:
    def fail_one(req, index):
        rows = csv_rows(req.body)
        if rows[0][0] == 999.0:
            return 200, "not a number at all"
        time.sleep(0.05)
        return sum_model(req, index)

    server = serve(fail_one)
    rows = numeric_rows(400, 3)
    rows[200, 0] = 999.0
    with make_client(server.url, max_rows_per_request=10) as client:
        with pytest.raises(ModelError, match="'not a number at all'.*Request body starts: '999.0,"):
            client.predict_scores(rows)
    assert len(server.requests) < 40


def test_progress_bar_on_request(serve, capsys) -> None:
    server = serve(sum_model)
    with make_client(server.url, progress=True, max_rows_per_request=5) as client:
        client.predict_scores(numeric_rows(20, 3))
    err = capsys.readouterr().err
    assert "Predicting [" in err and "20/20 rows" in err


def test_two_requests_are_in_flight_at_once(serve) -> None:
    active, peak, lock = [0], [0], threading.Lock()
    both_arrived = threading.Barrier(2, timeout=5)

    def concurrent(req, index):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if index < 2:
            both_arrived.wait()  # the first two requests must be outstanding together
        with lock:
            active[0] -= 1
        return sum_model(req, index)

    server = serve(concurrent)
    rows = numeric_rows(60, 3)
    with make_client(server.url, max_rows_per_request=10) as client:
        assert client.max_in_flight == 2
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    assert peak[0] == 2


def test_fast_path_probe_uses_the_configured_request_format(serve) -> None:
    def model(req, index):
        if req.headers["content-type"] == "application/jsonlines":
            sums = [sum(json.loads(line)["f"]) for line in req.body.decode().splitlines()]
            return 200, "\n".join(repr(v) for v in sums)
        return sum_model_npy_aware(req, index)

    server = serve(model, ping_headers=NPY_PING)
    rows = numeric_rows(30, 3)
    with make_client(server.url, content_type="application/jsonlines", accept_type="text/csv",
                     content_template='{"f":$features}') as client:
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    types = [r.headers["content-type"] for r in server.requests]
    assert types[0] == "application/jsonlines" and types[-1] == "application/x-npy"


def test_requests_shrink_to_the_time_budget(serve) -> None:
    def slow_per_row(req, index):
        time.sleep(0.005 * len(csv_rows(req.body)))
        return sum_model(req, index)

    server = serve(slow_per_row)
    rows = numeric_rows(200, 3)
    with make_client(server.url, time_budget=0.2, max_in_flight=1) as client:
        client.predict_scores(rows[:100])  # one request of 100 rows: at least 0.5 s
        np.testing.assert_allclose(client.predict_scores(rows)[:, 0], rows.sum(axis=1))
    sizes = [len(csv_rows(r.body)) for r in server.requests]
    assert sizes[0] == 100
    assert max(sizes[1:]) <= 40 and sum(sizes[1:]) == 200
