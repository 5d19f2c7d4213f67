"""The report's text-explanation section: top tokens, and one record with its units coloured.

Top tokens come from ``global_top_shap_text`` in ``analysis.json`` (per label and text
feature). The coloured record is the first line of ``explanations_shap/out.jsonl`` that has a
text unit: each unit is a ``<span>`` whose background is orange for a positive and blue for a
negative SHAP value, stronger for larger values (relative to the record's largest). Only
inline styles, no scripts: it renders the same in the HTML, the PDF and the notebook.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from analyzer.report.document import Block

FREE_TEXT = "free_text"
POSITIVE_RGB = (213, 94, 0)
NEGATIVE_RGB = (76, 114, 176)
#: lines of out.jsonl read at most while looking for a record with text units
MAX_LINES_SCANNED = 1000
#: units listed in the table under the coloured record
TOP_UNITS = 10


def first_text_record(path: str | Path) -> tuple[int, dict[str, Any]] | None:
    """``(line number from 0, parsed line)`` of the first record of ``out.jsonl`` with a text unit."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number >= MAX_LINES_SCANNED:
                break
            if not line.strip():
                continue
            doc = json.loads(line)
            for entry in doc.get("explanations", []):
                if entry.get("data_type") == FREE_TEXT and entry.get("attributions"):
                    return number, doc
    return None


def text_units(record: dict[str, Any], label_index: int) -> list[tuple[str, list[tuple[int, str, float]]]]:
    """Per text feature of one out.jsonl record: ``(feature, [(start_idx, partial_text, value)])``."""
    out = []
    for entry in record.get("explanations", []):
        if entry.get("data_type") != FREE_TEXT:
            continue
        units = []
        for attribution in entry.get("attributions", []):
            desc = attribution.get("description") or {}
            values = attribution.get("attribution") or []
            value = float(values[label_index]) if label_index < len(values) else math.nan
            units.append((int(desc.get("start_idx", 0)), str(desc.get("partial_text", "")), value))
        out.append((str(entry.get("feature_name", "?")), units))
    return out


def units_html(units: list[tuple[int, str, float]]) -> str:
    """The units as coloured ``<span>`` elements, separated by a space where the text had a gap."""
    finite = [abs(v) for _, _, v in units if math.isfinite(v)]
    scale = max(finite) if finite and max(finite) > 0 else 1.0
    parts = []
    end = None
    for start, text, value in units:
        if end is not None and start > end:
            parts.append(" ")
        end = start + len(text)
        if not math.isfinite(value):
            parts.append(html.escape(text))
            continue
        alpha = 0.08 + 0.72 * abs(value) / scale
        rgb = POSITIVE_RGB if value >= 0 else NEGATIVE_RGB
        parts.append(
            f'<span title="{value:.4g}" style="background: rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {alpha:.2f}); '
            f'border-radius: 2px; padding: 0 1px; white-space: pre-wrap">{html.escape(text)}</span>'
        )
    return "".join(parts)


def top_token_tables(analysis: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, float]]]]:
    """``(label, text feature, [(token, value)])`` from ``global_top_shap_text``, largest first."""
    shap = (analysis.get("explanations") or {}).get("kernel_shap")
    out: list[tuple[str, str, list[tuple[str, float]]]] = []
    if not isinstance(shap, dict):
        return out
    for label, body in shap.items():
        top = body.get("global_top_shap_text") if isinstance(body, dict) else None
        if not isinstance(top, dict):
            continue
        for feature, tokens in top.items():
            if isinstance(tokens, dict) and tokens:
                rows = [(str(t), float(v)) for t, v in tokens.items() if isinstance(v, int | float)]
                rows.sort(key=lambda tv: -abs(tv[1]))
                out.append((str(label), str(feature), rows))
    return out


def text_blocks(
    analysis: dict[str, Any], record: tuple[int, dict[str, Any]] | None, label_keys: list[str]
) -> list[Block]:
    """The section's blocks; empty when the analysis has no text explanations."""
    tables = top_token_tables(analysis)
    if not tables and record is None:
        return []
    blocks = [Block("heading", text="Text explanations", anchor="text", new_page=True)]
    if tables:
        blocks.append(
            Block(
                "text",
                text=(
                    "The text units (tokens, sentences or paragraphs) with the largest aggregated SHAP "
                    "values over all records, per model output and text feature."
                ),
            )
        )
    for label, feature, rows in tables:
        blocks.append(Block("heading", text=f"{label}, text feature {feature}: top tokens", level=3))
        blocks.append(
            Block("table", columns=["Token", "SHAP value"], rows=[[t, f"{v:.6g}"] for t, v in rows])
        )
    if record is None:
        return blocks
    number, doc = record
    labels = label_keys or ["label0"]
    blocks.append(Block("heading", text=f"One record explained (record {number + 1})", level=3))
    blocks.append(
        Block(
            "text",
            text=(
                "Each unit of the record's text is coloured by its SHAP value: orange pushes the model "
                "output up, blue pushes it down; stronger colours mean larger effects. Hover over a unit "
                "to see its value."
            ),
        )
    )
    for k, label in enumerate(labels):
        for feature, units in text_units(doc, k):
            blocks.append(Block("text", text=f"{label}, {feature}:"))
            blocks.append(Block("html", text=units_html(units)))
            top = sorted((u for u in units if math.isfinite(u[2])), key=lambda u: -abs(u[2]))[:TOP_UNITS]
            blocks.append(
                Block(
                    "table",
                    columns=["Unit", "Offset", "SHAP value"],
                    rows=[[text, str(start), f"{value:.6g}"] for start, text, value in top],
                )
            )
    return blocks
