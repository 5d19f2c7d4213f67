"""SDK rules for time-series configs that the cross-field checks add (with the SDK's messages)."""

from __future__ import annotations

import json
from typing import Any

from analyzer.config import config_problems
from tests.conftest import CLARIFY_EXAMPLES

REAL = CLARIFY_EXAMPLES / "analysis_config" / "real"


def _config(name: str) -> dict[str, Any]:
    return json.loads((REAL / name).read_text())


def _byom() -> dict[str, Any]:
    return _config("real_sdk_generated__time_series_byom__endpoint_name__analysis_config.json")


def test_real_configs_are_valid() -> None:
    assert config_problems(_byom()) == []
    assert (
        config_problems(
            _config("real_sdk_generated__time_series_deepar__static_covariates__analysis_config.json")
        )
        == []
    )


def test_empty_locators() -> None:
    cfg = _byom()
    ts = cfg["time_series_data_config"]
    ts.update(target_time_series="", item_id="", timestamp="", related_time_series=["[].rain_mm", ""])
    ts["static_covariates"] = [""]
    cfg["headers"].append("static")
    assert config_problems(cfg) == [
        "time_series_data_config.target_time_series: Please provide a target time series.",
        "time_series_data_config.item_id: Please provide an item id.",
        "time_series_data_config.timestamp: Please provide a timestamp.",
        "time_series_data_config.related_time_series: Please do not provide empty strings in "
        "``related_time_series``.",
        "time_series_data_config.static_covariates: Please do not provide empty strings in "
        "``static_covariates``.",
    ]


def test_headers_must_name_every_time_series_field() -> None:
    cfg = _byom()
    cfg["headers"] = cfg["headers"][:4]
    assert config_problems(cfg) == [
        "headers: time series needs 5 names in the order item_id, timestamp, target_time_series, "
        "related_time_series..., static_covariates... (got 4)"
    ]


def test_time_series_predictor_config_without_time_series_data() -> None:
    cfg = {
        "dataset_type": "text/csv",
        "headers": ["y", "a", "b"],
        "label": "y",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "a"}],
        "methods": {"shap": {"num_samples": 10}, "pre_training_bias": {"methods": "all"}},
        "predictor": {"endpoint_name": "e", "time_series_predictor_config": {"forecast": "mean"}},
    }
    assert config_problems(cfg) == [
        "methods.pre_training_bias: Bias metrics are unsupported for time series.",
        "predictor.time_series_predictor_config: Please provide an AsymmetricShapleyValueConfig for time "
        "series explainability cases. For non time series cases, please do not provide a "
        "TimeSeriesModelConfig.",
    ]


def test_direction_and_granularity_carry_the_sdk_messages() -> None:
    cfg = _byom()
    cfg["methods"]["asymmetric_shapley_value"].update(direction="forward", granularity="fine-grained")
    assert config_problems(cfg) == [
        "methods.asymmetric_shapley_value.direction: expected one of 'chronological', 'anti_chronological', "
        "'bidirectional', got string 'forward'. Please provide a valid explanation direction from: "
        "chronological, anti_chronological, bidirectional",
        "methods.asymmetric_shapley_value.granularity: expected one of 'timewise', 'fine_grained', got "
        "string 'fine-grained'. Please provide a valid granularity from: timewise, fine_grained",
    ]
