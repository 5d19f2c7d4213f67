"""Tests of ``analyzer.config`` / ``analyzer.config_checks``: the analysis_config.json model."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.config import (
    AnalysisConfig,
    config_problems,
    load_config,
    parse_config,
)
from analyzer.config_checks import ensure_supported, unsupported_features
from analyzer.errors import ConfigError, NotSupportedError, UserError

EXAMPLES_DIR = Path(__file__).parent / "fixtures" / "clarify_examples" / "analysis_config"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.rglob("*.json"))
SCHEMA_HEADER = "Analysis configuration schema validation error."


def _example_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _csv_bias(**extra: Any) -> dict[str, Any]:
    """A valid CSV pre-training bias config, with top-level keys overridden by ``extra``."""
    cfg: dict[str, Any] = {
        "dataset_type": "text/csv",
        "headers": ["risk", "sex", "age"],
        "label": "risk",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "methods": {"pre_training_bias": {"methods": "all"}},
    }
    cfg.update(extra)
    return cfg


def _csv_shap(shap: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A valid CSV SHAP config with an existing endpoint."""
    cfg: dict[str, Any] = {
        "dataset_type": "text/csv",
        "headers": ["risk", "sex", "age"],
        "label": "risk",
        "methods": {"shap": shap if shap is not None else {"num_samples": 10}},
        "predictor": {"endpoint_name": "my-endpoint", "probability": 0},
    }
    cfg.update(extra)
    return cfg


def _ts_config() -> dict[str, Any]:
    return json.loads((EXAMPLES_DIR / "docs" / "docs_time_series_asymmetric_shapley_value.json").read_text())


def _only_problem(data: Any) -> str:
    problems = config_problems(data)
    assert len(problems) == 1, problems
    return problems[0]


# ------------------------------------------------------------------------------- examples


def test_example_files_are_found() -> None:
    assert len(EXAMPLE_FILES) >= 30
    assert {p.parent.name for p in EXAMPLE_FILES} == {"docs", "real", "sdk_generated"}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_example_id)
def test_every_example_config_loads_without_problems(path: Path) -> None:
    cfg = load_config(path)
    assert isinstance(cfg, AnalysisConfig)
    raw = json.loads(path.read_bytes())
    assert config_problems(raw) == []
    # Nothing is injected or lost, and the key order of the file is kept.
    dumped = cfg.to_dict()
    assert dumped == raw
    assert json.dumps(dumped) == json.dumps(raw)


UNSUPPORTED_EXAMPLES = {
}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_example_id)
def test_support_of_every_example(path: Path) -> None:
    cfg = load_config(path)
    expected = UNSUPPORTED_EXAMPLES.get(path.stem, [])
    found = unsupported_features(cfg)
    assert [line.split(" (")[0] for line in found] == expected
    if expected:
        with pytest.raises(NotSupportedError) as info:
            ensure_supported(cfg)
        assert str(info.value) == "\n".join(found)
        assert all(line.endswith("is not supported yet by clarify-runner") for line in found)
    else:
        ensure_supported(cfg)


def test_text_config_is_supported_and_planned() -> None:
    """The real text configs (docs, SDK) pass the support check and plan a text SHAP job."""
    from analyzer.datasets.header import DatasetHeader
    from analyzer.plan.build import build_plan
    from analyzer.plan.text import TextShapJob

    for path, granularity, code in (
        (EXAMPLES_DIR / "docs" / "docs_nlp_text_csv_shap_token.json", "token", "en"),
        (
            EXAMPLES_DIR
            / "sdk_generated"
            / "sdk_run_explainability__shap_text_config__test_shap_with_text_config.json",
            "paragraph",
            "uk",
        ),
    ):
        cfg = load_config(path)
        ensure_supported(cfg)
        assert cfg.headers is not None
        plan = build_plan(cfg, DatasetHeader(columns=tuple(cfg.headers)), "data.csv")
        job = plan.job(TextShapJob)
        assert job is not None and (job.granularity, job.code) == (granularity, code), path.name


def test_segment_config_is_unsupported_and_image_requests_need_images() -> None:
    data = _csv_shap(segment_config=[{"name_or_index": "age", "segments": [["[1, 30]"]]}])
    assert unsupported_features(parse_config(data)) == [
        "segment_config (per-segment bias metrics) is not supported yet by clarify-runner",
    ]
    data["predictor"]["content_type"] = "image/png"
    assert config_problems(data) == [
        "predictor.content_type: image/png requests carry images; they need dataset_type application/x-image"
    ]


