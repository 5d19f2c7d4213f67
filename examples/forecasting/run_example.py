"""Explain the forecasting example end to end with ``clarify-runner run``.

Trains the example model into ``--model-dir`` (unless it is there), writes a models file that
names it ``forecasting-example`` (``predictor.model_name`` in ``analysis_config.json``) and
runs the job the way a user does::

    clarify-runner run --config <config> --data data/stores.json --output <output>/output \\
        --backend subprocess --models-file <output>/models.json

The job starts the model behind local_endpoint (the shadow endpoint), explains every store's
forecast, and writes ``analysis.json``,
``asymmetric_shapley_value/fine_grained_chronological/out.jsonl`` and (with ``methods.report``,
added to a copy of the config unless ``--no-report``) a report with one attribution chart per
store.

Usage: python run_example.py [--output out/forecasting] [--model-dir DIR] [--no-report]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, when run from a checkout

from container.cli import main as clarify_runner  # noqa: E402
from local_endpoint.forecasting import METADATA_FILE, save_forecaster  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("out/forecasting"))
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--no-report", action="store_true", help="do not add methods.report")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    model_dir = (args.model_dir or args.output / "model").resolve()
    data = HERE / "data" / "stores.json"
    if not (model_dir / METADATA_FILE).is_file():
        sys.path.insert(0, str(HERE))
        from train_model import train

        save_forecaster(train(json.loads(data.read_text())), model_dir)
    models_file = args.output / "models.json"
    models_file.write_text(json.dumps({"forecasting-example": {"model_data_url": str(model_dir)}}, indent=2))
    config = json.loads((HERE / "analysis_config.json").read_text())
    if not args.no_report:
        config["methods"]["report"] = {"name": "report", "title": "Forecasting example"}
    config_path = args.output / "analysis_config.json"
    config_path.write_text(json.dumps(config, indent=4))
    return clarify_runner(
        [
            "run",
            "--config", str(config_path),
            "--data", str(data),
            "--output", str(args.output / "output"),
            "--backend", "subprocess",
            "--models-file", str(models_file),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
