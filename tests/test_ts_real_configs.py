"""The two real time-series configs (Clarify's BYOM and DeepAR notebooks, 2024) and the
forecasting example, run through :func:`analyzer.time_series.run_time_series` against the
example forecaster served by a real local_endpoint process.

The outputs must have the real examples' structure key for key: ``analysis.json`` equal to
the real one byte for byte (same output URI), ``out.jsonl`` with the same items, entries,
timestamps, key order and vector lengths as the real BYOM file. Attributions plus offset
must equal the forecast the endpoint gives for the untouched input.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from _model_server import running_endpoint

from analyzer.config import load_config
from analyzer.model_client import HttpTransport
from analyzer.output import write_analysis
from analyzer.time_series import run_time_series
from local_endpoint.forecasting import save_forecaster
from tests.conftest import CLARIFY_EXAMPLES, REPO_ROOT

pytestmark = pytest.mark.slow

EXAMPLE = REPO_ROOT / "examples" / "forecasting"
REAL_CONFIGS = CLARIFY_EXAMPLES / "analysis_config" / "real"
REAL_JSON = CLARIFY_EXAMPLES / "analysis_json"
BYOM_CONFIG = REAL_CONFIGS / "real_sdk_generated__time_series_byom__endpoint_name__analysis_config.json"
DEEPAR_CONFIG = (
    REAL_CONFIGS / "real_sdk_generated__time_series_deepar__static_covariates__analysis_config.json"
)
BYOM_DATA = CLARIFY_EXAMPLES / "data" / "time_series_byom_mock_data__timestamp_records.json"
BYOM_OUT = (
    CLARIFY_EXAMPLES
    / "local_outputs"
    / ("real_time_series_byom__asymmetric_shapley_value__fine_grained_chronological__out.jsonl")
)
DEEPAR_RELATED = ("dynamic_feature_1", "dynamic_feature_2", "dynamic_feature_3")
DEEPAR_STATIC = ("static_feature_1", "static_feature_2")


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"forecasting_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate_data = _example("generate_data")
train_model = _example("train_model")


class ModelTransport(HttpTransport):
    """Requests to one model of a multi-model local_endpoint (``X-Amzn-SageMaker-Target-Model``)."""

    def __init__(self, url: str, model: str) -> None:
        super().__init__(url)
        self.model = model

    def invoke(self, body: bytes, **kwargs: Any) -> Any:
        kwargs["target_model"] = self.model
        return super().invoke(body, **kwargs)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One local_endpoint serving three forecasters, and a DeepAR-shaped data set.

    ``byom``: weather-like, shaped like the BYOM model (3 target lags, 2 related series running 6
    steps into the future, 10-step forecasts, no static covariates). ``deepar``: 3 related series,
    2 static covariates, 14-step forecasts; its data set holds the items the real config's
    baseline names. ``example``: the forecasting example's model.
    """
    work = tmp_path_factory.mktemp("forecasters")
    rows = generate_data.generate(
        item_ids=["a", "b", "c"], steps=80, horizon=10, target="p_mbar", related=("rain_mm", "T_degC"),
        static=(), level=1000.0, scale=5.0, period=24, freq="10min",
    )  # fmt: skip
    model = train_model.train(
        rows, target="p_mbar", related=("rain_mm", "T_degC"), static=(), horizon=10, target_lags=3,
        related_past=3, related_future=6, components=60,
    )  # fmt: skip
    save_forecaster(model, work / "models" / "byom")
    common = {"target": "target_value", "related": DEEPAR_RELATED, "static": DEEPAR_STATIC, "horizon": 14}
    train_rows = generate_data.generate(item_ids=["x", "y", "z"], steps=90, seed=1, **common)
    model = train_model.train(
        train_rows, target_lags=10, related_past=3, related_future=14, components=60, **common
    )
    save_forecaster(model, work / "models" / "deepar")
    data = work / "deepar.json"
    data.write_text(
        json.dumps(generate_data.generate(item_ids=["mosfets", "interpol"], steps=40, seed=2, **common))
    )
    stores = json.loads((EXAMPLE / "data" / "stores.json").read_text())
    save_forecaster(train_model.train(stores, components=60), work / "models" / "example")
    with running_endpoint(work / "models") as url:
        yield url, data


