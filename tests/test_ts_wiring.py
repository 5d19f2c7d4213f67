"""Time series through the public command line: ``clarify-runner run`` and ``validate``.

The two real time-series configs (Clarify's BYOM and DeepAR notebooks, unchanged files) run
with ``clarify-runner run --endpoint-url`` against the example forecaster served by a real
local_endpoint process; the forecasting example runs as a processing job through the normal
shadow-endpoint path (``--backend subprocess --models-file``). ``analysis.json`` and ``out.jsonl`` must have
the real examples' structure key for key. ``validate`` and ``run`` must find a bad
time-series config while planning, before any endpoint starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from _model_server import running_endpoint

from container.cli import main, validate_problems
from local_endpoint.forecasting import save_forecaster
from tests.conftest import CLARIFY_EXAMPLES, REPO_ROOT
from tests.test_ts_real_configs import (
    BYOM_CONFIG,
    BYOM_DATA,
    BYOM_OUT,
    DEEPAR_CONFIG,
    DEEPAR_RELATED,
    DEEPAR_STATIC,
    _assert_efficient,
    _item_input,
    _lines,
    _skeleton,
    generate_data,
    train_model,
)

pytestmark = pytest.mark.slow

EXAMPLE = REPO_ROOT / "examples" / "forecasting"
REAL_JSON = CLARIFY_EXAMPLES / "analysis_json"
RESULTS = Path("asymmetric_shapley_value") / "fine_grained_chronological" / "out.jsonl"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Forecaster folders shaped like the BYOM and DeepAR models and the example's, plus DeepAR data."""
    work = tmp_path_factory.mktemp("ts_wiring")
    rows = generate_data.generate(
        item_ids=["a", "b", "c"], steps=80, horizon=10, target="p_mbar", related=("rain_mm", "T_degC"),
        static=(), level=1000.0, scale=5.0, period=24, freq="10min",
    )  # fmt: skip
    model = train_model.train(
        rows, target="p_mbar", related=("rain_mm", "T_degC"), static=(), horizon=10, target_lags=3,
        related_past=3, related_future=6, components=60,
    )  # fmt: skip
    save_forecaster(model, work / "byom")
    common = {"target": "target_value", "related": DEEPAR_RELATED, "static": DEEPAR_STATIC, "horizon": 14}
    train_rows = generate_data.generate(item_ids=["x", "y", "z"], steps=90, seed=1, **common)
    model = train_model.train(
        train_rows, target_lags=10, related_past=3, related_future=14, components=60, **common
    )
    save_forecaster(model, work / "deepar")
    (work / "deepar.json").write_text(
        json.dumps(generate_data.generate(item_ids=["mosfets", "interpol"], steps=40, seed=2, **common))
    )
    stores = json.loads((EXAMPLE / "data" / "stores.json").read_text())
    save_forecaster(train_model.train(stores, components=60), work / "example")
    return {
        "work": work,
        "byom": work / "byom",
        "deepar": work / "deepar",
        "deepar_data": work / "deepar.json",
        "example": work / "example",
    }


