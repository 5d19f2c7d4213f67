"""local_endpoint's ``forecaster`` flavour: loading, DeepAR-style requests and answers, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from local_endpoint.errors import BadRequest, NotAcceptable, UnsupportedMediaType
from local_endpoint.forecasting import LagForecaster, infer_forecast, save_forecaster
from local_endpoint.models import ModelLoadError, load_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A forecaster (2 lags, 1 related series with 1 past and 1 future step, 1 static covariate)
    whose linear regressor adds related[T-1] and related[T] + static to the level (T = target length)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2 + 1 + 2 + 1))
    Y = np.column_stack([X[:, 3], X[:, 4] + X[:, 5]])
    folder = tmp_path_factory.mktemp("forecaster")
    save_forecaster(LagForecaster(Ridge(alpha=1e-9).fit(X, Y), 2, 2, 1, 1, 1, 1), folder)
    (folder / "other.skops").write_bytes((folder / "regressor.skops").read_bytes())  # must not win
    return folder


def _call(
    model_dir: Path, body: object, content_type: str = "application/json", accept: str = "application/json"
):
    model = load_model(model_dir)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timings: dict[str, float] = {}
    payload, out_type = infer_forecast(model.estimator, raw, content_type, accept, timings)
    assert set(timings) == {"parse", "predict", "encode"}
    return payload, out_type


def test_folder_is_detected_as_a_forecaster(model_dir: Path) -> None:
    model = load_model(model_dir)
    assert model.flavor == "forecaster" and isinstance(model.estimator, LagForecaster)
    assert model.estimator.horizon == 2


def test_batch_and_single_instance_answers(model_dir: Path) -> None:
    inst = {
        "start": "2024-01-01",
        "target": [1.0, 2.0, 4.0],
        "dynamic_feat": [[0.0, 0.0, 0.0, 3.0]],
        "cat": [1],
    }
    payload, out_type = _call(model_dir, {"instances": [inst, inst]})
    doc = json.loads(payload)
    assert out_type == "application/json" and len(doc["predictions"]) == 2
    # features: lags (2, 4) - level 4 → (-2, 0), level 4, related window (0, 3), static 1
    np.testing.assert_allclose(doc["predictions"][0]["mean"], [4.0 + 0.0, 4.0 + 3.0 + 1.0], atol=1e-6)
    single = json.loads(_call(model_dir, {"instances": inst})[0])
    assert single == {"predictions": {"mean": doc["predictions"][0]["mean"]}}
    lines = _call(
        model_dir, (json.dumps(inst) + "\n").encode() * 2, "application/jsonlines", "application/jsonlines"
    )
    assert [json.loads(x) for x in lines[0].decode().splitlines()] == doc["predictions"]


def test_missing_values_are_filled(model_dir: Path) -> None:
    inst = {"target": [None, 2.0, None], "dynamic_feat": [[None, "NaN", None]], "cat": [0]}
    (row,) = json.loads(_call(model_dir, [inst])[0])["predictions"]
    assert all(np.isfinite(row["mean"]))


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ({"instances": [{"dynamic_feat": [[1]], "cat": [1]}]}, BadRequest, "instance 0 has no 'target'"),
        (
            {"instances": [{"target": [1, "x"], "dynamic_feat": [[1]], "cat": [1]}]},
            BadRequest,
            r"target\[1\]",
        ),
        ({"instances": [{"target": [1], "cat": [1]}]}, BadRequest, "dynamic_feat must hold 1 series"),
        (
            {"instances": [{"target": [1], "dynamic_feat": [[1]], "cat": []}]},
            BadRequest,
            "cat must hold 1 values",
        ),
        ({"instances": 3}, BadRequest, "must be"),
        (b"{", BadRequest, "not valid JSON"),
    ],
)
def test_bad_requests_name_the_instance(model_dir: Path, body: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        _call(model_dir, body)


def test_unsupported_types(model_dir: Path) -> None:
    with pytest.raises(UnsupportedMediaType):
        _call(model_dir, b"1,2", "text/csv")
    with pytest.raises(NotAcceptable):
        _call(model_dir, {"instances": []}, accept="text/csv")


def test_bad_descriptions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "forecaster.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelLoadError, match="is not a clarify-runner-lag-forecaster"):
        load_model(tmp_path)
    shape = {
        "horizon": 1,
        "target_lags": 1,
        "related_past": 0,
        "related_future": 0,
        "n_related": 0,
        "n_static": 0,
    }
    meta = {"format": "clarify-runner-lag-forecaster", "regressor": "../outside.skops", **shape}
    (tmp_path / "forecaster.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="is not in"):
        load_model(tmp_path)
