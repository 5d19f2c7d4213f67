"""Reports: notebook/HTML/PDF written from one content source, on real and German-credit-like analyses."""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from _report_helpers import (
    FACETS,
    FEATURES,
    german_credit_analysis,
    german_credit_summary,
    write_baseline,
    write_local_shap,
)
from pypdf import PdfReader

from analyzer.report import write_reports

EXAMPLES = Path(__file__).parent / "fixtures" / "clarify_examples" / "analysis_json"
BIAS_ONLY = EXAMPLES / "real_fraud_detection__bias_1__pre_and_post__no_group_variable__analysis.json"
SHAP_ONLY = EXAMPLES / "real_adult_xgboost__kernel_shap__from_container_log__analysis.json"
MODEL_CARD = (
    EXAMPLES / "sdk_test_fixture__model_card__kernel_shap_global_top_shap_text_and_pdp__analysis.json"
)
SMALL_SHAP = EXAMPLES / "docs_fragment__run_page__kernel_shap.json"
SMALL_BIAS = EXAMPLES / "docs_fragment__run_page__post_training_bias_metrics_TRUNCATED.json"
FAIR = {"DI": 1.0}


def _write(analysis: dict, out: Path, **kw) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "analysis.json").write_text(json.dumps(analysis, indent=4))
    return write_reports(analysis, out, **kw)


@pytest.fixture(scope="module")
def gc_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The German-credit-like report, written once for the module."""
    out = tmp_path_factory.mktemp("gc")
    data = Path(__file__).resolve().parents[1] / "examples" / "german_credit" / "german_credit.csv"
    local = write_local_shap(out / "explanations_shap" / "out.csv", data)
    baseline = write_baseline(out / "baseline.csv", data)
    analysis = german_credit_analysis()
    files = _write(
        analysis,
        out,
        title="German credit report",
        summary=german_credit_summary(),
        local_shap_csv=local,
        baseline_csv=baseline,
    )
    return {"out": out, "files": files, "analysis": analysis}


@pytest.fixture(scope="module")
def fixture_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Reports for the real analysis.json fixtures: bias-only, SHAP-only, model card with PDP."""
    reports = {}
    for key, path in (
        ("bias", BIAS_ONLY),
        ("shap", SHAP_ONLY),
        ("card", MODEL_CARD),
        ("small", SMALL_SHAP),
        ("small_bias", SMALL_BIAS),
    ):
        analysis = json.loads(path.read_text())
        out = tmp_path_factory.mktemp(key)
        reports[key] = {"out": out, "analysis": analysis, "files": _write(analysis, out, name="myreport")}
    return reports