def _forecast(url: str, model: str, body: dict[str, Any]) -> list[Any]:
    headers = {"Accept": "application/json", "X-Amzn-SageMaker-Target-Model": model}
    resp = requests.post(url + "/invocations", json=body, headers=headers, timeout=30)
    resp.raise_for_status()
    return resp.json()["predictions"]


def _item_input(
    rows: list[dict[str, Any]], item_id: str, target: str, related: tuple[str, ...]
) -> dict[str, Any]:
    mine = [r for r in rows if r["item_id"] == item_id]
    values = [r[target] for r in mine]
    last = max(i for i, v in enumerate(values) if v is not None)
    return {
        "start": mine[0]["timestamp"],
        "target": values[: last + 1],
        "dynamic_feat": [[r[name] for r in mine] for name in related],
    }


def _skeleton(line: dict[str, Any]) -> dict[str, Any]:
    """Keys, order, item, feature names, timestamps and vector lengths: everything but the values."""
    return {
        "keys": list(line),
        "item_id": line["item_id"],
        "offset": len(line["offset"]),
        "explanations": [
            (list(e), e["feature_name"], e.get("timestamp"), len(e["scores"])) for e in line["explanations"]
        ],
    }


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _assert_efficient(line: dict[str, Any], forecast: list[float]) -> None:
    total = [
        line["offset"][h] + sum(e["scores"][h] for e in line["explanations"]) for h in range(len(forecast))
    ]
    assert total == pytest.approx(forecast, rel=1e-9, abs=1e-7)


