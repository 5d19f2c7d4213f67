"""The HTML report renders in headless Chromium: a non-blank screenshot with the charts in the DOM."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _report_helpers import FEATURES, german_credit_analysis, german_credit_summary, write_local_shap
from PIL import Image

from analyzer.report import write_reports
from analyzer.report.charts import BAD_COLOR, OK_COLOR

DATA = Path(__file__).resolve().parents[1] / "examples" / "german_credit" / "german_credit.csv"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)
def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    analysis = german_credit_analysis()
    (tmp_path / "analysis.json").write_text(json.dumps(analysis))
    local = write_local_shap(tmp_path / "explanations_shap" / "out.csv", DATA, rows=100)
    write_reports(analysis, tmp_path, summary=german_credit_summary(), local_shap_csv=local)
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1100,3000",
            f"--screenshot={shot}",
            "--dump-dom",
            (tmp_path / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    # charts are in the DOM as inline SVG with their text: 2 facet charts, SHAP, 2 PDPs, local SHAP
    charts = re.findall(r'<svg\b[^>]*class="chart".*?</svg>', dom, re.S)
    assert len(charts) == 6
    assert all("<path" in c and "<text" in c for c in charts)
    assert "Bias metrics \u2014 sex = female" in dom and "Bias metrics \u2014 age in (25, 75]" in dom
    shap_chart = next(c for c in charts if "Feature importance" in c)
    assert all(f in shap_chart for f in FEATURES)
    # the screenshot is not blank, and the first facet chart (grey tolerance band, blue and orange
    # bars) is painted in the first 3000 pixels
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (3000, 1100)
    assert (pixels.sum(axis=-1) < 720).mean() > 0.03
    assert (np.abs(pixels - 238).sum(axis=-1) < 6).sum() > 5000  # #eeeeee tolerance band
    assert (np.abs(pixels - _rgb(OK_COLOR)).sum(axis=-1) < 30).sum() > 3000
    assert (np.abs(pixels - _rgb(BAD_COLOR)).sum(axis=-1) < 30).sum() > 3000
