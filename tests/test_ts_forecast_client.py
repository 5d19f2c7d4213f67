"""Forecast requests and responses: the config's templates, the forecast JMESPath, and the
model client's batching and retries underneath."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from analyzer.datasets.time_series import SeriesItem
from analyzer.errors import ConfigError, ModelError
from analyzer.explain.asymmetric_shapley import AsvSpec, CoalitionBatch, ItemGame
from analyzer.model_client import Reply, Transport
from analyzer.model_client.forecast import ForecastEndpoint, ForecastRequestEncoder, ForecastResponseParser
from analyzer.model_client.parse import ResponseFormatError

BYOM_CONTENT = '{"instances": $record}'
BYOM_RECORD = '{"start": $start_time, "target": $target_time_series, "dynamic_feat": $related_time_series}'
DEEPAR_CONTENT = '{"instances": $records}'
DEEPAR_RECORD = (
    '{"start": $start_time, "target": $target_time_series, "dynamic_feat": $related_time_series, '
    '"cat": $static_covariates}'
)

ITEM = SeriesItem(
    "mosfets",
    ("2024-01-01 01:00:00", "2024-01-01 02:00:00", "2024-01-01 03:00:00"),
    np.array([1.0, np.nan, 3.5]),
    (np.array([0.5, 1.0, 2.0]), np.array([4.0, 5.0])),
    (1, 0),
)


def batch(spec: AsvSpec, masks: list[list[bool]]) -> CoalitionBatch:
    game = ItemGame.build(ITEM, spec)
    return CoalitionBatch([game], np.zeros(len(masks), dtype=int), np.array(masks, dtype=bool))


FINE = AsvSpec(
    "chronological",
    "fine_grained",
    num_samples=1,
    target_baseline="mean",
    static_baseline={"mosfets": [0, 9]},
)


def test_byom_record_template_renders_one_record() -> None:
    enc = ForecastRequestEncoder("application/json", BYOM_CONTENT, BYOM_RECORD)
    assert enc.single_record and enc.uses_related and not enc.uses_static
    # cells: target 0..2, related0 0..2, related1 0..1, static 0..1
    enc.bind(batch(FINE, [[True, True, False, False, True, True, True, False, True, True]]))
    body = enc.encode(np.array([[0]])).decode()
    assert body == (
        '{"instances": {"start": "2024-01-01 01:00:00", "target": [1.0, null, 2.25], '
        '"dynamic_feat": [[0.0, 1.0, 2.0], [4.0, 0.0]]}}'
    )
    with pytest.raises(ValueError, match="exactly one record"):
        enc.encode(np.array([[0], [0]]))


def test_deepar_template_renders_a_batch_with_static_covariates() -> None:
    enc = ForecastRequestEncoder("application/json", DEEPAR_CONTENT, DEEPAR_RECORD)
    assert not enc.single_record and enc.uses_static
    all_in = [True] * 10
    none_in = [False] * 10
    enc.bind(batch(FINE, [all_in, none_in]))
    doc = json.loads(enc.encode(np.array([[0], [1]])))
    assert doc == {
        "instances": [
            {"start": "2024-01-01 01:00:00", "target": [1.0, None, 3.5],
             "dynamic_feat": [[0.5, 1.0, 2.0], [4.0, 5.0]], "cat": [1, 0]},
            {"start": "2024-01-01 01:00:00", "target": [2.25, 2.25, 2.25],
             "dynamic_feat": [[0.0] * 3, [0.0] * 2], "cat": [0, 9]},
        ]
    }  # fmt: skip


def test_timewise_keeps_static_covariates_and_jsonlines_writes_one_line_per_record() -> None:
    spec = AsvSpec("anti_chronological", "timewise")
    enc = ForecastRequestEncoder(
        "application/jsonlines", None, '{"target": $target_time_series, "cat": $static_covariates}'
    )
    enc.bind(batch(spec, [[False] * 8, [True] * 8]))
    lines = enc.encode(np.array([[0], [1]])).decode().split("\n")
    assert [json.loads(x) for x in lines] == [
        {"target": [0.0, 0.0, 0.0], "cat": [1, 0]},
        {"target": [1.0, None, 3.5], "cat": [1, 0]},
    ]


@pytest.mark.parametrize(
    ("content", "record", "message"),
    [
        (DEEPAR_CONTENT, None, "record_template: required"),
        (DEEPAR_CONTENT, '{"target": $features}', "holds none of the time-series tokens"),
        (
            '{"instances": $features}',
            DEEPAR_RECORD,
            "Please include either placeholder \\$records or \\$record",
        ),
    ],
)
def test_template_errors(content: str, record: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ForecastRequestEncoder("application/json", content, record)


def test_parser_reads_batches_single_records_and_slices() -> None:
    body = json.dumps({"predictions": [{"mean": [1, 2, 3], "quantiles": {}}, {"mean": [4.5, 5, 6]}]}).encode()
    np.testing.assert_array_equal(
        ForecastResponseParser("application/json", "predictions[*].mean").scores(body, 2),
        [[1, 2, 3], [4.5, 5, 6]],
    )
    np.testing.assert_array_equal(
        ForecastResponseParser("application/json", "predictions[*].mean[:2]").scores(body, 2),
        [[1, 2], [4.5, 5]],
    )
    single = json.dumps({"predictions": {"mean": [7, 8]}}).encode()
    np.testing.assert_array_equal(
        ForecastResponseParser("application/json", "predictions.mean").scores(single, 1), [[7, 8]]
    )
    lines = b'{"mean": [1, 2]}\n{"mean": [3, 4]}\n'
    np.testing.assert_array_equal(
        ForecastResponseParser("application/jsonlines", "mean").scores(lines, 2), [[1, 2], [3, 4]]
    )


@pytest.mark.parametrize(
    ("body", "n", "message"),
    [
        ({"predictions": [{"mean": [1]}]}, 2, "must give one forecast per request record"),
        ({"predictions": [{"mean": [1, "x"]}]}, 1, "not a number"),
        ({"predictions": [{"mean": [1]}, {"mean": [1, 2]}]}, 2, "different lengths"),
        ({"predictions": [{"mean": [1, 2]}]}, 2, "must give one forecast per request record"),
        ({"other": 1}, 1, "must give one forecast per request record in the response: got null"),
    ],
)
def test_parser_errors(body: Any, n: int, message: str) -> None:
    with pytest.raises(ResponseFormatError, match=message):
        ForecastResponseParser("application/json", "predictions[*].mean").scores(json.dumps(body).encode(), n)


def test_config_errors_of_the_parser() -> None:
    with pytest.raises(ConfigError, match="``accept_type`` must be JSON or JSONLines"):
        ForecastResponseParser("text/csv", "mean")
    with pytest.raises(ConfigError, match="not a valid JMESPath"):
        ForecastResponseParser("application/json", "predictions[*")


class FakeForecaster(Transport):
    """Answers DeepAR-style JSON in-process: the forecast is the sum of the target, then +1, +2."""

    description = "fake forecaster"

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[bytes] = []
        self.fail_first = fail_first

    def invoke(self, body: bytes, **kwargs: Any) -> Reply:
        self.bodies.append(body)
        if len(self.bodies) <= self.fail_first:
            return Reply(503, b"busy")
        doc = json.loads(body)["instances"]
        instances = doc if isinstance(doc, list) else [doc]
        means = [[sum(v or 0 for v in inst["target"]) + h for h in range(3)] for inst in instances]
        preds: Any = [{"mean": m} for m in means] if isinstance(doc, list) else {"mean": means[0]}
        return Reply(200, json.dumps({"predictions": preds}).encode())


def test_endpoint_batches_records_and_retries() -> None:
    masks = [[k % 2 == 0] * 10 for k in range(5)]
    transport = FakeForecaster(fail_first=1)
    endpoint = ForecastEndpoint(
        transport,
        content_type="application/json",
        accept_type="application/json",
        content_template=DEEPAR_CONTENT,
        record_template=DEEPAR_RECORD,
        forecast="predictions[*].mean",
        retry_backoff=0.001,
        progress=False,
    )
    with endpoint:
        out = endpoint(batch(FINE, masks))
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out[0], [4.5, 5.5, 6.5])  # NaN target value is sent as null
    np.testing.assert_allclose(out[1], [6.75, 7.75, 8.75])  # mean baseline 2.25 × 3
    assert len(transport.bodies) == 2  # one retried request holding all five records
    assert endpoint.client.stats.retries == 1


def test_single_record_template_sends_one_request_per_coalition() -> None:
    transport = FakeForecaster()
    with ForecastEndpoint(
        transport, content_type="application/json", accept_type=None, content_template=BYOM_CONTENT,
        record_template=BYOM_RECORD, forecast="predictions.mean", progress=False,
    ) as endpoint:  # fmt: skip
        out = endpoint(batch(FINE, [[True] * 10, [False] * 10, [True] * 10]))
    assert len(transport.bodies) == 3
    np.testing.assert_allclose(out[:, 0], [4.5, 6.75, 4.5])


def test_unusable_answers_are_model_errors() -> None:
    class Broken(FakeForecaster):
        def invoke(self, body: bytes, **kwargs: Any) -> Reply:
            return Reply(200, b'{"predictions": []}')

    with ForecastEndpoint(
        Broken(), content_type="application/json", accept_type="application/json",
        content_template=DEEPAR_CONTENT, record_template=DEEPAR_RECORD, forecast="predictions[*].mean",
        progress=False,
    ) as endpoint:  # fmt: skip
        with pytest.raises(ModelError, match="must give one forecast per request record"):
            endpoint(batch(FINE, [[True] * 10]))
