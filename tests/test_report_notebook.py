"""The report notebook executes (nbclient + the venv's ipykernel) against the written analysis.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from _report_helpers import german_credit_analysis, german_credit_summary, write_baseline, write_local_shap

from analyzer.report import write_reports

nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

DATA = Path(__file__).resolve().parents[1] / "examples" / "german_credit" / "german_credit.csv"


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec pointing at this interpreter, registered in a private JUPYTER_PATH.

    Works in a fresh venv: nothing is installed into the user's or the system's Jupyter dirs.
    """
    name = "clarify-report-test"
    kernels = tmp_path / "jupyter" / "kernels"
    kernelspec.write_kernel_spec(path=str(kernels / name))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return name


def test_notebook_executes_against_written_analysis(tmp_path: Path, kernel_name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    analysis = german_credit_analysis()
    # the notebook reads the file, not the dict: change a value only in the file and see it re-rendered
    on_disk = json.loads(json.dumps(analysis))
    on_disk["explanations"]["kernel_shap"]["label0"]["global_shap_values"]["duration"] = 0.5
    (out / "analysis.json").write_text(json.dumps(on_disk, indent=4))
    local = write_local_shap(out / "explanations_shap" / "out.csv", DATA, rows=50)
    baseline = write_baseline(tmp_path / "baseline.csv", DATA)
    files = write_reports(
        analysis, out, name="nb", summary=german_credit_summary(), local_shap_csv=local, baseline_csv=baseline
    )
    nb = nbformat.read(files[0], as_version=4)
    saved_svgs = sum(
        "image/svg+xml" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_name, timeout=120, resources={"metadata": {"path": str(out)}}
    )
    client.execute()  # raises CellExecutionError if any cell fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    svgs = [o["data"]["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == saved_svgs == 6
    html = "\n".join(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert "Disparate Impact (DI)" in html and "age in (25, 75]" in html
    assert re.search(r"<td>duration</td>\s*<td>0\.50*</td>", html)  # re-read from analysis.json on disk
    assert "saving_accounts" in html  # baseline table, headers from the SHAP feature names
