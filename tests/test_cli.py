"""`clarify-runner run | validate`: the whole job through the public command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from container.cli import main
from tests.conftest import GERMAN_CREDIT_CSV, REPO_ROOT

PRE_ALL = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]


def _write_config(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def _pretraining_config() -> dict:
    return {
        "version": "1.0",
        "dataset_type": "text/csv",
        "label": "risk",
        "label_values_or_threshold": [1],
        "facet": [
            {"name_or_index": "sex", "value_or_threshold": ["female"]},
            {"name_or_index": "age", "value_or_threshold": [25]},
        ],
        "group_variable": "job",
        "methods": {"pre_training_bias": {"methods": "all"}},
    }


def test_run_pretraining_matches_smclarify(tmp_path: Path):
    from smclarify.bias import report as smc_report

    config = _write_config(tmp_path, _pretraining_config())
    out = tmp_path / "out"
    assert main(["run", "--config", str(config), "--data", str(GERMAN_CREDIT_CSV), "--output", str(out)]) == 0
    text = (out / "analysis.json").read_text()
    assert not text.endswith("\n")
    analysis = json.loads(text)
    assert list(analysis) == ["version", "pre_training_bias_metrics"]
    section = analysis["pre_training_bias_metrics"]
    assert section["label"] == "risk" and section["label_value_or_threshold"] == "1"
    assert list(section["facets"]) == ["sex", "age"]
    sex = section["facets"]["sex"]
    assert [e["value_or_threshold"] for e in sex] == ["female"]
    assert [m["name"] for m in sex[0]["metrics"]] == PRE_ALL
    assert section["facets"]["age"][0]["value_or_threshold"] == "(25, 75]"

    df = pd.read_csv(GERMAN_CREDIT_CSV)
    expected = smc_report.bias_report(
        df[["sex", "risk"]],
        smc_report.FacetColumn("sex", ["female"]),
        smc_report.LabelColumn("risk", df["risk"], [1]),
        stage_type=smc_report.StageType.PRE_TRAINING,
        group_variable=df["job"],
        metrics=["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"],
    )
    ours = {m["name"]: m["value"] for m in sex[0]["metrics"]}
    theirs = {m["name"]: m["value"] for m in expected[0]["metrics"]}
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name] == pytest.approx(theirs[name], rel=1e-12, abs=1e-15), name


def test_metric_names_are_matched_case_insensitively(tmp_path: Path):
    """The config accepts any case and comma-separated names; the engine gets canonical ones."""
    config = _pretraining_config()
    config["methods"]["pre_training_bias"]["methods"] = "ci,Dpl,kl"
    path = _write_config(tmp_path, config)
    out = tmp_path / "out"
    assert main(["run", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV), "--output", str(out)]) == 0
    sex = json.loads((out / "analysis.json").read_text())["pre_training_bias_metrics"]["facets"]["sex"][0]
    assert [m["name"] for m in sex["metrics"]] == ["CI", "DPL", "KL"]


def test_validate_reports_three_planted_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    config = _pretraining_config()
    config["lable"] = "risk"  # 1: unknown key (typo)
    config["methods"]["pre_training_bias"]["methods"] = 5  # 2: wrong type
    config["methods"]["shap"] = {"num_samples": 100}  # 3: SHAP without a predictor
    path = _write_config(tmp_path, config)
    code = main(["validate", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV)])
    out = capsys.readouterr().out
    assert code == 1
    assert "3 problem(s)" in out
    assert "lable" in out
    assert "methods.pre_training_bias.methods" in out
    assert "predictor" in out


def test_validate_reports_dataset_problems_and_dead_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from tests.conftest import free_port

    config = _pretraining_config()
    config["label"] = "Target"
    config["facet"][0]["name_or_index"] = "gender"
    config["methods"]["post_training_bias"] = {"methods": "all"}
    config["predictor"] = {"endpoint_name": "my-endpoint"}
    path = _write_config(tmp_path, config)
    url = f"http://127.0.0.1:{free_port()}"
    code = main(["validate", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV), "--endpoint-url", url])
    out = capsys.readouterr().out
    assert code == 1
    assert "Target" in out and "gender" in out
    assert f"Endpoint {url} does not answer /ping" in out


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = _write_config(tmp_path, _pretraining_config())
    assert main(["validate", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV)]) == 0
    assert "OK" in capsys.readouterr().out


def test_bad_json_exits_1_and_writes_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "output").mkdir(parents=True)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(opt_ml))
    path = tmp_path / "analysis_config.json"
    path.write_text('{"version": "1.0",\n "dataset_type": "text/csv",,}')
    code = main(
        ["run", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV), "--output", str(tmp_path / "o")]
    )
    assert code == 1
    message = (opt_ml / "output" / "message").read_text()
    assert message.startswith("ClientError: Unable to load analysis configuration as JSON.")
    assert "line 2" in message


def test_failed_run_leaves_no_analysis_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "output").mkdir(parents=True)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(opt_ml))
    out = tmp_path / "out"
    out.mkdir()
    (out / "analysis.json").write_text('{"version": "1.0"}')  # stale result of an earlier run
    config = _pretraining_config()
    config["facet"][0]["name_or_index"] = "gender"
    path = _write_config(tmp_path, config)
    code = main(["run", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV), "--output", str(out)])
    assert code == 1
    assert "gender" in (opt_ml / "output" / "message").read_text()
    assert not (out / "analysis.json").exists()
    assert [p for p in out.iterdir()] == []  # no staging leftovers


def test_console_script_is_installed():
    exe = shutil.which("clarify-runner", path=str(Path(sys.executable).parent))
    assert exe, "clarify-runner console script missing from the venv"
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    for command in ("run", "validate", "serve"):
        assert command in proc.stdout


def test_readme_opens_with_the_two_commands():
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = [b for b in readme.split("```") if b.startswith(("bash", "sh"))]
    first_two = "\n".join(blocks[:2])
    assert "scripts/quickstart" in first_two and "scripts/test" in first_two
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci


def test_shap_estimator_flag_reaches_the_engine(tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    """`--shap-estimator` picks the Kernel SHAP estimator: with 8 of 14 coalitions sampled,
    the Clarify-identical and the leverage estimator give different local values."""
    import numpy as np
    import pandas as pd
    from _model_server import running_endpoint, write_sklearn_model_dir

    model_dir = write_sklearn_model_dir(tmp_path / "model", n_features=4)
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(30, 4)), columns=["a", "b", "c", "d"])
    data.to_csv(tmp_path / "data.csv", index=False)
    config = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "methods": {"shap": {"baseline": [[0.0, 0.0, 0.0, 0.0]], "num_samples": 8, "seed": 1,
                             "save_local_shap_values": True}},
        "predictor": {"endpoint_name": "local", "content_type": "text/csv", "probability": 1},
    }
    path = _write_config(tmp_path, config)
    local = {}
    with running_endpoint(model_dir) as url:
        for estimator in ("clarify", "leverage"):
            out = tmp_path / estimator
            args = ["run", "--config", str(path), "--data", str(tmp_path / "data.csv"), "--output", str(out)]
            assert main([*args, "--endpoint-url", url, "--shap-estimator", estimator]) == 0
            assert f"SHAP estimator: {estimator}" in capfd.readouterr().err
            shap = json.loads((out / "analysis.json").read_text())["explanations"]["kernel_shap"]["label0"]
            assert list(shap["global_shap_values"]) == ["a", "b", "c", "d"]
            local[estimator] = pd.read_csv(out / "explanations_shap" / "out.csv")
            assert local[estimator].shape == (30, 4)
    assert not np.allclose(local["clarify"].to_numpy(), local["leverage"].to_numpy())
