"""Explain the forecasting example end to end: train (if needed), serve, explain, write outputs.

Starts the example model behind local_endpoint on 127.0.0.1, runs the time-series
explanation of ``analysis_config.json`` over ``data/stores.json`` through
:func:`analyzer.time_series.run_time_series`, and writes ``analysis.json``,
``asymmetric_shapley_value/fine_grained_chronological/out.jsonl`` and a report with one
attribution chart per store.

Usage: python run_example.py [--output out/forecasting] [--model-dir out/forecasting/model]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, when run from a checkout

from analyzer.config import load_config  # noqa: E402
from analyzer.model_client import HttpTransport  # noqa: E402
from analyzer.output import write_analysis  # noqa: E402
from analyzer.report import write_reports  # noqa: E402
from analyzer.report.time_series import time_series_blocks  # noqa: E402
from analyzer.time_series import run_time_series  # noqa: E402
from local_endpoint.forecasting import METADATA_FILE, save_forecaster  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))  # the test helpers
from _model_server import running_endpoint  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("out/forecasting"))
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
    model_dir = args.model_dir or args.output / "model"
    data = HERE / "data" / "stores.json"
    if not (model_dir / METADATA_FILE).is_file():
        sys.path.insert(0, str(HERE))
        from train_model import train

        save_forecaster(train(json.loads(data.read_text())), model_dir)
    cfg = load_config(HERE / "analysis_config.json")
    output = args.output / "output"
    with running_endpoint(model_dir) as url:
        run = run_time_series(cfg, data_uri=data, output_dir=output, transport=HttpTransport(url))
    analysis = {"version": "1.0", "explanations": {"asymmetric_shapley_value": run.section}}
    write_analysis(output, analysis)
    write_reports(analysis, output, title="Forecasting example", sections=time_series_blocks(run.result))
    for path in sorted(p for p in output.rglob("*") if p.is_file()):
        print(path)


if __name__ == "__main__":
    main()