# ----------------------------------------------------------------------------- JSON level


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b'{"dataset_type": "text/csv",\n  "methods": {,}}',
            "Expecting property name enclosed in double quotes (line 2, column 15)",
        ),
        (b"", "Expecting value (line 1, column 1)"),
        (b'\n\n  {"x": 1', "Expecting ',' delimiter (line 3, column 10)"),
        (b'{"a": 1}\n{"b": 2}', "Extra data (line 2, column 1)"),
        (b'{"label": "\xe9t\xe9"}', "The file is not valid UTF-8: invalid byte 0xe9 (line 1, column 12)"),
        (b'{\n "label":\n  "x\xff"}', "The file is not valid UTF-8: invalid byte 0xff (line 3, column 5)"),
    ],
)
def test_invalid_json_messages(raw: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(raw)
    assert str(info.value) == f"Unable to load analysis configuration as JSON. {message}"
    assert isinstance(info.value, UserError)


def test_load_config_from_path_and_bytes(tmp_path: Path) -> None:
    data = _csv_bias()
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_config(path) == load_config(str(path)) == load_config(path.read_bytes())
    # A UTF-8 byte order mark is tolerated.
    assert load_config(b"\xef\xbb\xbf" + path.read_bytes()).to_dict() == data


def test_load_config_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match=r"^Unable to read analysis configuration file .*nope\.json: "):
        load_config(missing)


# --------------------------------------------------------------------------- schema level


def test_top_level_must_be_an_object() -> None:
    assert config_problems([1, 2]) == ["(top level): expected a JSON object, got a list"]
    with pytest.raises(ConfigError) as info:
        load_config(b"[]")
    assert str(info.value) == f"{SCHEMA_HEADER}\n(top level): expected a JSON object, got a list"


def test_unknown_key_names_path_and_allowed_keys() -> None:
    data = _csv_shap()
    data["predictor"]["contnet_type"] = "text/csv"
    assert _only_problem(data) == (
        "predictor.contnet_type: unknown key (allowed: accelerator_type, accept_type, content_template, "
        "content_type, custom_attributes, endpoint_name, endpoint_name_prefix, initial_instance_count, "
        "instance_type, label, label_headers, model_name, probability, record_template, target_model, "
        "time_series_predictor_config)"
    )


def test_unknown_key_inside_list_item_and_deep_object() -> None:
    data = _csv_bias(facet=[{"name_or_index": "sex", "values": [1]}])
    assert _only_problem(data) == "facet[0].values: unknown key (allowed: name_or_index, value_or_threshold)"
    data = _csv_shap({"text_config": {"granularity": "token", "language": "en", "tokens": 3}})
    assert _only_problem(data) == (
        "methods.shap.text_config.tokens: unknown key (allowed: granularity, language, max_top_tokens)"
    )


def test_schema_error_message_of_parse_config() -> None:
    data = _csv_shap({"num_samples": "abc"})
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert (
        str(info.value) == f"{SCHEMA_HEADER}\nmethods.shap.num_samples: expected an integer, got string 'abc'"
    )


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"headers": "risk,sex"}, "headers: expected a list, got string 'risk,sex'"),
        ({"headers": ["risk", 2]}, "headers[1]: expected a string, got integer 2"),
        ({"label": 1.5}, "label: expected a string or an integer, got number 1.5"),
        ({"label": True}, "label: expected a string or an integer, got boolean true"),
        ({"label": None}, "label: expected a value, got null (omit the key instead)"),
        ({"probability_threshold": "0.5"}, "probability_threshold: expected a number, got string '0.5'"),
        ({"probability_threshold": False}, "probability_threshold: expected a number, got boolean false"),
        ({"facet": {"name_or_index": "sex"}}, "facet: expected a list, got an object"),
        ({"facet": [{"value_or_threshold": [1]}]}, "facet[0].name_or_index: field required"),
        ({"facet": ["sex"]}, "facet[0]: expected an object, got string 'sex'"),
        ({"label_values_or_threshold": 1}, "label_values_or_threshold: expected a list, got integer 1"),
        (
            {"label_values_or_threshold": [[1]]},
            "label_values_or_threshold[0]: expected a string, a number or a boolean, got a list",
        ),
        ({"methods": "all"}, "methods: expected an object, got string 'all'"),
        (
            {"methods": {"pre_training_bias": {"methods": 3}}},
            'methods.pre_training_bias.methods: expected "all" or a list of metric names (strings), '
            "got integer 3",
        ),
        ({"methods": {"pre_training_bias": {}}}, "methods.pre_training_bias.methods: field required"),
    ],
)
def test_wrong_types_name_path_and_expected(patch: dict[str, Any], message: str) -> None:
    assert _only_problem(_csv_bias(**patch)) == message