def test_byom_config_matches_the_real_outputs(
    endpoint: tuple[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = endpoint[0]
    cfg = load_config(BYOM_CONFIG)  # the real file, unchanged
    caplog.set_level(logging.INFO)
    run = run_time_series(
        cfg, data_uri=BYOM_DATA, output_dir=tmp_path, transport=ModelTransport(url, "byom"),
        output_uri="s3://sagemaker-us-west-2-678264136642/byom/output_byom",
    )  # fmt: skip
    write_analysis(tmp_path, {"version": "1.0", "explanations": {"asymmetric_shapley_value": run.section}})
    real_analysis = (
        REAL_JSON / "real_time_series_byom__asymmetric_shapley_value__from_container_log__analysis.json"
    )
    assert (tmp_path / "analysis.json").read_text() == real_analysis.read_text()

    out = tmp_path / "asymmetric_shapley_value" / "fine_grained_chronological" / "out.jsonl"
    assert run.out_path == out
    ours, real = _lines(out), _lines(BYOM_OUT)
    assert [_skeleton(x) for x in ours] == [_skeleton(x) for x in real]
    assert f"Wrote 2 lines to {out}" in caplog.text

    rows = json.loads(BYOM_DATA.read_text())
    for line in ours:
        inp = _item_input(rows, line["item_id"], "p_mbar", ("rain_mm", "T_degC"))
        _assert_efficient(line, _forecast(url, "byom", {"instances": inp})["mean"])
        rain = [e for e in line["explanations"] if e["feature_name"] == "rain_mm"]
        if line["item_id"] == "sanjose":  # rain is 0.0 there: equal to the zero baseline
            assert all(s == 0.0 for e in rain for s in e["scores"])
    assert (
        ours[0]["offset"] == ours[1]["offset"]
    )  # zero baselines: v(∅) is item-independent, as in the real file


def test_deepar_config_runs_with_static_covariates(endpoint: tuple[str, Path], tmp_path: Path) -> None:
    url, data = endpoint
    cfg = load_config(DEEPAR_CONFIG)
    run = run_time_series(
        cfg, data_uri=data, output_dir=tmp_path, transport=ModelTransport(url, "deepar"),
        output_uri="s3://sagemaker-us-west-2-678264136642/deepar/output",
    )  # fmt: skip
    write_analysis(tmp_path, {"version": "1.0", "explanations": {"asymmetric_shapley_value": run.section}})
    real_analysis = (
        REAL_JSON / "real_time_series_deepar__asymmetric_shapley_value__from_container_log__analysis.json"
    )
    assert (tmp_path / "analysis.json").read_text() == real_analysis.read_text()

    lines = _lines(run.out_path)
    assert [x["item_id"] for x in lines] == ["interpol", "mosfets"]
    rows = json.loads(data.read_text())
    for line in lines:
        assert list(line) == ["explanations", "item_id", "offset"] and len(line["offset"]) == 14
        names = [e["feature_name"] for e in line["explanations"]]
        # target (26 known steps), each related series over 40 steps, then the static covariates
        assert names == ["target_value"] * 26 + [n for n in DEEPAR_RELATED for _ in range(40)] + list(
            DEEPAR_STATIC
        )
        static = line["explanations"][-2:]
        assert all(list(e) == ["feature_name", "scores"] for e in static)
        assert all(list(e) == ["feature_name", "scores", "timestamp"] for e in line["explanations"][:-2])
        inp = _item_input(rows, line["item_id"], "target_value", DEEPAR_RELATED)
        mine = next(r for r in rows if r["item_id"] == line["item_id"])
        inp["cat"] = [mine[name] for name in DEEPAR_STATIC]
        _assert_efficient(line, _forecast(url, "deepar", {"instances": [inp]})[0]["mean"])
    assert run.result.sampled_groups == 0  # 4 cells per step, num_samples 9: exact is cheaper


@pytest.mark.parametrize(
    ("direction", "granularity"),
    [("chronological", "timewise"), ("anti_chronological", "timewise"), ("bidirectional", "timewise")],
)
def test_deepar_config_timewise_directions(
    endpoint: tuple[str, Path], tmp_path: Path, direction: str, granularity: str
) -> None:
    url, data = endpoint
    doc = json.loads(DEEPAR_CONFIG.read_text())
    doc["methods"]["asymmetric_shapley_value"] = {"direction": direction, "granularity": granularity}
    cfg_path = tmp_path / "config.json"
    cfg_path.write_text(json.dumps(doc))
    run = run_time_series(
        load_config(cfg_path), data_uri=data, output_dir=tmp_path, transport=ModelTransport(url, "deepar")
    )
    assert run.section["explanation_results_path"] == str(
        tmp_path / "asymmetric_shapley_value" / f"{granularity}_{direction}" / "out.jsonl"
    )
    for line in _lines(run.out_path):
        assert [e["feature_name"] for e in line["explanations"]] == ["time_step"] * 40
        assert [e["timestamp"] for e in line["explanations"]] == sorted(
            e["timestamp"] for e in line["explanations"]
        )
    assert all(item.efficiency_gap < 1e-7 for item in run.result.items)


def test_forecasting_example_runs(endpoint: tuple[str, Path], tmp_path: Path) -> None:
    cfg = load_config(EXAMPLE / "analysis_config.json")
    run = run_time_series(
        cfg,
        data_uri=EXAMPLE / "data" / "stores.json",
        output_dir=tmp_path,
        transport=ModelTransport(endpoint[0], "example"),
    )
    lines = _lines(run.out_path)
    assert [x["item_id"] for x in lines] == [f"store_{i}" for i in range(1, 7)]
    for line in lines:
        names = [e["feature_name"] for e in line["explanations"]]
        assert names[:53] == ["sales"] * 53 and names[-2:] == ["store_size", "region"]
        assert len(line["offset"]) == 7
    assert all(item.efficiency_gap < 1e-7 for item in run.result.items)
