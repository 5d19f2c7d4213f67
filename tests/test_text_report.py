"""The report's text section: top tokens and one record with its units coloured by SHAP value."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from analyzer.explain.text import TextShapSpec, explain_text, text_shap_section
from analyzer.output import write_analysis
from analyzer.report import write_reports
from analyzer.report.text_section import first_text_record, text_units, units_html
from analyzer.text_output import write_text_outputs
from tests.test_text_shap import toy_model

NAMES = ["votes", "review"]


def test_units_html_colours_escapes_and_spaces() -> None:
    markup = units_html([(0, "good", 0.5), (5, "<b>", -0.25), (8, "!", 0.0)])
    spans = re.findall(
        r'<span title="([^"]+)" style="background: rgba\((\d+), (\d+), (\d+), ([\d.]+)\)', markup
    )
    assert [(t, r) for t, r, *_ in spans] == [("0.5", "213"), ("-0.25", "76"), ("0", "213")]
    assert [float(a) for *_, a in spans] == [0.8, 0.44, 0.08]  # stronger for larger values
    assert "&lt;b&gt;" in markup and "<b>" not in markup
    assert markup.count("</span> <span") == 1  # a gap only between "good" and "<b>"


def test_first_text_record_skips_records_without_units(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    empty = {"explanations": [{"attributions": [], "data_type": "free_text", "feature_name": "review"}]}
    full = {
        "explanations": [
            {
                "attributions": [{"attribution": [0.1, -0.1]}],
                "data_type": "numerical",
                "feature_name": "votes",
            },
            {
                "attributions": [
                    {"attribution": [0.3, -0.3], "description": {"partial_text": "ok", "start_idx": 2}}
                ],
                "data_type": "free_text",
                "feature_name": "review",
            },
        ]
    }
    path.write_text(json.dumps(empty) + "\n" + json.dumps(full) + "\n")
    number, doc = first_text_record(path)
    assert number == 1 and text_units(doc, 1) == [("review", [(2, "ok", -0.3)])]


@pytest.mark.slow
def test_report_has_the_text_section(tmp_path: Path) -> None:
    records = np.array(
        [[0.0, "   "], [2.0, "Good fit <really>. Not good at all! Returned it."], [1.0, "Great."]],
        dtype=object,
    )
    baseline = pd.DataFrame([[0.0, "[MASK]"]], columns=NAMES)
    result = explain_text(records, baseline.to_numpy(object), toy_model, TextShapSpec("sentence", "en", (1,)))
    section = text_shap_section(result, NAMES, "mean_abs", 5, label_headers=["p", "score"])
    analysis = {"version": "1.0", "explanations": {"kernel_shap": section}}
    write_analysis(tmp_path, analysis)
    paths = write_text_outputs(tmp_path, result, NAMES, ["numerical", "free_text"], baseline)
    files = write_reports(analysis, tmp_path, local_shap_jsonl=paths[1])
    assert sorted(p.name for p in files) == ["report.html", "report.ipynb", "report.pdf"]
    page = (tmp_path / "report.html").read_text()
    assert 'id="text"' in page and "One record explained (record 2)" in page
    assert "p, text feature review: top tokens" in page and "score, text feature review: top tokens" in page
    # the record's three sentences, coloured, for each of the two outputs
    assert page.count('<div class="text-units">') == 2
    assert page.count("Good fit &lt;really&gt;.</span>") == 2 and "<really>" not in page
    values = result.records[1].text_values[0][:, 0]
    for value in values:
        assert f'title="{value:.4g}"' in page
    notebook = nbformat.reads((tmp_path / "report.ipynb").read_text(), as_version=4)
    nbformat.validate(notebook)
    assert any("text-units" not in c.source and "rgba(" in c.source for c in notebook.cells)
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_unreadable_out_jsonl_is_named_in_the_report(tmp_path: Path) -> None:
    bad = tmp_path / "out.jsonl"
    bad.write_text("{not json\n")
    analysis = {
        "version": "1.0",
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.1}}}},
    }
    write_analysis(tmp_path, analysis)
    write_reports(analysis, tmp_path, local_shap_jsonl=bad)
    page = (tmp_path / "report.html").read_text()
    assert "No text record is shown" in page and "Text explanations" not in page
