"""The report as an ordered list of blocks: the one source rendered to notebook, HTML and PDF.

Building never raises for content problems: a section or chart that fails becomes a
``missing`` block saying what is not shown, and the failure is logged.
"""

from __future__ import annotations

import functools
import html
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analyzer.report import charts
from analyzer.report import images as image_report
from analyzer.report.content import (
    facet_chart_rows,
    facet_groups,
    facet_stage_rows,
    group_label,
    pdp_entries,
    shap_labels,
    split_local_shap,
    summary_rows,
)
from analyzer.report.metrics_info import METRICS, format_value

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["Metric", "Value", "Fair value / range", "Reading"]
FINDING_COLUMNS = ["Group", "Metric", "Value", "Reading"]


@dataclass
class Block:
    """One piece of report content.

    ``kind`` is ``heading``, ``text``, ``table``, ``chart``, ``charts`` (a row of charts),
    ``html`` (markup made by the report itself, e.g. coloured text units), ``images`` (JPEG
    heat maps: ``(caption, data URI)``, ``code`` displays the files) or ``missing``. ``code`` is
    the notebook code that rebuilds a table or chart from the re-loaded ``analysis.json``.
    """

    kind: str
    text: str = ""
    level: int = 2
    anchor: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    flags: list[bool] = field(default_factory=list)
    svgs: list[str] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)
    code: str = ""
    new_page: bool = False


@dataclass
class Document:
    """The whole report: title, blocks, and what could not be shown."""

    title: str
    blocks: list[Block]
    missing: list[str]
    findings: list[list[str]]


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


class _Builder:
    def __init__(self, tolerance: float) -> None:
        self.blocks: list[Block] = []
        self.missing: list[str] = []
        self.tolerance = tolerance

    def add(self, block: Block) -> None:
        self.blocks.append(block)

    def fail(self, what: str, exc: BaseException) -> None:
        log.warning("report: %s is not shown: %s: %s", what, type(exc).__name__, exc)
        msg = f"{what} is not shown ({type(exc).__name__}: {exc})."
        self.missing.append(msg)
        self.add(Block("missing", text=msg))

    def chart(self, what: str, make: Callable[[], Any], code: str) -> str | None:
        try:
            fig = make()
            return charts.fig_to_svg(fig, title=what)
        except Exception as exc:  # a chart must never break the report
            self.fail(f"Chart '{what}'", exc)
            return None

    def section(self, what: str, build: Callable[[], None]) -> None:
        try:
            build()
        except Exception as exc:  # a section must never break the report
            self.fail(f"Section '{what}'", exc)


def _metric_table(rows: list[dict[str, Any]], tolerance: float) -> tuple[list[list[str]], list[bool]]:
    body = [[r["full_name"], r["value_text"], r["fair_text"], r["reading"]] for r in rows]
    return body, [bool(r["outside"]) for r in rows]