def test_required_top_level_keys() -> None:
    assert (
        config_problems({"methods": {"pre_training_bias": {"methods": "all"}}})[0]
        == "dataset_type: field required"
    )
    assert config_problems({"dataset_type": "text/csv"}) == ["methods: field required"]


@pytest.mark.parametrize(
    ("shap", "message"),
    [
        ({"num_samples": "5"}, "methods.shap.num_samples: expected an integer, got string '5'"),
        ({"num_samples": True}, "methods.shap.num_samples: expected an integer, got boolean true"),
        ({"num_samples": 5.0}, "methods.shap.num_samples: expected an integer, got number 5.0"),
        ({"seed": "1"}, "methods.shap.seed: expected an integer, got string '1'"),
        ({"use_logit": 1}, "methods.shap.use_logit: expected a boolean (true or false), got integer 1"),
        (
            {"save_local_shap_values": "true"},
            "methods.shap.save_local_shap_values: expected a boolean (true or false), got string 'true'",
        ),
        (
            {"features_to_explain": [True]},
            "methods.shap.features_to_explain[0]: expected a string or an integer, got boolean true",
        ),
        (
            {"baseline": 3},
            "methods.shap.baseline: expected a URI string, a list of rows or an object, got integer 3",
        ),
    ],
)
def test_strict_types(shap: dict[str, Any], message: str) -> None:
    assert _only_problem(_csv_shap(shap)) == message


def test_strict_types_accept_the_right_values() -> None:
    cfg = parse_config(
        _csv_shap(
            {
                "num_samples": 5,
                "use_logit": True,
                "features_to_explain": ["age", 1],
                "baseline": [[1, "a", None, 2.5]],
            },
            probability_threshold=1,
        )
    )
    assert cfg.methods.shap.num_samples == 5
    assert cfg.methods.shap.use_logit is True
    assert cfg.methods.shap.features_to_explain == ["age", 1]
    assert cfg.probability_threshold == 1.0 and isinstance(cfg.probability_threshold, float)
    assert parse_config(_csv_bias(label=0, facet=[{"name_or_index": 2}])).facet[0].name_or_index == 2
    # Every baseline form of the schema: URI, CSV rows, JSON Lines rows, any object.
    for baseline in ("s3://bucket/baseline.csv", [[0, 1]], [{"features": [0, 1]}], {"instances": [[0, 1]]}):
        assert parse_config(_csv_shap({"baseline": baseline})).methods.shap.baseline == baseline


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _csv_bias(dataset_type="text/xml"),
            "dataset_type: expected one of 'text/csv', 'application/jsonlines', 'application/json', "
            "'application/sagemakercapturejson', 'application/x-parquet', 'application/x-image', "
            "got string 'text/xml'",
        ),
        (
            _csv_shap({"agg_method": "mean"}),
            "methods.shap.agg_method: expected one of 'mean_abs', 'median', 'mean_sq', got string 'mean'",
        ),
        (
            _csv_shap(predictor={"endpoint_name": "e", "accept_type": "image/png"}),
            "predictor.accept_type: expected one of 'text/csv', 'application/jsonlines', 'application/json', "
            "got string 'image/png'",
        ),
        (
            _csv_shap(predictor={"endpoint_name": "e", "content_type": "application/x-parquet"}),
            "predictor.content_type: expected one of 'text/csv', 'application/jsonlines', "
            "'application/json', "
            "'image/jpeg', 'image/png', 'application/x-npy', got string 'application/x-parquet'",
        ),
        (
            _csv_shap({"text_config": {"granularity": "word", "language": "en"}}),
            "methods.shap.text_config.granularity: expected one of 'token', 'sentence', 'paragraph', "
            "got string 'word'",
        ),
        (
            _csv_shap({"image_config": {"model_type": "SEGMENTATION"}}),
            "methods.shap.image_config.model_type: expected one of 'IMAGE_CLASSIFICATION', "
            "'OBJECT_DETECTION', "
            "got string 'SEGMENTATION'",
        ),
    ],
)
def test_wrong_enum_values(data: dict[str, Any], message: str) -> None:
    assert _only_problem(data) == message


def test_unknown_language_message_is_short() -> None:
    problem = _only_problem(_csv_shap({"text_config": {"granularity": "token", "language": "klingon"}}))
    assert problem.startswith("methods.shap.text_config.language: expected one of 'chinese', 'zh',")
    assert problem.endswith("... (see the documentation), got string 'klingon'")


