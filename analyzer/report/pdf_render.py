"""Render the report HTML to PDF with WeasyPrint.

WeasyPrint needs Pango (Debian: ``libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0``) and
a font (``fonts-dejavu-core``). Only ``data:`` URLs may be fetched, so nothing leaves the machine.
"""

from __future__ import annotations

import base64
import logging
import re

_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def _svg_as_image(match: re.Match[str]) -> str:
    svg = match.group(0)
    if 'xmlns="http://www.w3.org/2000/svg"' not in svg[:2000]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="chart" style="width:100%" src="data:image/svg+xml;base64,{data}">'


def print_html(html_text: str) -> str:
    """The HTML given to WeasyPrint: inline charts become ``data:`` SVG images (much faster to lay out)."""
    return _SVG.sub(_svg_as_image, html_text)


def render_pdf(html_text: str) -> bytes:
    """The PDF bytes of ``html_text`` (print CSS applies: A4, page numbers, section page breaks)."""
    try:
        import weasyprint
        from weasyprint.urls import URLFetcher
    except OSError as exc:  # the module is there, the system libraries it loads are not
        raise RuntimeError(
            f"WeasyPrint cannot load its system libraries ({exc}); on Debian/Ubuntu: apt-get install "
            "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"
        ) from exc

    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    fetcher = URLFetcher(allowed_protocols=["data"])
    return weasyprint.HTML(string=print_html(html_text), url_fetcher=fetcher).write_pdf()
