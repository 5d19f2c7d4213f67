"""Explain the shapes example's images through the public image-explanation API.

Starts the example's model behind ``local_endpoint`` on 127.0.0.1, reads
``analysis_config_<kind>.json`` and writes what the job writes for images: the heat maps
(``shap_<image>.jpeg``, or ``shap_<image>_box<k>_object.jpeg`` and ``<image>_objects.jpeg``),
``explanations_shap/out.jsonl`` with the per-superpixel values, ``analysis.json`` and the
report. (Once the runner calls these functions, ``clarify-runner run`` does the same.)

Usage: python run_example.py [--kind classification|detection] [--model-dir model] [--out DIR]
Run ``make_example.py`` first (it trains the models into ``--model-dir``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from analyzer.config import parse_config
from analyzer.datasets.images import image_baseline, iter_images
from analyzer.explain.images import ImageOutputWriter, ImageSpec, explain_images, image_section
from analyzer.model_client import HttpTransport
from analyzer.model_client.images import ImageModelClient
from analyzer.output import write_analysis
from analyzer.report import write_reports

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))  # the test helpers
from _model_server import running_endpoint

HERE = Path(__file__).resolve().parent
MODELS = {"classification": "classifier", "detection": "detector"}


def run(kind: str, model_dir: Path, out: Path) -> dict:
    """Explain ``images/<kind>`` with ``model_dir/<model>``; returns the analysis dict written to ``out``."""
    cfg = parse_config(json.loads((HERE / f"analysis_config_{kind}.json").read_text()))
    spec = ImageSpec.from_config(cfg)
    assert cfg.predictor is not None
    with running_endpoint(model_dir / MODELS[kind]) as url:
        client = ImageModelClient(
            HttpTransport(url),
            content_type=cfg.predictor.content_type or "image/jpeg",
            accept_type=cfg.predictor.accept_type,
        )
        with client:
            writer = ImageOutputWriter(out, spec)
            shap = cfg.methods.shap
            baseline = image_baseline(shap.baseline if shap is not None else None)
            images = iter_images(HERE / "images" / kind)
            result = explain_images(images, spec, client, baseline=baseline, on_image=writer.add)
            writer.close()
    analysis = {"version": "1.0", "explanations": {"image_shap": image_section(result)}}
    write_analysis(out, analysis)
    report = cfg.methods.report
    if report is not None:
        write_reports(analysis, out, name=report.effective_name, title=report.effective_title)
    return analysis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(MODELS), default="classification")
    parser.add_argument("--model-dir", default=str(HERE / "model"))
    parser.add_argument("--out", default=None, help="output folder (default out/shapes_<kind>)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out = Path(args.out or f"out/shapes_{args.kind}")
    analysis = run(args.kind, Path(args.model_dir), out)
    print(json.dumps(analysis["explanations"]["image_shap"]["images"], indent=2))
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