def test_strings_are_lower_cased_like_the_sdk() -> None:
    data = _csv_shap(
        {"agg_method": "Mean_SQ", "text_config": {"granularity": "Token", "language": "English"}},
        dataset_type="Text/CSV",
    )
    data["predictor"].update(content_type="TEXT/CSV", accept_type="Application/JSON")
    cfg = parse_config(data)
    assert cfg.dataset_type == "text/csv"
    assert cfg.methods.shap.agg_method == "mean_sq"
    assert cfg.methods.shap.text_config.granularity == "token"
    assert cfg.methods.shap.text_config.language == "english"
    assert cfg.predictor.content_type == "text/csv"
    assert cfg.predictor.accept_type == "application/json"
    ts = _ts_config()
    ts["dataset_type"] = "APPLICATION/JSON"
    ts["time_series_data_config"]["dataset_format"] = "Timestamp_Records"
    ts["methods"]["asymmetric_shapley_value"].update(direction="Chronological", granularity="FINE_GRAINED")
    ts["methods"]["asymmetric_shapley_value"]["baseline"]["target_time_series"] = "Mean"
    tcfg = parse_config(ts)
    asv = tcfg.methods.asymmetric_shapley_value
    assert (asv.direction, asv.granularity, asv.baseline.target_time_series) == (
        "chronological",
        "fine_grained",
        "mean",
    )
    assert tcfg.time_series_data_config.dataset_format == "timestamp_records"
    # Case is not folded where the schema does not fold it.
    assert parse_config(_csv_bias(label="Risk")).label == "Risk"


def test_image_model_type_is_matched_case_insensitively() -> None:
    cfg = parse_config(_csv_shap({"image_config": {"model_type": "object_detection"}}))
    assert cfg.methods.shap.image_config.model_type == "OBJECT_DETECTION"


def test_time_series_field_types() -> None:
    ts = _ts_config()
    ts["time_series_data_config"]["related_time_series"] = ["[].a", 1]
    assert _only_problem(ts) == (
        "time_series_data_config.related_time_series: expected a list of strings (JMESPath) or a list of "
        "integers (column indices), got a list"
    )
    ts = _ts_config()
    ts["methods"]["asymmetric_shapley_value"]["baseline"] = 0
    assert _only_problem(ts) == (
        "methods.asymmetric_shapley_value.baseline: expected a URI string or an object, got integer 0"
    )
    ts = _ts_config()
    ts["methods"]["asymmetric_shapley_value"]["baseline"]["target_time_series"] = "median"
    assert _only_problem(ts) == (
        "methods.asymmetric_shapley_value.baseline.target_time_series: expected one of 'zero', 'mean', "
        "got string 'median'"
    )
    ts = _ts_config()
    ts["methods"]["asymmetric_shapley_value"]["baseline"] = "s3://bucket/baseline.json"
    assert parse_config(ts).methods.asymmetric_shapley_value.baseline == "s3://bucket/baseline.json"


def test_three_planted_mistakes_give_three_problems() -> None:
    data = _csv_shap({"num_samples": "many"})
    del data["predictor"]
    data["lable"] = "risk"
    assert config_problems(data) == [
        "methods.shap.num_samples: expected an integer, got string 'many'",
        "lable: unknown key (allowed: dataset_type, dataset_uri, excluded_columns, facet, facet_dataset_uri, "
        "facet_headers, features, group_variable, headers, joinsource_name_or_index, label, "
        "label_values_or_threshold, methods, predicted_label, predicted_label_dataset_uri, "
        "predicted_label_headers, predictor, probability_threshold, segment_config, time_series_data_config, "
        "version)",
        "predictor: required by methods.shap (the model must be called)",
    ]
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert str(info.value).split("\n") == [SCHEMA_HEADER, *config_problems(data)]


def test_schema_errors_do_not_cause_follow_up_problems() -> None:
    # A bad label must not also be reported as "label: required"; a bad endpoint_name must not
    # also be reported as a missing endpoint; a bad facet item must not also give "facet: required".
    data = _csv_bias(label=[1], facet=[{"name_or_index": 1.5}])
    data["methods"]["post_training_bias"] = {"methods": "all"}
    data["predictor"] = {"endpoint_name": 7}
    assert config_problems(data) == [
        "label: expected a string or an integer, got a list",
        "facet[0].name_or_index: expected a string or an integer, got number 1.5",
        "predictor.endpoint_name: expected a string, got integer 7",
    ]
    # A wrong type in a required key is reported once (not also as "field required").
    data = _csv_shap({"text_config": {"granularity": 1, "language": "en"}})
    assert config_problems(data) == [
        "methods.shap.text_config.granularity: expected one of 'token', 'sentence', 'paragraph', got "
        "integer 1"
    ]