@pytest.fixture
def no_shadow_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a shadow endpoint is started."""
    import container.endpoints

    def refuse(*args: Any, **kwargs: Any) -> Iterator[Any]:
        raise AssertionError("a shadow endpoint was started")

    monkeypatch.setattr(container.endpoints, "open_shadow_endpoint", refuse)


def _run(config: Path, data: Path, out: Path, *extra: str) -> int:
    return main(["run", "--config", str(config), "--data", str(data), "--output", str(out), *extra])


def _real_analysis_with(name: str, results_path: Path) -> str:
    """The real ``analysis.json`` text with its S3 results path replaced by a local one."""
    real = json.loads((REAL_JSON / name).read_text())
    section = real["explanations"]["asymmetric_shapley_value"]
    text = (REAL_JSON / name).read_text()
    return text.replace(section["explanation_results_path"], str(results_path))


def test_run_byom_config_matches_the_real_outputs(
    models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    with running_endpoint(models["byom"]) as url:
        assert _run(BYOM_CONFIG, BYOM_DATA, out, "--endpoint-url", url) == 0
        rows = json.loads(BYOM_DATA.read_text())
        forecasts = {}
        for item in ("sanjose", "seattle"):
            body = {"instances": _item_input(rows, item, "p_mbar", ("rain_mm", "T_degC"))}
            resp = requests.post(url + "/invocations", json=body, timeout=30)
            forecasts[item] = resp.json()["predictions"]["mean"]
    real = _real_analysis_with(
        "real_time_series_byom__asymmetric_shapley_value__from_container_log__analysis.json",
        out.resolve() / RESULTS,
    )
    assert (out / "analysis.json").read_text() == real  # key for key, 4-space indent, same order
    ours, theirs = _lines(out / RESULTS), _lines(BYOM_OUT)
    assert [_skeleton(x) for x in ours] == [_skeleton(x) for x in theirs]
    for line in ours:
        _assert_efficient(line, forecasts[line["item_id"]])
    log = capsys.readouterr().err
    assert "Methods to run: asymmetric_shapley_value" in log
    assert "Model endpoint delivered" in log
    # Clarify's line names the file where it ends up, not the staging folder it is written to
    assert f" Wrote 2 lines to {out / RESULTS}\n" in log
    # methods.report is in the real config: the report gets one chart per item
    html = (out / "report.html").read_text()
    assert "Time-series explanations (asymmetric Shapley values)" in html
    assert "Attributions for item sanjose" in html and "Attributions for item seattle" in html
    assert not list(out.glob(".clarify-runner-staging-*"))


def test_run_deepar_config_with_static_covariates(models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    data = models["deepar_data"]
    with running_endpoint(models["deepar"]) as url:
        assert _run(DEEPAR_CONFIG, data, out, "--endpoint-url", url) == 0
        rows = json.loads(data.read_text())
        forecasts = {}
        for item in ("interpol", "mosfets"):
            inp = _item_input(rows, item, "target_value", DEEPAR_RELATED)
            inp["cat"] = [next(r for r in rows if r["item_id"] == item)[n] for n in DEEPAR_STATIC]
            resp = requests.post(url + "/invocations", json={"instances": [inp]}, timeout=30)
            forecasts[item] = resp.json()["predictions"][0]["mean"]
    real = _real_analysis_with(
        "real_time_series_deepar__asymmetric_shapley_value__from_container_log__analysis.json",
        out.resolve() / RESULTS,
    )
    assert (out / "analysis.json").read_text() == real
    lines = _lines(out / RESULTS)
    assert [x["item_id"] for x in lines] == ["interpol", "mosfets"]
    for line in lines:
        assert list(line) == ["explanations", "item_id", "offset"] and len(line["offset"]) == 14
        names = [e["feature_name"] for e in line["explanations"]]
        assert names == ["target_value"] * 26 + [n for n in DEEPAR_RELATED for _ in range(40)] + list(
            DEEPAR_STATIC
        )
        assert all(list(e) == ["feature_name", "scores"] for e in line["explanations"][-2:])
        assert all(list(e) == ["feature_name", "scores", "timestamp"] for e in line["explanations"][:-2])
        _assert_efficient(line, forecasts[line["item_id"]])


def _bad_byom(tmp_path: Path, *, sdk_rule: bool = True) -> Path:
    """The BYOM config with problems the plan finds (and one the SDK's rules find)."""
    doc = json.loads(BYOM_CONFIG.read_text())
    doc["time_series_data_config"]["related_time_series"][1] = "[].T_degC["
    doc["predictor"]["record_template"] = '{"start": $start, "target": $target}'
    if sdk_rule:
        doc["predictor"]["content_template"] = '{"instances": $instances}'
    doc["predictor"]["time_series_predictor_config"]["forecast"] = "predictions.[mean"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    return path


def test_validate_finds_time_series_config_problems(tmp_path: Path, no_shadow_endpoint: None) -> None:
    problems = validate_problems(str(_bad_byom(tmp_path)), str(BYOM_DATA), None)
    assert len(problems) == 4, problems
    assert problems[0] == (
        "predictor.content_template: Invalid content_template '{\"instances\": $instances}'. "
        "Please include either placeholder $records or $record."
    )  # the SDK's rule (config checks); the plan's own checks follow
    assert problems[1].startswith(
        "time_series_data_config.related_time_series[1]: '[].T_degC[' is not a valid JMESPath expression"
    )
    assert problems[2].startswith(
        "predictor.record_template '{\"start\": $start, \"target\": $target}' holds none of the time-series "
        "tokens $start_time, $target_time_series"
    )
    assert problems[3].startswith(
        "predictor.time_series_predictor_config.forecast: 'predictions.[mean' is not a valid JMESPath"
    )
    assert validate_problems(str(BYOM_CONFIG), str(BYOM_DATA), None) == []


def test_run_stops_on_a_bad_config_before_any_endpoint(
    tmp_path: Path, no_shadow_endpoint: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _run(_bad_byom(tmp_path, sdk_rule=False), BYOM_DATA, out) == 1
    err = capsys.readouterr().err
    assert "ClientError:" in err
    for text in ("'[].T_degC['", "predictor.record_template", "'predictions.[mean'"):
        assert text in err
    assert "Loading dataset" not in err
    assert not (out / "analysis.json").exists()


def test_validate_reads_the_series_rows(models: dict[str, Path], tmp_path: Path) -> None:
    """An item without a static-covariate baseline and a non-numeric target are data-time problems."""
    rows = json.loads(models["deepar_data"].read_text())
    extra = [dict(r, item_id="gizmo") for r in rows if r["item_id"] == "mosfets"]
    data = tmp_path / "data.json"
    data.write_text(json.dumps(rows + extra))
    assert validate_problems(str(DEEPAR_CONFIG), str(data), None) == [
        "methods.asymmetric_shapley_value.baseline.static_covariates: no baseline for item 'gizmo'; "
        "predictor.record_template sends $static_covariates, so give one baseline value per static "
        "covariate for every item id"
    ]
    rows[0]["target_value"] = "high"
    data.write_text(json.dumps(rows))
    (problem,) = validate_problems(str(DEEPAR_CONFIG), str(data), None)
    assert "target_value" in problem and "high" in problem
    assert validate_problems(str(DEEPAR_CONFIG), str(models["deepar_data"]), None) == []


def test_validate_requires_a_static_baseline_when_the_model_gets_static_covariates(tmp_path: Path) -> None:
    doc = json.loads(DEEPAR_CONFIG.read_text())
    del doc["methods"]["asymmetric_shapley_value"]["baseline"]["static_covariates"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    (problem,) = validate_problems(str(path), str(tmp_path / "absent.json"), None)
    assert problem.startswith(
        "methods.asymmetric_shapley_value.baseline.static_covariates: required for static_covariates"
    )
    # timewise: static covariates keep their values, no baseline needed
    doc["methods"]["asymmetric_shapley_value"] = {"direction": "bidirectional", "granularity": "timewise"}
    path.write_text(json.dumps(doc))
    problems = validate_problems(str(path), str(tmp_path / "absent.json"), None)
    assert len(problems) == 1 and "absent.json" in problems[0]  # only the missing data file


def test_processing_job_writes_the_s3_results_path(
    models: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In a processing job, ``explanation_results_path`` is the ``analysis_result`` S3Uri (Clarify's)."""
    import logging

    from container.processing_job import main as processing_main

    root = tmp_path / "opt_ml"
    config_dir, data_dir = root / "processing" / "input" / "config", root / "processing" / "input" / "data"
    output_dir = root / "processing" / "output"
    for folder in (config_dir, data_dir, output_dir, root / "config"):
        folder.mkdir(parents=True)
    (config_dir / "analysis_config.json").write_text((EXAMPLE / "analysis_config.json").read_text())
    stores = json.loads((EXAMPLE / "data" / "stores.json").read_text())
    (data_dir / "stores.json").write_text(json.dumps([r for r in stores if r["item_id"] == "store_2"]))
    resources = {"current_host": "algo-1", "hosts": ["algo-1"]}
    (root / "config" / "resourceconfig.json").write_text(json.dumps(resources))
    s3_uri = "s3://sagemaker-us-west-2-123456789012/forecasting/output"
    job = {
        "ProcessingOutputConfig": {
            "Outputs": [
                {"OutputName": "analysis_result", "S3Output": {"LocalPath": str(output_dir), "S3Uri": s3_uri}}
            ]
        }
    }
    (root / "config" / "processingjobconfig.json").write_text(json.dumps(job))
    models_file = tmp_path / "models.json"
    models_file.write_text(json.dumps({"forecasting-example": {"model_data_url": str(models["example"])}}))
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(root))
    for var in ("CLARIFY_RUNNER_CONFIG", "CLARIFY_RUNNER_DATA", "CLARIFY_RUNNER_OUTPUT"):
        monkeypatch.delenv(var, raising=False)
    log = logging.getLogger()
    handlers, level = log.handlers[:], log.level
    try:
        assert processing_main(["--backend", "subprocess", "--models-file", str(models_file)]) == 0
    finally:
        log.handlers[:] = handlers
        log.setLevel(level)
    analysis = json.loads((output_dir / "analysis.json").read_text())
    section = analysis["explanations"]["asymmetric_shapley_value"]
    assert section["explanation_results_path"] == f"{s3_uri}/{RESULTS.as_posix()}"
    assert [x["item_id"] for x in _lines(output_dir / RESULTS)] == ["store_2"]
    # the log names the local output folder, as Clarify's (".../opt/ml/processing/output/...")
    assert f" Wrote 1 lines to {output_dir / RESULTS}\n" in capsys.readouterr().err