def build_document(
    analysis: dict[str, Any],
    *,
    title: str,
    summary: dict[str, Any] | None,
    local_shap: pd.DataFrame | None,
    baseline: pd.DataFrame | None,
    tolerance: float,
    problems: list[str] | None = None,
    sections: list[Block] | None = None,
    text_record: tuple[int, dict[str, Any]] | None = None,
    image_dir: Path | None = None,
) -> Document:
    """Assemble the report blocks from the analysis and the optional local SHAP/baseline data.

    ``problems`` are things already known to be missing (e.g. an unreadable input file).
    ``sections`` are ready-made blocks (e.g. :mod:`analyzer.report.time_series`) placed after
    the explanations.
    ``text_record`` is ``(line number, parsed line)`` of ``out.jsonl`` shown with its text units
    coloured (:mod:`analyzer.report.text_section`).
    ``image_dir`` holds the heat-map JPEGs of an image explanation (the output folder).
    """
    b = _Builder(tolerance)
    b.missing.extend(problems or [])
    findings: list[list[str]] = []

    def add_summary() -> None:
        rows = summary_rows(summary, analysis)
        b.add(Block("heading", text="Job summary", anchor="summary"))
        b.add(
            Block(
                "table",
                columns=["", ""],
                rows=[[k, v] for k, v in rows],
                code="summary_table(analysis, SUMMARY)",
            )
        )

    b.section("Job summary", add_summary)

    groups: list[tuple[str, str]] = []
    b.section("Bias metrics", lambda: groups.extend(facet_groups(analysis)))
    for facet, vot in groups:
        group = group_label(facet, vot)

        def add_group(facet: str = facet, vot: str = vot, group: str = group) -> None:
            b.add(Block("heading", text=f"Bias: {group}", anchor=_anchor(f"bias {group}"), new_page=True))
            label = _label_text(analysis)
            b.add(
                Block(
                    "text",
                    text=(
                        f"Sensitive group: rows where {group}, compared with all other rows. "
                        f"Positive outcome: {label}. Metrics further than {tolerance:g} from their "
                        "fair value are highlighted."
                    ),
                )
            )
            chart_rows = facet_chart_rows(analysis, facet, vot, tolerance)
            for r in chart_rows:
                if r["outside"]:
                    findings.append([group, r["full_name"], r["value_text"], r["reading"]])
            args = f"{facet!r}, {vot!r}"
            svg = b.chart(
                f"Bias metrics for {group}",
                lambda: charts.facet_chart(chart_rows, f"Bias metrics \u2014 {group}", tolerance),
                "",
            )
            if svg:
                b.add(
                    Block(
                        "chart",
                        svgs=[svg],
                        code=f"show(facet_chart(facet_chart_rows(analysis, {args}, TOLERANCE), "
                        f"{'Bias metrics — ' + group!r}, TOLERANCE))",
                    )
                )
            for stage, stage_title in (
                ("pre_training_bias_metrics", "Pre-training metrics (data)"),
                ("post_training_bias_metrics", "Post-training metrics (model predictions)"),
            ):
                rows = facet_stage_rows(analysis, facet, vot, stage, tolerance)
                if not rows:
                    continue
                body, flags = _metric_table(rows, tolerance)
                b.add(Block("heading", text=stage_title, level=3))
                b.add(
                    Block(
                        "table",
                        columns=METRIC_COLUMNS,
                        rows=body,
                        flags=flags,
                        code=f"bias_table(analysis, {args}, {stage!r}, TOLERANCE)",
                    )
                )

        b.section(f"Bias metrics for {group}", add_group)

    def add_shap() -> None:
        labels = shap_labels(analysis)
        if not labels:
            return
        b.add(Block("heading", text="Feature importance (global SHAP values)", anchor="shap", new_page=True))
        b.add(
            Block(
                "text",
                text=(
                    "How much each feature moves the model output on average (Kernel SHAP). "
                    "Longer bars matter more; features are sorted by importance."
                ),
            )
        )
        for entry in labels:
            lab = entry["label"]
            ev = entry["expected_value"]
            if ev is not None:
                b.add(
                    Block(
                        "text",
                        text=f"{lab}: expected (baseline) model output {format_value(ev, 4)}; "
                        f"{len(entry['values'])} features.",
                    )
                )
            svg = b.chart(
                f"Global SHAP values for {lab}",
                functools.partial(charts.shap_chart, entry["values"], entry["label"]),
                "",
            )
            if svg:
                b.add(
                    Block(
                        "chart", svgs=[svg], code=f"show(shap_chart(shap_values(analysis, {lab!r}), {lab!r}))"
                    )
                )
            if entry["values"]:
                b.add(
                    Block(
                        "table",
                        columns=["Feature", "Global SHAP value"],
                        rows=[[f, f"{v:.6g}"] for f, v in entry["values"]],
                        code=f"shap_table(analysis, {lab!r})",
                    )
                )

    b.section("Global SHAP values", add_shap)

    def add_text() -> None:
        from analyzer.report.text_section import text_blocks

        for block in text_blocks(analysis, text_record, [e["label"] for e in shap_labels(analysis)]):
            b.add(block)

    b.section("Text explanations", add_text)

    def add_pdp() -> None:
        entries = pdp_entries(analysis)
        if not entries:
            return
        b.add(Block("heading", text="Partial dependence plots", anchor="pdp", new_page=True))
        b.add(
            Block(
                "text",
                text=(
                    "The model output as one feature changes while the others keep their values. "
                    "Grey bars show how much of the data falls at each value."
                ),
            )
        )
        svgs, codes = [], []
        for i, entry in enumerate(entries):
            svg = b.chart(f"PDP for {entry['feature_name']}", functools.partial(charts.pdp_chart, entry), "")
            if svg:
                svgs.append(svg)
                codes.append(f"show(pdp_chart(pdp_entries(analysis)[{i}]))")
        if svgs:
            b.add(Block("charts", svgs=svgs, code="\n".join(codes)))

    b.section("Partial dependence plots", add_pdp)

    def add_images() -> None:
        section = image_report.image_section(analysis)
        if section is None:
            return
        b.add(Block("heading", text="Image explanations", anchor="image-shap", new_page=True))
        b.add(Block("text", text=image_report.intro_text(section)))
        shown, files = [], []
        for caption, name in image_report.heatmap_entries(section):
            path = Path(image_dir or ".") / name
            try:
                shown.append((caption, image_report.data_uri(path)))
                files.append(name)
            except OSError as exc:
                b.fail(f"Heat map {name}", exc)
        if shown:
            b.add(Block("images", images=shown, code=image_report.notebook_code(files)))

    b.section("Image explanations", add_images)

    def add_local() -> None:
        if local_shap is None:
            return
        keys = [e["label"] for e in shap_labels(analysis)]
        frames = split_local_shap(local_shap, keys or ["label0"])
        if not frames:
            raise ValueError("no column named <feature>_<label> in the local SHAP file")
        b.add(Block("heading", text="Local SHAP values", anchor="local-shap", new_page=True))
        b.add(
            Block(
                "text",
                text=(
                    f"Per-row SHAP values for the most important features ({len(local_shap)} rows). "
                    "Each box spans the middle half of the rows; dots are individual rows (a sample)."
                ),
            )
        )
        for lab, frame in frames.items():
            svg = b.chart(
                f"Local SHAP values for {lab}",
                functools.partial(charts.local_shap_chart, frame, lab),
                "",
            )
            if svg:
                b.add(
                    Block(
                        "chart",
                        svgs=[svg],
                        code=f"show(local_shap_chart(split_local_shap(load_local_shap(LOCAL_SHAP_CSV), "
                        f"shap_keys(analysis))[{lab!r}], {lab!r}))",
                    )
                )

    b.section("Local SHAP values", add_local)

    def add_baseline() -> None:
        if baseline is None:
            return
        b.add(Block("heading", text="Baseline used for SHAP", anchor="baseline"))
        shown = baseline.head(20)
        features: list[tuple[str, float]] = next((e["values"] for e in shap_labels(analysis)), [])
        names = [f for f, _ in features]
        if list(shown.columns) == list(range(shown.shape[1])) and len(names) == shown.shape[1]:
            order = list((analysis.get("explanations") or {}).get("kernel_shap", {}).values())[0]
            names = list(order.get("global_shap_values", {}).keys())
            shown = shown.set_axis(names, axis=1)
        b.add(
            Block(
                "text",
                text=(
                    f"Kernel SHAP compares each row with these baseline records ({len(baseline)} "
                    f"row{'s' if len(baseline) != 1 else ''}"
                    f"{', first 20 shown' if len(baseline) > 20 else ''})."
                ),
            )
        )
        b.add(
            Block(
                "table",
                columns=[str(c) for c in shown.columns],
                rows=[[_cell(v) for v in row] for row in shown.itertuples(index=False)],
                code="load_baseline(BASELINE_CSV).head(20)",
            )
        )

    b.section("Baseline", add_baseline)
    b.blocks.extend(sections or [])

    def add_glossary() -> None:
        names = []
        for facet, vot in groups:
            for r in facet_chart_rows(analysis, facet, vot, tolerance):
                if r["name"] not in names:
                    names.append(r["name"])
        if not names:
            return
        b.add(Block("heading", text="Metric glossary", anchor="glossary", new_page=True))
        b.add(
            Block(
                "text",
                text=(
                    "The sensitive group is called d, all other rows a. Fair values and ranges follow the "
                    "SageMaker Clarify definitions."
                ),
            )
        )
        b.add(
            Block(
                "table",
                columns=["Metric", "Measures", "Fair value", "Range"],
                rows=[
                    [
                        f"{METRICS[n].full_name} ({n})",
                        METRICS[n].meaning,
                        f"{METRICS[n].fair:g}",
                        METRICS[n].value_range,
                    ]
                    if n in METRICS
                    else [n, "", "", ""]
                    for n in names
                ],
            )
        )

    b.section("Metric glossary", add_glossary)

    head: list[Block] = []
    if findings:
        head.append(Block("heading", text="At a glance", anchor="glance"))
        head.append(
            Block(
                "text",
                text=(
                    f"{len(findings)} bias metric value(s) are further than {tolerance:g} "
                    "from their fair value:"
                ),
            )
        )
        head.append(
            Block(
                "table",
                columns=FINDING_COLUMNS,
                rows=findings,
                flags=[True] * len(findings),
                code="findings_table(analysis, TOLERANCE)",
            )
        )
    elif groups:
        head.append(Block("heading", text="At a glance", anchor="glance"))
        head.append(Block("text", text=f"All bias metrics are within {tolerance:g} of their fair value."))
    if b.missing:
        head.append(Block("heading", text="Not shown in this report", anchor="missing"))
        head.append(Block("table", columns=["What is missing"], rows=[[m] for m in b.missing]))
    blocks = (
        b.blocks[:2] + head + b.blocks[2:]
        if b.blocks[:1] and b.blocks[0].anchor == "summary"
        else head + b.blocks
    )
    return Document(title=title, blocks=blocks, missing=b.missing, findings=findings)


def _label_text(analysis: dict[str, Any]) -> str:
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        section = analysis.get(key)
        if isinstance(section, dict) and section.get("label") is not None:
            value = section.get("label_value_or_threshold")
            return (
                f"{section['label']} = {value}" if value is not None else f"the positive {section['label']}"
            )
    return "the positive label"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.6g}"
    return html.unescape(str(value))