# ------------------------------------------------------------------------- semantic level


def _semantic(data: dict[str, Any]) -> list[str]:
    problems = config_problems(data)
    if problems:
        with pytest.raises(ConfigError) as info:
            parse_config(data)
        assert str(info.value).split("\n")[0] == "Analysis configuration validation error."
    return problems


def test_version() -> None:
    assert parse_config(_csv_bias(version="1.0")).version == "1.0"
    assert _semantic(_csv_bias(version="2.0")) == [
        "version: unsupported version '2.0'; the only supported version is \"1.0\""
    ]


def test_at_least_one_method() -> None:
    data = _csv_bias(methods={"report": {"name": "report"}})
    assert _semantic(data) == [
        "methods: analysis_config must have at least one working method: one of pre_training_bias, "
        "post_training_bias, shap, pdp, asymmetric_shapley_value (report alone is not an analysis)"
    ]


def test_bias_needs_label_values_and_facet() -> None:
    data = _csv_bias()
    for key in ("label", "label_values_or_threshold", "facet"):
        del data[key]
    assert _semantic(data) == [
        "label: required by methods.pre_training_bias (the ground-truth label column)",
        "label_values_or_threshold: required by methods.pre_training_bias: "
        "Positive label values or thresholds are empty for Label column",
        "facet: required by methods.pre_training_bias: Please provide at least one facet",
    ]
    assert _semantic(_csv_bias(facet=[], label_values_or_threshold=[])) == [
        "label_values_or_threshold: required by methods.pre_training_bias: "
        "Positive label values or thresholds are empty for Label column",
        "facet: required by methods.pre_training_bias: Please provide at least one facet",
    ]


def test_metric_names() -> None:
    data = _csv_bias(methods={"pre_training_bias": {"methods": ["CI", "dpl", "DPPL"]}})
    assert _semantic(data) == [
        "methods.pre_training_bias.methods: unknown pre-training bias metric 'DPPL' "
        "(allowed: all, CDDL, CI, DPL, JS, KL, KS, LP, TVD)"
    ]
    data = _csv_bias(
        methods={"post_training_bias": {"methods": ["CI"]}},
        predicted_label="pred",
        headers=["risk", "sex", "pred"],
    )
    assert _semantic(data) == [
        "methods.post_training_bias.methods: unknown post-training bias metric 'CI' "
        "(allowed: all, AD, CDDPL, DAR, DCA, DCR, DI, DPPL, DRR, FT, GE, RD, SD, TE)"
    ]
    assert _semantic(_csv_bias(methods={"pre_training_bias": {"methods": []}})) == [
        'methods.pre_training_bias.methods: name at least one metric, or "all"'
    ]


def test_metric_name_resolution() -> None:
    pre = parse_config(_csv_bias(methods={"pre_training_bias": {"methods": ["kl", "CI", "KL"]}}))
    assert pre.methods.pre_training_bias.metric_names("pre_training") == ["CI", "KL"]
    everything = parse_config(_csv_bias(methods={"pre_training_bias": {"methods": "ALL"}}))
    assert everything.methods.pre_training_bias.metric_names("pre_training") == [
        "CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"
    ]  # fmt: skip
    post = parse_config(
        _csv_bias(
            methods={"post_training_bias": {"methods": "all"}},
            predicted_label="p",
            headers=["risk", "sex", "p"],
        )
    )
    names = post.methods.post_training_bias.metric_names("post_training")
    assert "SD" not in names and "GE" not in names and names == sorted(names) and len(names) == 11
    single = parse_config(_csv_bias(methods={"pre_training_bias": {"methods": "CI, dpl"}}))
    assert single.methods.pre_training_bias.metric_names("pre_training") == ["CI", "DPL"]


def test_predictor_required() -> None:
    data = _csv_bias(methods={"post_training_bias": {"methods": "all"}, "pdp": {"features": ["age"]}})
    assert _semantic(data) == [
        "predictor: required by methods.post_training_bias, methods.pdp (the model must be called); for "
        "methods.post_training_bias, predicted_label or predicted_label_dataset_uri can be given instead"
    ]
    # Post-training bias with predicted labels in the data needs no predictor.
    assert _semantic(_csv_bias(methods={"post_training_bias": {"methods": "all"}}, predicted_label="p")) == []
    data = _csv_bias(
        methods={"post_training_bias": {"methods": "all"}},
        predicted_label_dataset_uri="s3://b/preds.csv",
    )
    assert _semantic(data) == []


