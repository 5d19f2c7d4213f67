"""`run` and `validate` through the plan: failing before any endpoint starts, Clarify's order,
and the score locator resolved as Clarify does, against a real local_endpoint model."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyzer.endpoint import EndpointHandle
from container.cli import main, validate_problems
from tests.conftest import GERMAN_CREDIT_CSV

FEATURES = ["a", "b", "c", "d"]


def _write(tmp_path: Path, config: dict[str, Any], name: str = "analysis_config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return path


def _german_config() -> dict[str, Any]:
    return {
        "dataset_type": "text/csv",
        "label": "risk",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "shap": {"baseline": [[0] * 9], "num_samples": 10},
            "pdp": {"features": ["age"]},
        },
        "predictor": {
            "model_name": "german-credit",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 1,
            "probability": 1,
        },
    }


@pytest.fixture
def no_endpoint(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) any attempt to start an endpoint or to load the data rows."""
    import analyzer.datasets.loader
    import container.endpoints

    calls: list[str] = []

    def refuse_endpoint(*args: object, **kwargs: object) -> None:
        calls.append("endpoint")
        raise AssertionError("no endpoint may start")

    def refuse_load(*args: object, **kwargs: object) -> None:
        calls.append("load")
        raise AssertionError("the data rows must not be loaded")

    monkeypatch.setattr(container.endpoints, "open_shadow_endpoint", refuse_endpoint)
    monkeypatch.setattr(container.endpoints, "choose_backend", refuse_endpoint)
    monkeypatch.setattr(analyzer.datasets.loader, "load_planned", refuse_load)
    return calls


MISTAKES = {
    "features_to_explain typo": (
        ("methods", "shap", "features_to_explain"),
        ["age", "agee"],
        "Feature names not found. methods.shap.features_to_explain: 'agee' is not one of the features",
    ),
    "pdp features typo": (
        ("methods", "pdp", "features"),
        ["credit_amont"],
        "Feature names not found. methods.pdp.features: 'credit_amont' is not one of the features",
    ),
    "missing label column": (
        ("label",), "Target", "Headers must contain label. Label 'Target' is not one of"
    ),
}


def _plant(config: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_run_fails_before_loading_data_or_starting_an_endpoint(
    mistake: str, tmp_path: Path, no_endpoint: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "output").mkdir(parents=True)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(opt_ml))
    path_in_config, value, message = MISTAKES[mistake]
    config = _write(tmp_path, _plant(_german_config(), path_in_config, value))
    started = time.monotonic()
    code = main(["run", "--config", str(config), "--data", str(GERMAN_CREDIT_CSV), "--output",
                 str(tmp_path / "out"), "--backend", "subprocess"])
    elapsed = time.monotonic() - started
    assert code == 1
    assert no_endpoint == []
    assert message in (opt_ml / "output" / "message").read_text()
    print(f"{mistake}: run failed after {elapsed:.2f} s")  # measured by hand: well under 2 s


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_validate_finds_the_same_mistakes_without_an_endpoint(
    mistake: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import container.endpoints

    monkeypatch.setattr(container.endpoints, "open_shadow_endpoint", None)
    path_in_config, value, message = MISTAKES[mistake]
    config = _write(tmp_path, _plant(_german_config(), path_in_config, value))
    problems = validate_problems(str(config), str(GERMAN_CREDIT_CSV), None)
    assert [p for p in problems if message in p], problems


def test_validate_reports_config_and_data_problems_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _german_config()
    config["lable"] = "risk"  # a config problem (unknown key)
    config["facet"][0]["name_or_index"] = "gender"  # a data problem (no such column)
    config["methods"]["shap"]["features_to_explain"] = ["agee"]  # a plan problem
    path = _write(tmp_path, config)
    assert main(["validate", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV)]) == 1
    out = capsys.readouterr().out
    assert "3 problem(s)" in out
    assert "lable: unknown key" in out
    assert "Unable to locate the facet. Facet 'gender'" in out
    assert "methods.shap.features_to_explain: 'agee'" in out


# ------------------------------------------------------------------ real local_endpoint model


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, pd.DataFrame, Path]]:
    from _model_server import make_classification_data, write_sklearn_model_dir

    folder = tmp_path_factory.mktemp("plan_model")
    model_dir = write_sklearn_model_dir(folder / "model", n_features=4)
    import joblib

    model = joblib.load(model_dir / "model.joblib")
    X, y = make_classification_data(n_samples=60, n_features=4, random_state=1)
    frame = pd.DataFrame(X.round(3), columns=FEATURES)
    frame.insert(0, "y", y)
    frame["s"] = (frame["a"] > 0).astype(int)
    frame.to_csv(folder / "data.csv", index=False)
    yield model, frame, model_dir


