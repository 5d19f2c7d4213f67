"""Explain the review model's predictions with text SHAP, end to end, without the job runner.

Serves ``model/`` with local_endpoint on 127.0.0.1, reads ``analysis_config.json`` (its
``methods.shap`` with ``text_config``, ``predictor`` and ``methods.report``), explains every
review through the endpoint over HTTP and writes what the processing job writes:
``analysis.json`` (``explanations.kernel_shap`` with ``global_top_shap_text``),
``explanations_shap/out.jsonl``, ``explanations_shap/baseline.csv`` and ``report.{ipynb,html,pdf}``.
Until ``clarify-runner run`` handles ``text_config`` itself, this script is the glue.

Usage: python explain_reviews.py [--data reviews.csv] [--model-dir model] [--output out] [--records N]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

from analyzer.config import load_config
from analyzer.explain.text import (
    TextShapSpec,
    explain_text,
    feature_data_types,
    infer_text_columns,
    text_baseline,
    text_shap_section,
    write_text_outputs,
)
from analyzer.model_client import HttpTransport, ModelClient
from analyzer.output import write_analysis
from analyzer.report import write_reports

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))  # the test helpers
from _model_server import running_endpoint

HERE = Path(__file__).resolve().parent


def run(config: Path, data: Path, model_dir: Path, output: Path, records: int | None = None) -> list[Path]:
    """Explain ``data`` (CSV with a header row) with the model in ``model_dir``; returns the files written."""
    cfg = load_config(config)
    shap_cfg = cfg.methods.shap
    if shap_cfg is None or shap_cfg.text_config is None or cfg.predictor is None:
        raise SystemExit(f"{config}: needs methods.shap.text_config and predictor")
    text_cfg = shap_cfg.text_config
    predictor = cfg.predictor
    if not isinstance(predictor.content_template, str | None):
        raise SystemExit(f"{config}: predictor.content_template must be a string")
    label_headers = [str(h) for h in predictor.label_headers] if predictor.label_headers else None
    frame = pd.read_csv(data, nrows=records)
    features = frame.drop(columns=[cfg.label])
    names = [str(c) for c in features.columns]
    given = pd.DataFrame(shap_cfg.baseline) if isinstance(shap_cfg.baseline, list) else None
    text_cols = infer_text_columns(features, given)
    baseline = text_baseline(
        given, features, text_cols, num_clusters=shap_cfg.num_clusters, seed=shap_cfg.seed
    )
    spec = TextShapSpec(
        text_cfg.granularity,
        text_cfg.language,
        tuple(text_cols),
        num_samples=shap_cfg.num_samples,
        seed=shap_cfg.seed,
        use_logit=shap_cfg.effective_use_logit,
    )
    with running_endpoint(model_dir, timeout=180) as url:  # model loading is slow on a busy machine
        client = ModelClient(
            HttpTransport(url),
            feature_names=names,
            content_type=predictor.content_type or cfg.dataset_type,
            accept_type=predictor.accept_type,
            probability=predictor.probability,
            label_headers=label_headers,
            content_template=predictor.content_template,
        )
        with client:
            result = explain_text(
                features.to_numpy(dtype=object), baseline.to_numpy(dtype=object), client.predict_scores, spec
            )
            client.log_summary()
    section = text_shap_section(
        result,
        names,
        shap_cfg.effective_agg_method,
        text_cfg.effective_max_top_tokens,
        label_headers,
    )
    analysis = {"version": "1.0", "explanations": {"kernel_shap": section}}
    written = [write_analysis(output, analysis)]
    written += write_text_outputs(
        output,
        result,
        names,
        feature_data_types(features, text_cols),
        baseline,
        save_local=shap_cfg.effective_save_local_shap_values,
    )
    report = cfg.methods.report
    if report is not None:
        jsonl = output / "explanations_shap" / "out.jsonl"
        written += write_reports(
            analysis,
            output,
            name=report.effective_name,
            title=report.effective_title,
            local_shap_jsonl=jsonl if jsonl.exists() else None,
        )
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "analysis_config.json")
    parser.add_argument("--data", type=Path, default=HERE / "reviews.csv")
    parser.add_argument("--model-dir", type=Path, default=HERE / "model")
    parser.add_argument("--output", type=Path, default=Path("out") / "text_reviews")
    parser.add_argument("--records", type=int, default=None, help="explain only the first N reviews")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for path in run(args.config, args.data, args.model_dir, args.output, args.records):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