def test_features_jmespath_required_for_json_formats() -> None:
    for dataset_type in ("application/jsonlines", "application/json"):
        data = _csv_bias(dataset_type=dataset_type, label="Label")
        assert _semantic(data) == [f"features: features JMESPath is required for {dataset_type} dataset_type"]
        assert _semantic({**data, "features": "Features"}) == []


def test_content_template_rules() -> None:
    data = {
        "dataset_type": "application/jsonlines",
        "features": "features",
        "methods": {"shap": {}},
        "predictor": {"endpoint_name": "e"},
    }
    assert _semantic(data) == [
        "predictor.content_template: content_template field is required for content_type "
        "application/jsonlines "
        "(content_type taken from dataset_type)"
    ]
    data["predictor"]["content_template"] = '{"instances": $feature}'
    assert _semantic(data) == [
        "predictor.content_template: Invalid content_template '{\"instances\": $feature}'. "
        "Please include a placeholder $features."
    ]
    data["predictor"]["content_template"] = '{"instances": $features}'
    assert _semantic(data) == []
    # application/json: both templates, and $record or $records.
    data["predictor"]["content_type"] = "application/json"
    assert _semantic(data) == [
        "predictor.record_template: content_template and record_template are required for content_type "
        "application/json (content_type set in predictor.content_type); missing: record_template",
        "predictor.content_template: Invalid content_template '{\"instances\": $features}'. "
        "Please include either placeholder $records or $record.",
    ]
    data["predictor"].update(content_template='{"instances": $records}', record_template="$features")
    assert _semantic(data) == []
    # CSV requests need no template.
    assert _semantic(_csv_shap()) == []


def test_parquet_needs_content_type() -> None:
    data = _csv_shap(dataset_type="application/x-parquet")
    assert _semantic(data) == ["predictor.content_type: required when dataset_type is application/x-parquet"]
    data["predictor"]["content_type"] = "text/csv"
    assert _semantic(data) == []