@pytest.fixture(scope="module")
def csv_endpoint(model_and_data: tuple[Any, pd.DataFrame, Path]) -> Iterator[str]:
    from _model_server import running_endpoint

    with running_endpoint(model_and_data[2]) as url:
        yield url


@pytest.fixture(scope="module")
def keyed_endpoint(model_and_data: tuple[Any, pd.DataFrame, Path]) -> Iterator[str]:
    """The same model answering ``{"predicted_label": ..., "probability": ...}`` records."""
    from _model_server import running_endpoint

    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probability"}
    with running_endpoint(model_and_data[2], env=env) as url:
        yield url


def _shap_config(predictor: dict[str, Any], baseline: list[float]) -> dict[str, Any]:
    return {
        "dataset_type": "text/csv",
        "label": "y",
        "excluded_columns": ["s"],
        "methods": {"shap": {"baseline": [baseline], "num_samples": 14, "seed": 0}},
        "predictor": {"endpoint_name": "local", **predictor},
    }


def _run(tmp_path: Path, config: dict[str, Any], url: str, name: str) -> dict[str, Any]:
    path = _write(tmp_path, config, f"{name}.json")
    out = tmp_path / name
    code = main(["run", "--config", str(path), "--data", str(tmp_path.parent / "data.csv"), "--output",
                 str(out), "--endpoint-url", url])
    assert code == 0
    return json.loads((out / "analysis.json").read_text())


@pytest.fixture
def data_dir(model_and_data: tuple[Any, pd.DataFrame, Path], tmp_path: Path) -> Path:
    """A per-test folder whose parent holds ``data.csv``."""
    work = tmp_path / "work"
    work.mkdir()
    model_and_data[1].to_csv(tmp_path / "data.csv", index=False)
    return work


def test_label_locator_selects_the_explained_score_in_csv(
    model_and_data: tuple[Any, pd.DataFrame, Path], csv_endpoint: str, data_dir: Path
) -> None:
    """SDK run_explainability(model_scores=1) writes predictor.label: 1; on a p0,p1 model Clarify
    explains p1 only (one label, expected value = the baseline's p1)."""
    model, _, _ = model_and_data
    baseline = [0.1, -0.2, 0.3, 0.0]
    p1 = float(model.predict_proba(np.array([baseline]))[0, 1])
    shap = _run(data_dir, _shap_config({"label": 1}, baseline), csv_endpoint, "label1")
    section = shap["explanations"]["kernel_shap"]
    assert list(section) == ["label0"]
    assert section["label0"]["expected_value"] == pytest.approx(p1, rel=1e-9)
    both = _run(data_dir, _shap_config({}, baseline), csv_endpoint, "whole_row")
    assert list(both["explanations"]["kernel_shap"]) == ["label0", "label1"]  # the test can tell


def test_label_locator_selects_a_json_lines_key(
    model_and_data: tuple[Any, pd.DataFrame, Path], keyed_endpoint: str, data_dir: Path
) -> None:
    """SDK model_scores="probability" on a JSON Lines response selects that key."""
    model, _, _ = model_and_data
    baseline = [0.1, -0.2, 0.3, 0.0]
    p1 = float(model.predict_proba(np.array([baseline]))[0, 1])
    config = _shap_config({"accept_type": "application/jsonlines", "label": "probability"}, baseline)
    section = _run(data_dir, config, keyed_endpoint, "jsonl")["explanations"]["kernel_shap"]
    assert list(section) == ["label0"]
    assert section["label0"]["expected_value"] == pytest.approx(p1, rel=1e-9)


def test_probability_threshold_applies_to_a_label_locator_that_yields_scores(
    model_and_data: tuple[Any, pd.DataFrame, Path], keyed_endpoint: str, data_dir: Path
) -> None:
    """ModelPredictedLabelConfig(label="probability", probability_threshold=0.6)."""
    from analyzer.bias import FacetSpec, bias_section

    model, frame, _ = model_and_data
    config = {
        "dataset_type": "text/csv",
        "label": "y",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "s", "value_or_threshold": [1]}],
        "probability_threshold": 0.6,
        "excluded_columns": ["s"],
        "methods": {"post_training_bias": {"methods": ["DPPL"]}},
        "predictor": {
            "endpoint_name": "local", "accept_type": "application/jsonlines", "label": "probability"
        },
    }
    got = _run(data_dir, config, keyed_endpoint, "threshold")["post_training_bias_metrics"]
    dppl = got["facets"]["s"][0]["metrics"][0]["value"]
    p1 = model.predict_proba(frame[FEATURES].to_numpy())[:, 1]

    def expected(threshold: float) -> float:
        scored = frame.assign(pred=(p1 > threshold).astype(int))
        section = bias_section(scored, stage="post_training", label="y", label_values_or_threshold=[1],
                               facets=[FacetSpec("s", [1])], methods=["DPPL"], predicted_label="pred")
        return section["facets"]["s"][0]["metrics"][0]["value"]

    assert dppl == pytest.approx(expected(0.6), abs=1e-12)
    assert expected(0.6) != pytest.approx(expected(0.5), abs=1e-6)  # the threshold matters here


