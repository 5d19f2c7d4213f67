"""Render a report :class:`~analyzer.report.document.Document` as a Jupyter notebook (nbformat 4).

The notebook holds the tables and charts as saved outputs, and its code cells rebuild each of
them from the ``analysis.json`` next to it, so a reader can re-run or change them. The helper
code is copied in from this package's own modules, so re-running needs only pandas,
matplotlib and IPython.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import nbformat
from nbformat import v4

from analyzer.report import charts, content, metrics_info, nb_glue
from analyzer.report.document import Block, Document

log = logging.getLogger(__name__)

LIB_MODULES = (metrics_info, content, charts, nb_glue)
_FUTURE = "from __future__ import annotations"


def library_source() -> str:
    """The helper code for the notebook's first cell: this package's chart/table modules."""
    parts = ["from __future__ import annotations"]
    for module in LIB_MODULES:
        text = Path(str(module.__file__)).read_text(encoding="utf-8")
        kept = [
            line
            for line in text.splitlines()
            if not line.rstrip().endswith("# nb:skip") and line.strip() != _FUTURE
        ]
        parts.append(f"# ---- {module.__name__.rsplit('.', 1)[-1]} ----\n" + "\n".join(kept).strip())
    return "\n\n\n".join(parts) + "\n"


def _namespace(analysis: dict[str, Any], summary: dict[str, Any] | None, tolerance: float) -> dict[str, Any]:
    ns: dict[str, Any] = {}
    for module in LIB_MODULES:
        ns.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    ns.update(analysis=analysis, SUMMARY=summary, TOLERANCE=tolerance)
    return ns


def _table_output(code: str, ns: dict[str, Any]) -> list[Any]:
    try:
        frame = eval(code, ns)  # code is built by document.py from trusted templates
    except Exception as exc:  # outputs are a convenience; the cell still re-runs
        log.warning("report notebook: could not pre-render %r: %s", code, exc)
        return []
    return [
        v4.new_output(
            "execute_result",
            data={"text/html": frame.to_html(), "text/plain": frame.to_string()},
            execution_count=None,
        )
    ]


def _markdown(block: Block) -> str:
    if block.kind == "heading":
        return "#" * block.level + " " + block.text
    if block.kind == "missing":
        return "> **Not shown:** " + block.text
    if block.kind == "table":

        def esc(text: str) -> str:
            return str(text).replace("|", "\\|").replace("\n", " ")

        cols = block.columns if any(block.columns) else ["Field", "Value"]
        lines = ["| " + " | ".join(esc(c) for c in cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    return block.text


def build_notebook(
    doc: Document,
    *,
    subtitle: str,
    analysis: dict[str, Any],
    summary: dict[str, Any] | None,
    tolerance: float,
    analysis_path: str,
    local_shap_csv: str | None,
    baseline_csv: str | None,
    base_dir: Path | None = None,
) -> nbformat.NotebookNode:
    """The report notebook; paths are written as given (relative to the notebook's folder ``base_dir``)."""
    nb = v4.new_notebook()
    nb.metadata.update(
        {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "title": doc.title,
        }
    )
    cells = [
        v4.new_markdown_cell(
            f"# {doc.title}\n\n{subtitle}\n\nEvery table and chart below is rebuilt from `{analysis_path}` "
            "when you run the notebook (*Run All*). Change `TOLERANCE` in the setup cell to re-highlight."
        )
    ]
    lib = v4.new_code_cell(library_source())
    lib.metadata.update({"jupyter": {"source_hidden": True}, "tags": ["report-helpers"]})
    cells.append(lib)
    setup = "\n".join(
        [
            "import json",
            f"ANALYSIS_PATH = {analysis_path!r}",
            f"LOCAL_SHAP_CSV = {local_shap_csv!r}",
            f"BASELINE_CSV = {baseline_csv!r}",
            f"SUMMARY = json.loads({json.dumps(summary, default=str)!r})",
            f"TOLERANCE = {tolerance!r}",
            "analysis = load_analysis(ANALYSIS_PATH)",
        ]
    )
    cells.append(v4.new_code_cell(setup, metadata={"tags": ["parameters"]}))
    ns = _namespace(analysis, summary, tolerance)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    ns["LOCAL_SHAP_CSV"] = str(base / local_shap_csv) if local_shap_csv else None
    ns["BASELINE_CSV"] = str(base / baseline_csv) if baseline_csv else None
    pending_md: list[str] = []

    def flush() -> None:
        if pending_md:
            cells.append(v4.new_markdown_cell("\n\n".join(pending_md)))
            pending_md.clear()

    for block in doc.blocks:
        if block.kind in ("chart", "charts") and block.code:
            flush()
            outputs = [
                v4.new_output("display_data", data={"image/svg+xml": svg, "text/plain": "<chart>"})
                for svg in block.svgs
            ]
            cells.append(v4.new_code_cell(block.code, outputs=outputs))
        elif block.kind == "images":
            flush()
            outputs = [
                v4.new_output(
                    "display_data",
                    data={"image/jpeg": uri.split(",", 1)[1], "text/plain": f"<{caption}>"},
                )
                for caption, uri in block.images
            ]
            cells.append(v4.new_code_cell(block.code, outputs=outputs))
        elif block.kind == "table" and block.code:
            flush()
            cells.append(v4.new_code_cell(block.code, outputs=_table_output(block.code, ns)))
        elif block.kind in ("chart", "charts"):
            flush()
            cells.append(v4.new_markdown_cell("(chart)"))
        else:
            if block.kind == "heading":
                flush()
            pending_md.append(_markdown(block))
    flush()
    nb.cells = cells
    return nb
