"""The six shipped oracle scenarios (pre and post training) and the analysis.json section shape."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _bias_helpers import diff_reports

from analyzer.bias import FacetSpec, bias_section

FEATURES = ["income", "tenure", "score"]


def _scenarios(clarify_examples, file_name: str) -> list[tuple[str, dict]]:
    return list(json.loads((clarify_examples / file_name).read_text())["scenarios"].items())


@pytest.fixture
def dataset(clarify_examples) -> pd.DataFrame:
    frame = pd.read_csv(clarify_examples / "smclarify_dataset_1000.csv")
    return frame.assign(group=frame["dept"])


@pytest.mark.parametrize("file_name", ["smclarify_pretraining.json", "smclarify_posttraining.json"])
def test_oracle_scenarios(clarify_examples, dataset, file_name):
    scenarios = _scenarios(clarify_examples, file_name)
    assert len(scenarios) == 6
    for name, scenario in scenarios:
        call = scenario["call"]
        facet, label, pred = call["facet_column"], call["label_column"], call["predicted_label_column"]
        out = bias_section(
            dataset,
            stage=call["stage_type"],
            label=label["name"],
            label_values_or_threshold=label["positive_label_values"],
            facets=[FacetSpec(facet["name"], facet["sensitive_values"])],
            methods=[m["name"] for m in scenario["result"][0]["metrics"]],
            predicted_label=pred["name"] if pred else None,
            group_variable="group",
            ft_features=FEATURES,
        )
        problems = diff_reports(scenario["result"], out["facets"][facet["name"]])
        assert not problems, f"{file_name} {name}: " + "\n".join(problems)


def test_section_shape_matches_real_container_output(clarify_examples, dataset):
    real = json.loads(
        (
            clarify_examples
            / "analysis_json"
            / "real_adult_xgboost__pre_and_post_training_bias__from_container_log__analysis.json"
        ).read_text()
    )
    for stage in ("pre_training", "post_training"):
        ours = bias_section(
            dataset,
            stage=stage,
            label="label",
            label_values_or_threshold=[1],
            facets=[FacetSpec("gender", ["female"]), FacetSpec("race", None)],
            predicted_label="pred" if stage == "post_training" else None,
            ft_features=FEATURES,
            group_variable="group",
        )
        theirs = real[f"{stage}_bias_metrics"]
        assert list(ours) == list(theirs) == ["label", "facets", "label_value_or_threshold"]
        real_entry = next(iter(theirs["facets"].values()))[0]
        our_entry = ours["facets"]["gender"][0]
        assert list(our_entry) == list(real_entry)
        assert [m["name"] for m in our_entry["metrics"]] == [m["name"] for m in real_entry["metrics"]]
        assert [m["description"] for m in our_entry["metrics"]] == [
            m["description"] for m in real_entry["metrics"]
        ]
        for ours_m, real_m in zip(our_entry["metrics"], real_entry["metrics"]):
            assert list(ours_m) == list(real_m)  # name, description, value[, error]
        assert [r["value_or_threshold"] for r in ours["facets"]["race"]] == list(dataset["race"].unique())
