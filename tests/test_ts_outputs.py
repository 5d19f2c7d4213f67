"""Time-series outputs (analysis section, out.jsonl), the baseline URI form and the report section."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from analyzer.config import parse_config
from analyzer.errors import ConfigError
from analyzer.explain.asv_outputs import asv_section, item_line
from analyzer.explain.asymmetric_shapley import AsvResult, AttributionEntry, ItemAttribution
from analyzer.output_time_series import write_asv_outputs
from analyzer.plan.time_series import TimeSeriesJob
from analyzer.report.document import build_document
from analyzer.report.html_render import render_html
from analyzer.report.time_series import time_series_blocks
from analyzer.time_series import asv_spec, plan_for
from tests.conftest import CLARIFY_EXAMPLES

DOCS_TS_CONFIG = (
    CLARIFY_EXAMPLES / "analysis_config" / "docs" / "docs_time_series_asymmetric_shapley_value.json"
)


def result(n_items: int = 2) -> AsvResult:
    items = []
    for k in range(n_items):
        entries = (
            AttributionEntry("y", "2024-01-01", np.array([1.0, -2.0])),
            AttributionEntry("y", "2024-01-02", np.array([0.5, 0.25])),
            AttributionEntry("r", "2024-01-01", np.array([0.0, 0.0])),
            AttributionEntry("s", None, np.array([3.0, 1.0])),
        )
        offset = np.array([10.0, 20.0]) + k
        items.append(ItemAttribution(f"item{k}", entries, offset, offset + sum(e.scores for e in entries)))
    return AsvResult("chronological", "fine_grained", tuple(items), model_calls=12)


def test_section_points_at_the_results_file(tmp_path: Path) -> None:
    res = result()
    assert asv_section(res, "s3://bucket/prefix/") == {
        "direction": "chronological",
        "granularity": "fine_grained",
        "explanation_results_path": "s3://bucket/prefix/asymmetric_shapley_value/fine_grained_chronological/out.jsonl",
    }
    local = asv_section(res, tmp_path)["explanation_results_path"]
    assert local == str(tmp_path / "asymmetric_shapley_value" / "fine_grained_chronological" / "out.jsonl")


def test_out_jsonl_lines(tmp_path: Path) -> None:
    path = write_asv_outputs(tmp_path, result())
    assert path == tmp_path / "asymmetric_shapley_value" / "fine_grained_chronological" / "out.jsonl"
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 2
    first = json.loads(text.splitlines()[0])
    assert first == item_line(result().items[0])
    assert list(first) == ["explanations", "item_id", "offset"]
    assert first["explanations"][0] == {"feature_name": "y", "scores": [1.0, -2.0], "timestamp": "2024-01-01"}
    assert first["explanations"][-1] == {"feature_name": "s", "scores": [3.0, 1.0]}
    assert not list(tmp_path.rglob(".*.tmp"))  # written atomically, no temporary file left


def test_out_jsonl_log_line_names_the_final_location(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Written into a staging folder, the file is logged where it ends up (Clarify's line)."""
    relative = "asymmetric_shapley_value/fine_grained_chronological/out.jsonl"
    with caplog.at_level(logging.INFO, logger="analyzer.output_time_series"):
        path = write_asv_outputs(tmp_path / "staging", result(), shown_location="s3://bucket/out/")
        assert caplog.messages == [f"Wrote 2 lines to s3://bucket/out/{relative}"]
        assert path == tmp_path / "staging" / relative and path.is_file()
        caplog.clear()
        path = write_asv_outputs(tmp_path, result())
        assert caplog.messages == [f"Wrote 2 lines to {tmp_path / relative}"]


def test_baseline_uri_is_read_while_planning(tmp_path: Path) -> None:
    doc = json.loads(DOCS_TS_CONFIG.read_text())
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"target_time_series": "mean", "static_covariates": {"item1": [1, 2]}}))
    doc["methods"]["asymmetric_shapley_value"]["baseline"] = str(baseline)
    job = plan_for(parse_config(doc), tmp_path / "data.json").job(TimeSeriesJob)
    assert job is not None
    spec = asv_spec(job)
    assert (spec.target_baseline, spec.related_baseline, spec.static_baseline, spec.seed) == (
        "mean",
        "zero",
        {"item1": (1, 2)},
        0,
    )
    baseline.write_text(json.dumps({"target_time_series": "median"}))
    with pytest.raises(
        ConfigError, match=r"baseline \('.*'\)\.target_time_series: expected one of 'zero', 'mean'"
    ):
        plan_for(parse_config(doc), tmp_path / "data.json")
    baseline.write_text("[1, 2")
    with pytest.raises(ConfigError, match="is not a JSON object"):
        plan_for(parse_config(doc), tmp_path / "data.json")
    baseline.write_text(json.dumps({"static_covariates": {"item1": [1]}}))
    with pytest.raises(ConfigError, match="Length of baseline entry for item1 does not match"):
        plan_for(parse_config(doc), tmp_path / "data.json")


def test_report_section_has_a_chart_and_table_per_item() -> None:
    blocks = time_series_blocks(result(3), max_items=2)
    kinds = [b.kind for b in blocks]
    assert kinds.count("chart") == 2 and kinds.count("table") == 2
    assert blocks[-1].text == "1 more item(s) are in out.jsonl."
    table = next(b for b in blocks if b.kind == "table")
    assert table.rows[0] == ["s", "", "4"]  # largest contribution first; static has no timestamp
    analysis = {
        "version": "1.0",
        "explanations": {"asymmetric_shapley_value": asv_section(result(), "s3://b/p")},
    }
    doc = build_document(
        analysis, title="TS", summary=None, local_shap=None, baseline=None, tolerance=0.1, sections=blocks
    )
    html = render_html(doc, subtitle="", tolerance=0.1)
    assert "Time-series explanations (asymmetric Shapley values)" in html
    assert html.count("<svg") == 2 and "Attributions for item item0" in html


def test_time_series_jobs_preload_their_modules() -> None:
    """While the endpoint starts, a time-series job imports the estimator (and the report's section)."""
    import importlib.util

    from analyzer.preload import REPORT_MODULES, modules_for

    doc = json.loads(DOCS_TS_CONFIG.read_text())
    assert modules_for(parse_config(doc)) == [
        "analyzer.time_series",
        *REPORT_MODULES,
        "analyzer.report.time_series",
    ]
    del doc["methods"]["report"]
    modules = modules_for(parse_config(doc))
    assert modules == ["analyzer.time_series"]
    assert all(importlib.util.find_spec(name) is not None for name in modules)
