"""Clarify-style reports: ``<name>.ipynb``, ``<name>.html`` and ``<name>.pdf`` from one content source.

Call :func:`write_reports` after ``analysis.json`` is written. It never raises for content
problems: what fails is logged and named inside the report. The report needs the ``report``
extra (``pip install 'clarify-runner[report]'``); without it :func:`write_reports` raises
:class:`analyzer.extras.MissingExtraError` before writing anything. Importing this package
costs nothing: its dependencies are imported when a report is written.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.extras import require
from analyzer.output import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.report.document import Block

log = logging.getLogger(__name__)

DEFAULT_TITLE = "SageMaker Analysis Report"

__all__ = ["write_reports", "DEFAULT_TITLE"]


def _rel(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    try:
        return os.path.relpath(Path(path).resolve(), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(Path(path).resolve())


def write_reports(
    analysis: dict[str, Any],
    output_dir: Path,
    *,
    name: str = "report",
    title: str | None = None,
    summary: dict[str, Any] | None = None,
    local_shap_csv: Path | None = None,
    baseline_csv: Path | None = None,
    tolerance: float = 0.1,
    sections: list[Block] | None = None,
    local_shap_jsonl: Path | None = None,
) -> list[Path]:
    """Write ``<name>.ipynb``, ``<name>.html`` and ``<name>.pdf`` into ``output_dir``; return those written.

    ``analysis`` is the analysis.json dict (infinities as ``"Infinity"`` strings, failed metrics
    as ``"value": null`` plus ``"error"``). ``summary`` keys: dataset_uri, dataset_type, rows,
    label, label_values_or_threshold, facets (list of {"name", "value_or_threshold"}), endpoint,
    methods, started_at, elapsed_seconds, version. Metrics further than ``tolerance`` from their
    fair value are highlighted. The notebook re-loads ``analysis.json`` from ``output_dir``.
    A chart or format that fails is logged and left out; this function does not raise for that.
    ``sections`` are extra :class:`~analyzer.report.document.Block` lists (e.g.
    :func:`analyzer.report.time_series.time_series_blocks`). ``local_shap_jsonl`` (text
    explanations' ``out.jsonl``) adds one record with its text units coloured by SHAP value.
    Raises :class:`analyzer.extras.MissingExtraError` when the ``report`` extra is not installed.
    """
    require("report")
    import nbformat

    from analyzer.report.document import build_document
    from analyzer.report.html_render import render_html
    from analyzer.report.nb_glue import read_csv_guess_header
    from analyzer.report.notebook import build_notebook
    from analyzer.report.pdf_render import render_pdf

    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        log.exception("report: cannot create %s; no report written", output_dir)
        return []
    title = title or DEFAULT_TITLE
    analysis = analysis if isinstance(analysis, dict) else {}
    written: list[Path] = []
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"Bias and explainability report generated {stamp}."

    local_frame = baseline_frame = None
    problems: list[str] = []
    if local_shap_csv is not None:
        try:
            import pandas as pd

            local_frame = pd.read_csv(local_shap_csv)
        except Exception as exc:
            log.warning("report: cannot read local SHAP values %s: %s", local_shap_csv, exc)
            problems.append(f"Local SHAP values are not shown (cannot read {local_shap_csv}: {exc}).")
    if baseline_csv is not None:
        try:
            baseline_frame = read_csv_guess_header(str(baseline_csv))
        except Exception as exc:
            log.warning("report: cannot read baseline %s: %s", baseline_csv, exc)
            problems.append(f"The baseline is not shown (cannot read {baseline_csv}: {exc}).")

    text_record = None
    if local_shap_jsonl is not None:
        try:
            from analyzer.report.text_section import first_text_record

            text_record = first_text_record(local_shap_jsonl)
        except Exception as exc:
            log.warning("report: cannot read local text explanations %s: %s", local_shap_jsonl, exc)
            problems.append(f"No text record is shown (cannot read {local_shap_jsonl}: {exc}).")

    try:
        doc = build_document(
            analysis,
            title=title,
            summary=summary,
            local_shap=local_frame,
            baseline=baseline_frame,
            tolerance=tolerance,
            problems=problems,
            sections=sections,
            text_record=text_record,
            image_dir=output_dir,
        )
    except Exception:
        log.exception("report: could not assemble the report content; no report written")
        return written

    try:
        nb = build_notebook(
            doc,
            subtitle=subtitle,
            analysis=analysis,
            summary=summary,
            tolerance=tolerance,
            analysis_path="analysis.json",
            local_shap_csv=_rel(local_shap_csv, output_dir),
            baseline_csv=_rel(baseline_csv, output_dir),
            base_dir=output_dir,
        )
        written.append(atomic_write_text(output_dir / f"{name}.ipynb", nbformat.writes(nb)))
    except Exception:
        log.exception("report: could not write %s.ipynb", name)

    html_text = None
    try:
        html_text = render_html(doc, subtitle=subtitle, tolerance=tolerance)
        written.append(atomic_write_text(output_dir / f"{name}.html", html_text))
    except Exception:
        log.exception("report: could not write %s.html", name)

    if html_text is not None:
        try:
            written.append(atomic_write_bytes(output_dir / f"{name}.pdf", render_pdf(html_text)))
        except Exception:
            log.exception("report: could not write %s.pdf", name)
    return written
