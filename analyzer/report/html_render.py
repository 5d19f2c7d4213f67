"""Render a report :class:`~analyzer.report.document.Document` to one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import jinja2

from analyzer.report.document import FINDING_COLUMNS, METRIC_COLUMNS, Document

TEMPLATES = Path(__file__).parent / "templates"


def css_string(text: str) -> str:
    """``text`` made safe inside a double-quoted CSS string in a ``<style>`` element."""
    out = []
    for ch in text:
        if ch.isalnum() or ch in " .,:;-_()[]+=/!?%#@*":
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    return "".join(out)


def render_html(doc: Document, *, subtitle: str, tolerance: float) -> str:
    """The HTML text: inline CSS, inline SVG charts, no scripts, fonts or images from elsewhere."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    toc = [(b.anchor, b.text) for b in doc.blocks if b.kind == "heading" and b.level == 2 and b.anchor]
    return env.get_template("report.html.j2").render(
        title=doc.title,
        subtitle=subtitle,
        blocks=doc.blocks,
        toc=toc,
        tolerance=f"{tolerance:g}",
        footer_css=css_string(doc.title),
        metric_columns=METRIC_COLUMNS,
        finding_columns=FINDING_COLUMNS,
    )