class _Refs(HTMLParser):
    """Collects every attribute value that could load something, and all <style> text."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "data", "poster", "srcset", "action", "background"):
                self.refs.append((tag, name, value or ""))
            if name == "style" and value:
                self.style += value

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data


def _metric_values(analysis: dict) -> list[tuple[str, float | None]]:
    out = []
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for entries in analysis.get(stage, {}).get("facets", {}).values():
            for entry in entries:
                for m in entry["metrics"]:
                    v = m["value"]
                    v = {"Infinity": float("inf"), "-Infinity": float("-inf")}.get(v, v)
                    out.append((m["name"], v))
    return out


def test_writes_three_formats_atomically(gc_report: dict, fixture_reports: dict) -> None:
    out = gc_report["out"]
    assert [p.name for p in gc_report["files"]] == ["report.ipynb", "report.html", "report.pdf"]
    assert all(p.stat().st_size > 1000 for p in gc_report["files"])
    for rep in fixture_reports.values():
        assert sorted(p.name for p in rep["files"]) == ["myreport.html", "myreport.ipynb", "myreport.pdf"]
        assert all(p.stat().st_mode & 0o777 == 0o644 for p in rep["files"])
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_notebook_is_valid_and_reloads_analysis_json(gc_report: dict, fixture_reports: dict) -> None:
    for path in [gc_report["out"] / "report.ipynb"] + [
        r["out"] / "myreport.ipynb" for r in fixture_reports.values()
    ]:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "load_analysis(ANALYSIS_PATH)" in code and "ANALYSIS_PATH = 'analysis.json'" in code
    nb = nbformat.read(gc_report["out"] / "report.ipynb", as_version=4)
    svgs = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/svg+xml" in o.get("data", {})
    ]
    assert len(svgs) == 2 + 1 + 2 + 1  # facet charts, SHAP, PDPs, local SHAP
    tables = [
        o["data"]["text/html"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/html" in o.get("data", {})
    ]
    assert any("Disparate Impact (DI)" in t for t in tables)


def test_html_has_no_external_references(gc_report: dict, fixture_reports: dict) -> None:
    paths = [gc_report["out"] / "report.html"] + [
        r["out"] / "myreport.html" for r in fixture_reports.values()
    ]
    for path in paths:
        text = path.read_text()
        parser = _Refs()
        parser.feed(text)
        assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
        assert "iframe" not in parser.tags and "object" not in parser.tags
        for tag, attr, value in parser.refs:  # in-page anchors, or a rasterized chart layer inline
            assert value.startswith(("#", "data:image/png;base64,")), (path.name, tag, attr, value[:80])
        assert "@import" not in parser.style and "@font-face" not in parser.style
        for url in re.findall(r"url\(([^)]*)\)", parser.style + text):
            assert url.strip("'\" ").startswith("#"), url
        assert "<!DOCTYPE svg" not in text and "<?xml" not in text
    html = (gc_report["out"] / "report.html").read_text()
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids collide between inline charts"


def test_html_content(gc_report: dict) -> None:
    html = (gc_report["out"] / "report.html").read_text()
    analysis = gc_report["analysis"]
    for facet, value in FACETS.items():
        assert f"{facet} = {value}" in html or f"{facet} in {value}" in html
    for feature in FEATURES:
        assert feature in html
    assert "Disparate Impact (DI)" in html and "Kullback-Leibler Divergence (KL)" in html
    assert "7.5 percentage points less often" in html  # DPL 0.0748 for sex = female
    assert "Group variable is empty or not provided" in html
    assert "1 min 23 s" in html and "http://127.0.0.1:8080" in html
    # every metric further than the tolerance from its fair value is highlighted, in its table and
    # in the "at a glance" list; nothing else is
    outside = [n for n, v in _metric_values(analysis) if v is not None and abs(v - FAIR.get(n, 0.0)) > 0.1]
    assert html.count('<tr class="outside">') == 2 * len(outside)
    assert html.count('class="badge"') == len(outside)
    # charts inline as SVG: 2 facet charts, one SHAP chart, two PDPs, one local SHAP chart
    assert html.count("<svg") == 6 and html.count('class="chart"') == 6
    # the baseline header comes from the SHAP feature names (the baseline file has no header row)
    assert "<th>saving_accounts</th>" in html


def test_tolerance_and_title(tmp_path: Path) -> None:
    analysis = german_credit_analysis()
    title = 'Audit <Q3> & "fairness" \\ review'
    _write(analysis, tmp_path, tolerance=0.3, title=title, name="audit")
    html = (tmp_path / "audit.html").read_text()
    outside = [n for n, v in _metric_values(analysis) if v is not None and abs(v - FAIR.get(n, 0.0)) > 0.3]
    assert 0 < len(outside) < 13
    assert html.count('<tr class="outside">') == 2 * len(outside)
    assert "<h1>Audit &lt;Q3&gt; &amp; &#34;fairness&#34; \\ review</h1>" in html
    reader = PdfReader(tmp_path / "audit.pdf")
    text = reader.pages[0].extract_text()
    assert text.startswith(title)
    assert re.search(re.escape(title) + rf"\s*\u2014\s*page 1 of {len(reader.pages)}", text)  # page footer


def _pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(path)
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def test_pdf_pages_and_text(gc_report: dict, fixture_reports: dict) -> None:
    pages, text = _pdf_text(gc_report["out"] / "report.pdf")
    flat = re.sub(r"\s+", " ", text)
    for facet, value in FACETS.items():
        assert facet in flat and value in flat
    for feature in FEATURES:
        assert feature in flat, feature
    # each major section starts a page, in order; pages in between are continuations of a long section
    html = (gc_report["out"] / "report.html").read_text()
    sections = re.findall(r'<h2 id="[^"]*" class="new-page">([^<]*)</h2>', html)
    sections = [t.replace("&#39;", "'") for t in sections]
    assert len(sections) == 2 + 1 + 1 + 1 + 1  # two facet groups, SHAP, PDP, local SHAP, glossary
    reader = PdfReader(gc_report["out"] / "report.pdf")
    first_lines = [page.extract_text().split("\n", 1)[0].strip() for page in reader.pages]
    assert first_lines[0] == "German credit report"
    assert [line for line in first_lines if line in sections] == sections
    assert len(first_lines) >= 1 + len(sections)
    # short reports: title page, one page per section
    for key, expected in (("small", 1 + 1), ("small_bias", 1 + 1 + 1)):  # SHAP; bias facet + glossary
        pages, text = _pdf_text(fixture_reports[key]["out"] / "myreport.pdf")
        assert pages == expected, key
    _, text = _pdf_text(fixture_reports["small"]["out"] / "myreport.pdf")
    assert all(f in text for f in ("feature_0", "feature_1", "feature_2"))
    _, text = _pdf_text(fixture_reports["bias"]["out"] / "myreport.pdf")
    assert "customer_gender_female" in text
    _, text = _pdf_text(fixture_reports["card"]["out"] / "myreport.pdf")
    card = fixture_reports["card"]["analysis"]["explanations"]
    for label in card["kernel_shap"].values():
        for feature in label["global_shap_values"]:
            assert feature in text, feature
    for entry in card["pdp"]:
        assert f"PDP \u2014 {entry['feature_name']}" in text


def test_sections_only_for_what_ran(fixture_reports: dict) -> None:
    bias = (fixture_reports["bias"]["out"] / "myreport.html").read_text()
    assert "Bias: customer_gender_female = 1" in bias and "Feature importance" not in bias
    assert "Partial dependence" not in bias
    shap = (fixture_reports["shap"]["out"] / "myreport.html").read_text()
    assert "Feature importance" in shap and "Bias:" not in shap and "At a glance" not in shap
    card = (fixture_reports["card"]["out"] / "myreport.html").read_text()
    assert "Partial dependence plots" in card and card.count("<svg") == 2 + 2  # two SHAP labels, two PDPs
    assert "magnificent" in card  # NLP top tokens table


def test_chart_failure_is_reported_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    analysis = german_credit_analysis()
    analysis["explanations"]["pdp"][0]["feature_values"] = ["a", "b"] + [None] * 8
    analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"] = {}
    with caplog.at_level(logging.WARNING, logger="analyzer.report"):
        files = _write(analysis, tmp_path, local_shap_csv=tmp_path / "missing.csv")
    assert [p.name for p in files] == ["report.ipynb", "report.html", "report.pdf"]
    html = (tmp_path / "report.html").read_text()
    assert "Not shown in this report" in html
    assert "Chart &#39;PDP for credit_amount&#39; is not shown" in html
    assert "Chart &#39;Global SHAP values for label0&#39; is not shown" in html
    assert "Local SHAP values are not shown" in html
    assert html.count("<svg") == 2 + 1  # facet charts and the duration PDP remain
    assert any("PDP for credit_amount" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "analysis",
    [
        {},
        {"pre_training_bias_metrics": {"facets": ["not", "a", "dict"]}},
        {
            "pre_training_bias_metrics": {
                "label": "y",
                "facets": {
                    "f": [
                        {
                            "value_or_threshold": "1",
                            "metrics": [
                                {"name": "XX", "value": "oops"},
                                {"name": "DI", "value": "-Infinity"},
                                {"name": "CI", "value": None},
                            ],
                        }
                    ]
                },
            }
        },
        {
            "explanations": {
                "kernel_shap": {"label0": {"global_shap_values": {"a": "Infinity", "b": None}}},
                "pdp": [{"feature_name": "x"}, "junk"],
            }
        },
    ],
)
def test_odd_analysis_never_raises(tmp_path: Path, analysis: dict) -> None:
    files = _write(analysis, tmp_path)
    assert [p.name for p in files] == ["report.ipynb", "report.html", "report.pdf"]
    nbformat.validate(nbformat.read(files[0], as_version=4))
