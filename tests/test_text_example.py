"""The text_reviews example end to end: train, serve, explain over HTTP, write every output."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "text_reviews"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"text_reviews_{name}", EXAMPLE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_data_is_the_shipped_file(tmp_path: Path) -> None:
    make = _module("make_reviews")
    make.make_reviews(600, 17).to_csv(tmp_path / "reviews.csv", index=False)
    assert (tmp_path / "reviews.csv").read_bytes() == (EXAMPLE / "reviews.csv").read_bytes()


@pytest.mark.slow
def test_example_end_to_end(tmp_path: Path) -> None:
    _module("train_model").train(EXAMPLE / "reviews.csv", tmp_path / "model")
    written = _module("explain_reviews").run(
        EXAMPLE / "analysis_config.json",
        EXAMPLE / "reviews.csv",
        tmp_path / "model",
        tmp_path / "out",
        records=6,
    )
    names = sorted(p.relative_to(tmp_path / "out").as_posix() for p in written)
    assert names == [
        "analysis.json",
        "explanations_shap/baseline.csv",
        "explanations_shap/out.jsonl",
        "report.html",
        "report.ipynb",
        "report.pdf",
    ]
    lines = [
        json.loads(x) for x in (tmp_path / "out" / "explanations_shap" / "out.jsonl").read_text().splitlines()
    ]
    assert len(lines) == 6
    for line in lines:
        review, votes = line["explanations"]
        assert (review["feature_name"], review["data_type"]) == ("review", "free_text")
        assert (votes["feature_name"], votes["data_type"]) == ("helpful_votes", "numerical")
        assert len(review["attributions"]) >= 20 and len(votes["attributions"]) == 1
    section = json.loads((tmp_path / "out" / "analysis.json").read_text())["explanations"]["kernel_shap"]
    top = section["label0"]["global_top_shap_text"]["review"]
    assert 0 < len(top) <= 25
    assert list(section["label0"]["global_shap_values"]) == ["review", "helpful_votes"]
    assert "Text explanations" in (tmp_path / "out" / "report.html").read_text()