def test_endpoint_or_model_name() -> None:
    data = _csv_shap(predictor={"probability": 0})
    assert _semantic(data) == [
        "predictor: one of endpoint_name (an existing endpoint) or model_name (with instance_type and "
        "initial_instance_count, for a shadow endpoint) is required"
    ]
    data = _csv_shap(predictor={"model_name": "m"})
    assert _semantic(data) == [
        "predictor.instance_type: required with predictor.model_name (shadow endpoint)",
        "predictor.initial_instance_count: required with predictor.model_name (shadow endpoint)",
    ]
    data = _csv_shap(
        predictor={"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 0}
    )
    assert _semantic(data) == ["predictor.initial_instance_count: must be at least 1, got 0"]
    data["predictor"]["initial_instance_count"] = 1
    assert _semantic(data) == []


def test_endpoint_name_prefix() -> None:
    ok = {"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1}
    assert _semantic(_csv_shap(predictor={**ok, "endpoint_name_prefix": "my-shadow-1"})) == []
    assert _semantic(_csv_shap(predictor={**ok, "endpoint_name_prefix": "bad_prefix"})) == [
        "predictor.endpoint_name_prefix: Invalid endpoint_name_prefix 'bad_prefix'. "
        "Please follow pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9])."
    ]
    assert _semantic(_csv_shap(predictor={**ok, "endpoint_name_prefix": "a" * 24})) == [
        "predictor.endpoint_name_prefix: must be at most 23 characters, got 24"
    ]
    assert _semantic(_csv_shap(predictor={"endpoint_name": "e", "endpoint_name_prefix": "p"})) == [
        "predictor.endpoint_name_prefix: cannot be combined with predictor.endpoint_name (it names the "
        "shadow "
        "endpoint created from model_name)"
    ]


def test_custom_attributes_limit() -> None:
    data = _csv_shap()
    data["predictor"]["custom_attributes"] = "x" * 1025
    assert _semantic(data) == [
        "predictor.custom_attributes: must be at most 1024 visible US-ASCII characters"
    ]


def test_baseline_and_num_clusters_exclusive() -> None:
    assert _semantic(_csv_shap({"baseline": [[1, 2]], "num_clusters": 2})) == [
        "methods.shap: Baseline and num_clusters cannot be provided together. Please specify one of the two."
    ]
    assert _semantic(_csv_shap({"num_samples": 0})) == [
        "methods.shap.num_samples: must be a positive integer, got 0"
    ]


def test_pdp_features_needed_without_shap() -> None:
    data = _csv_shap()
    data["methods"] = {"pdp": {"grid_resolution": 10}}
    assert _semantic(data) == [
        "methods.pdp.features: PDP features must be provided when ShapConfig is not provided "
        "(methods.shap is absent)"
    ]
    data["methods"]["shap"] = {}
    assert _semantic(data) == []
    data["methods"] = {"pdp": {"features": ["age"], "grid_resolution": 0}}
    assert _semantic(data) == ["methods.pdp.grid_resolution: must be a positive integer, got 0"]


def test_features_to_explain_excludes_label() -> None:
    assert _semantic(_csv_shap({"features_to_explain": ["age", "risk"]})) == [
        "methods.shap.features_to_explain: must not include the label 'risk'"
    ]
    by_index = _csv_shap({"features_to_explain": [2]}, label=2)
    del by_index["headers"]
    assert _semantic(by_index) == ["methods.shap.features_to_explain: must not include the label 2"]
    assert _semantic(
        _csv_shap({"features_to_explain": ["age"], "text_config": {"granularity": "token", "language": "en"}})
    ) == [
        "methods.shap.features_to_explain: `features_to_explain` is not supported for datasets containing "
        "text "
        "features or images."
    ]


def test_csv_only_keys() -> None:
    data = _csv_bias(
        dataset_type="application/jsonlines",
        features="f",
        facet_dataset_uri="s3://b/facets.csv",
        predicted_label_headers=["p"],
    )
    assert _semantic(data) == [
        "facet_dataset_uri: The parameters 'facet_dataset_uri' and 'facet_headers' are not supported for "
        "dataset_type 'application/jsonlines'. Please check the API documentation for the supported "
        "dataset types.",
        "predicted_label_headers: The parameters 'predicted_label_dataset_uri' and "
        "'predicted_label_headers' are "
        "not supported for dataset_type 'application/jsonlines'. Please check the API documentation for the "
        "supported dataset types.",
    ]
    assert _semantic(_csv_bias(facet_dataset_uri="s3://b/facets.csv", facet_headers=["sex"])) == []


def test_duplicate_headers() -> None:
    assert _semantic(_csv_bias(headers=["risk", "sex", "risk"])) == ["headers: duplicate column name 'risk'"]


def test_image_dataset_rules() -> None:
    data = {
        "dataset_type": "application/x-image",
        "excluded_columns": [1],
        "methods": {"shap": {"image_config": {"model_type": "IMAGE_CLASSIFICATION"}}},
        "predictor": {"endpoint_name": "e"},
    }
    assert _semantic(data) == [
        "excluded_columns: The parameter 'excluded_columns' is not supported for dataset_type "
        "'application/x-image'. Please check the API documentation for the supported dataset types.",
        "predictor.label_headers: required for dataset_type application/x-image (the class names)",
    ]


def test_time_series_rules() -> None:
    assert _semantic(_ts_config()) == []
    ts = _ts_config()
    ts["methods"]["pre_training_bias"] = {"methods": "all"}
    ts["methods"]["asymmetric_shapley_value"]["direction"] = "bidirectional"
    del ts["methods"]["asymmetric_shapley_value"]["num_samples"]
    ts["predictor"]["accept_type"] = "text/csv"
    del ts["predictor"]["time_series_predictor_config"]
    ts["time_series_data_config"]["item_id"] = 0
    ts["methods"]["asymmetric_shapley_value"]["baseline"]["static_covariates"]["item1"] = [0]
    assert _semantic(ts) == [
        "methods.pre_training_bias: Bias metrics are unsupported for time series.",
        "time_series_data_config.item_id: must be strings (JMESPath) like target_time_series",
        "predictor.time_series_predictor_config: required for time series explainability: Please provide a "
        "string "
        "JMESPath expression for ``forecast`` to extract the forecast result.",
        "predictor.accept_type: ``accept_type`` must be JSON or JSONLines for time series explainability.",
        "methods.asymmetric_shapley_value: bidirectional and fine_grained granularity are not supported "
        "together.",
        "methods.asymmetric_shapley_value.num_samples: required for fine_grained granularity: Please "
        "provide an "
        "integer for ``num_samples``.",
        "methods.asymmetric_shapley_value.baseline.static_covariates: Length of baseline entry for item1 "
        "does not "
        "match number of static covariate columns (1 != 2)",
    ]


def test_time_series_needs_json_and_asymmetric_shapley() -> None:
    ts = _ts_config()
    ts["dataset_type"] = "text/csv"
    ts["methods"] = {"shap": {}}
    ts["time_series_data_config"].pop("dataset_format")
    assert _semantic(ts) == [
        "time_series_data_config: Currently time series explainability only supports JSON format data. "
        "(dataset_type is text/csv)",
        "methods.asymmetric_shapley_value: required for time series explainability "
        "(time_series_data_config is set)",
        "methods.shap: not available for time series; use methods.asymmetric_shapley_value",
        "time_series_data_config.dataset_format: required when the fields are JMESPath strings "
        "(columns, item_records or timestamp_records)",
    ]
    ts = _ts_config()
    del ts["time_series_data_config"]
    assert (
        "methods.asymmetric_shapley_value: Please do not provide Asymmetric Shapley Value configs for "
        "non-TimeSeries uses. (time_series_data_config is missing)" in _semantic(ts)
    )
    ts = _ts_config()
    ts["methods"]["asymmetric_shapley_value"].update(granularity="timewise")
    assert _semantic(ts) == [
        "methods.asymmetric_shapley_value.num_samples: ``num_samples`` is only used for fine-grained "
        "explanations."
    ]


def test_segment_config_display_aliases() -> None:
    seg = {"name_or_index": "age", "segments": [["[1, 30]"], ["(30, 50]"]], "display_aliases": ["young"]}
    assert _semantic(_csv_bias(segment_config=[seg])) == [
        "segment_config[0].display_aliases: Number of `display_aliases` must equal the number of segments "
        "specified or with one additional default segment display alias (1 given, 2 segments)"
    ]
    seg["display_aliases"] = ["young", "mid", "old"]
    assert _semantic(_csv_bias(segment_config=[seg])) == []


# ------------------------------------------------------------------------------- helpers


def test_absent_keys_are_none_and_no_default_is_injected() -> None:
    """The config keeps absent keys as None; the plan applies the defaults (tests/test_plan.py)."""
    data = _csv_shap({}, methods={"shap": {}, "pdp": {}, "report": {}})
    cfg = parse_config(data)
    assert cfg.probability_threshold is None
    assert cfg.methods.pdp.grid_resolution is None and cfg.methods.pdp.top_k_features is None
    assert cfg.methods.report.name is None and cfg.methods.report.title is None
    shap = cfg.methods.shap
    assert shap.num_samples is None and shap.agg_method is None
    assert shap.use_logit is None and shap.save_local_shap_values is None
    assert cfg.to_dict() == data
    assert not [name for name in dir(cfg) if name.startswith("effective_")]


@pytest.mark.parametrize(
    ("dataset_type", "content_type", "accept_type", "expected"),
    [
        ("text/csv", None, None, ("text/csv", "text/csv")),
        ("application/jsonlines", None, None, ("application/jsonlines", "application/jsonlines")),
        ("application/json", None, "text/csv", ("application/json", "text/csv")),
        ("application/x-parquet", "text/csv", None, ("text/csv", "text/csv")),
        ("application/x-parquet", None, None, (None, None)),
        ("application/x-image", None, None, ("image/jpeg", "application/json")),
        (
            "text/csv",
            "application/jsonlines",
            "application/json",
            ("application/jsonlines", "application/json"),
        ),
    ],
)
def test_request_and_response_types_default_from_the_dataset_type(
    dataset_type: str,
    content_type: str | None,
    accept_type: str | None,
    expected: tuple[str | None, str | None],
) -> None:
    from analyzer.plan.defaults import request_content_type, response_accept_type

    request = request_content_type(content_type, dataset_type)
    assert (request, response_accept_type(accept_type, request)) == expected


def test_needs_predictor_and_requested_methods() -> None:
    cfg = parse_config(_csv_shap(methods={"shap": {}, "pdp": {}, "report": {"name": "report"}}))
    assert cfg.methods.requested() == ["shap", "pdp"]
    assert cfg.needs_predictor() == ["methods.shap", "methods.pdp"]
    assert parse_config(_csv_bias()).needs_predictor() == []


def test_parse_config_does_not_modify_its_input() -> None:
    data = _csv_shap({"num_samples": "x"}, dataset_type="Text/CSV")
    before = copy.deepcopy(data)
    config_problems(data)
    with pytest.raises(ConfigError):
        parse_config(data)
    assert data == before


# --------------------------------------------------------------------------------- fuzzing

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(-2, 2)
    | st.sampled_from(["", "all", "x", "text/csv"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "name_or_index"]), inner, max_size=2)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_config_problems_never_raises_and_agrees_with_parse_config(data: st.DataObject) -> None:
    example = data.draw(st.sampled_from(EXAMPLE_FILES), label="example")
    doc = json.loads(example.read_bytes())
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = data.draw(_JSON, label="value")
    problems = config_problems(doc)
    assert all(isinstance(p, str) and p for p in problems)
    if problems:
        with pytest.raises(ConfigError) as info:
            parse_config(doc)
        assert str(info.value).split("\n")[1:] == problems
    else:
        assert parse_config(doc).to_dict() == AnalysisConfig.model_validate(doc).to_dict()
