"""The README example, end to end: German credit, a scikit-learn model behind local_endpoint,
pre- and post-training bias on `sex` and `age`, SHAP, PDP and the report."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import GERMAN_CREDIT_CSV, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "german_credit"
FEATURES = [
    "sex",
    "job",
    "housing",
    "saving_accounts",
    "checking_account",
    "credit_amount",
    "duration",
    "purpose",
    "age",
]


def _train_model():
    """The example's own training module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("german_credit_train_model", EXAMPLE / "train_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("german_credit")
    model_dir = work / "model"
    subprocess.run(
        [sys.executable, str(EXAMPLE / "train_model.py"), "--model-dir", str(model_dir)], check=True
    )
    models_file = work / "models.json"
    models_file.write_text(
        json.dumps(
            {
                "german-credit-sklearn": {
                    "model_data_url": str(model_dir),
                    "environment": {"CLARIFY_RUNNER_SKOPS_TRUSTED": "sklearn.tree._tree.Tree"},
                }
            }
        )
    )
    config = json.loads((EXAMPLE / "analysis_config.json").read_text())
    config["methods"]["shap"]["num_samples"] = (
        64  # keep the test quick; the README run uses the shipped value
    )
    config_path = work / "analysis_config.json"
    config_path.write_text(json.dumps(config))
    out = work / "output"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "clarify-runner"),
            "run",
            "--config",
            str(config_path),
            "--data",
            str(GERMAN_CREDIT_CSV),
            "--output",
            str(out),
            "--backend",
            "subprocess",
            "--models-file",
            str(models_file),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {"out": out, "log": proc.stderr, "model_dir": model_dir, "config": config}


def test_all_outputs_written(example_run: dict):
    out = example_run["out"]
    for name in [
        "analysis.json",
        "explanations_shap/out.csv",
        "explanations_shap/baseline.csv",
        "report.ipynb",
        "report.html",
        "report.pdf",
    ]:
        assert (out / name).is_file(), name
    analysis = json.loads((out / "analysis.json").read_text())
    assert list(analysis) == [
        "version",
        "post_training_bias_metrics",
        "pre_training_bias_metrics",
        "explanations",
    ]
    assert set(analysis["explanations"]) == {"kernel_shap", "pdp"}
    assert "exit_message: Completed: SageMaker XAI Analyzer ran successfully" in example_run["log"]
    assert "Model endpoint delivered" in example_run["log"]
    # The real container's log lines: what was loaded, how many rows, which methods ran.
    log = example_run["log"]
    for line in [
        "Dataset type: text/csv uri:",
        "Loading dataset...",
        "Loaded dataset. Dataset info:",
        "RangeIndex: 1000 entries",
        "Methods to run: post_training_bias, pre_training_bias, shap, pdp",
        "Calculating post-training bias metrics",
        "Calculating pre-training bias metrics",
    ]:
        assert line in log, line
    # Like the real container, the shadow endpoint is torn down before the report is written.
    assert log.index("Stop using endpoint") < log.index("/report.ipynb' generated successfully.")
    # Clarify's order: the reports, then the whole analysis.json, then the exit message.
    collected = log.index("Collected analyses: \n{")
    assert log.index("PDF report '") < collected < log.index("exit_message: Completed")


def test_post_training_bias_matches_smclarify_on_the_model_predictions(example_run: dict):
    import skops.io as sio
    from smclarify.bias import report as smc_report

    df = pd.read_csv(GERMAN_CREDIT_CSV)
    path = example_run["model_dir"] / "model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    predicted = (model.predict_proba(_train_model().feature_matrix(df))[:, 1] > 0.5).astype(int)
    frame = df.assign(pred=predicted)
    expected = smc_report.bias_report(
        frame[["sex", "credit_amount", "duration", "age", "job", "risk", "pred"]],
        smc_report.FacetColumn("sex", ["female"]),
        smc_report.LabelColumn("risk", frame["risk"], [1]),
        stage_type=smc_report.StageType.POST_TRAINING,
        predicted_label_column=smc_report.LabelColumn("pred", frame["pred"], [1]),
        group_variable=frame["job"],
        metrics=["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE"],
    )
    analysis = json.loads((example_run["out"] / "analysis.json").read_text())
    sex = analysis["post_training_bias_metrics"]["facets"]["sex"][0]
    ours = {m["name"]: m["value"] for m in sex["metrics"]}
    assert sorted(ours) == ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "RD", "TE"]
    for m in expected[0]["metrics"]:
        assert ours[m["name"]] == pytest.approx(m["value"], rel=1e-12), m["name"]


def test_local_shap_values_add_up(example_run: dict):
    out = example_run["out"]
    analysis = json.loads((out / "analysis.json").read_text())
    shap = analysis["explanations"]["kernel_shap"]
    assert list(shap) == ["label0"]
    assert list(shap["label0"]["global_shap_values"]) == FEATURES
    local = pd.read_csv(out / "explanations_shap" / "out.csv")
    assert list(local.columns) == [f"{f}_label0" for f in FEATURES]
    assert len(local) == 1000
    with open(out / "explanations_shap" / "baseline.csv", newline="") as f:
        baseline_rows = list(csv.reader(f))
    assert len(baseline_rows) >= 5
    # Global mean_abs values are the mean of |local values|.
    for f in FEATURES:
        assert shap["label0"]["global_shap_values"][f] == pytest.approx(
            local[f"{f}_label0"].abs().mean(), rel=1e-9
        )


def test_pdp_uses_top_shap_features(example_run: dict):
    analysis = json.loads((example_run["out"] / "analysis.json").read_text())
    pdp = analysis["explanations"]["pdp"]
    global_values = analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    top3 = sorted(global_values, key=lambda k: -global_values[k])[:3]
    assert [p["feature_name"] for p in pdp] == top3
    for entry in pdp:
        assert len(entry["model_predictions"][0]) == len(entry["feature_values"])