def test_endpoint_starts_only_after_the_dataset_is_loaded(
    csv_endpoint: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analyzer.datasets.loader
    import container.endpoints

    events: list[str] = []
    real_load = analyzer.datasets.loader.load_planned

    def load(*args: Any, **kwargs: Any) -> Any:
        events.append("dataset loaded")
        return real_load(*args, **kwargs)

    @contextlib.contextmanager
    def endpoint(*args: Any, **kwargs: Any) -> Iterator[EndpointHandle]:
        events.append("endpoint started")
        yield EndpointHandle(urls=(csv_endpoint,), description="test endpoint")
        events.append("endpoint stopped")

    monkeypatch.setattr(analyzer.datasets.loader, "load_planned", load)
    monkeypatch.setattr(container.endpoints, "open_shadow_endpoint", endpoint)
    config = _shap_config({"probability": 1}, [0.0, 0.0, 0.0, 0.0])
    config["predictor"] = {"model_name": "m", "instance_type": "local", "initial_instance_count": 1,
                           "probability": 1}
    path = _write(data_dir, config)
    code = main(["run", "--config", str(path), "--data", str(data_dir.parent / "data.csv"), "--output",
                 str(data_dir / "out")])
    assert code == 0
    assert events == ["dataset loaded", "endpoint started", "endpoint stopped"]


def test_failing_on_a_plan_problem_imports_neither_pandas_nor_numba(tmp_path: Path) -> None:
    """The fail-fast path stays quick: the heavy modules are imported only once the plan holds."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    path_in_config, value, _ = MISTAKES["features_to_explain typo"]
    config = _write(tmp_path, _plant(_german_config(), path_in_config, value))
    code = (
        "import sys\nfrom container.cli import main\n"
        f"rc = main(['run', '--config', {str(config)!r}, '--data', {str(GERMAN_CREDIT_CSV)!r}, "
        f"'--output', {str(tmp_path / 'out')!r}])\n"
        "print(rc, sorted(m for m in ('pandas', 'numba', 'sklearn', 'scipy', 'docker') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT,
                          check=True)
    assert proc.stdout.strip().splitlines()[-1] == "1 []"


def test_clarify_log_lines_in_clarify_order(
    csv_endpoint: str, data_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The lines users grep Clarify's log for, in its words and order; analysis.json printed last."""
    config = _shap_config({"probability": 1}, [0.0, 0.0, 0.0, 0.0])
    config.update(label_values_or_threshold=[1], probability_threshold=0.6,
                  facet=[{"name_or_index": "s", "value_or_threshold": [1]}])
    config["methods"]["post_training_bias"] = {"methods": ["DPPL"]}
    config["methods"]["shap"]["save_local_shap_values"] = True
    _run(data_dir, config, csv_endpoint, "logs")
    out = data_dir / "logs"
    err = capfd.readouterr().err
    lines = [line.split(" ", 2)[-1] for line in err.splitlines()]
    expected = [
        "We assume a prediction above 0.600 indicates 1 and below or equal indicates 0.",
        "Column y with data uniqueness fraction 0.03333333333333333 is classifed as a CATEGORICAL column",
        "Column s with data uniqueness fraction 0.03333333333333333 is classifed as a CATEGORICAL column",
        "Column None with data uniqueness fraction 0.03333333333333333 is classifed as a CATEGORICAL column",
        "SHAP n_samples 14",
        "Shap analyzer: explaining 60 rows, 4 columns...",
        f"Wrote baseline used to compute explanations to: {out}/explanations_shap/baseline.csv",
        f"Wrote 60 local explanations to: {out}/explanations_shap/out.csv",
        "Shap analysis finished.",
        "Collected analyses: ",
    ]
    positions = [lines.index(text) for text in expected]
    assert positions == sorted(positions), [expected[i] for i in np.argsort(positions)]
    dump = err[err.index("Collected analyses: \n") + len("Collected analyses: \n") :]
    assert dump.startswith((out / "analysis.json").read_text())  # the file's text, 4-space indent
