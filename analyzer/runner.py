"""The analysis: dataset → predictions → bias metrics, SHAP, PDP → output files.

:func:`run_analysis` is I/O-light glue between the pure parts (``analyzer.bias``,
``analyzer.explain``) and the I/O parts (``analyzer.dataset``, ``analyzer.model_client``,
``analyzer.output``, ``analyzer.report``). It writes into one local folder; publishing that
folder (atomically, or to S3) is the caller's job (``container.job``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.config import AnalysisConfig
from analyzer.endpoint import EndpointHandle
from analyzer.errors import UserError
from analyzer.output import write_analysis

logger = logging.getLogger(__name__)

#: Column that holds model predictions inside the frame handed to the bias engine.
PREDICTED_LABEL_COLUMN = "__clarify_runner_predicted_label__"


class JobStopped(UserError):
    """The job was asked to stop (SIGTERM) before it finished."""


@dataclass
class RunOptions:
    """Knobs of a run that are not part of ``analysis_config.json``."""

    shap_estimator: str = "clarify"
    report_tolerance: float = 0.1
    stop_event: threading.Event | None = None
    config_path: str | None = None
    #: Called once the last prediction is made, so the caller can tear the shadow endpoint
    #: down before the report is written (the real container's order).
    release_endpoint: Callable[[], None] | None = None


def needs_model(cfg: AnalysisConfig) -> bool:
    """Whether the analysis needs model predictions (and so an endpoint)."""
    m = cfg.methods
    if m.shap is not None or m.pdp is not None:
        return True
    if m.post_training_bias is not None:
        return cfg.predicted_label is None and cfg.predicted_label_dataset_uri is None
    return False


def _banner(text: str) -> None:
    line = "=" * (len(text) + 2)
    logger.info(line)
    logger.info(text)
    logger.info(line)


def _check_stop(options: RunOptions) -> None:
    if options.stop_event is not None and options.stop_event.is_set():
        raise JobStopped("The job was stopped before it finished; no results were written.")


def run_analysis(
    cfg: AnalysisConfig,
    *,
    data_uri: str,
    output_dir: str | Path,
    endpoint: EndpointHandle | None,
    options: RunOptions | None = None,
) -> dict[str, Any]:
    """Run every method the config asks for and write the results into ``output_dir``.

    Args:
        cfg: Validated analysis configuration.
        data_uri: Dataset file, folder or ``s3://`` URI.
        output_dir: Folder that receives ``analysis.json``, ``explanations_shap/`` and the report.
        endpoint: Where predictions go; ``None`` when no method needs the model.
        options: Run options (SHAP estimator, report tolerance, stop event).

    Returns:
        The analysis dict (as written to ``analysis.json``).
    """
    from analyzer.dataset import load_dataset

    options = options or RunOptions()
    output_dir = Path(output_dir)
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    logger.info("Running Python / Pandas based analyzer.")
    dataset = load_dataset(cfg, data_uri)
    _check_stop(options)

    methods = cfg.methods
    run_names = [
        name
        for name in ("post_training_bias", "pre_training_bias", "shap", "pdp")
        if getattr(methods, name) is not None
    ]
    logger.info("Methods to run: %s", ", ".join(run_names))

    client = None
    if needs_model(cfg):
        if endpoint is None:
            raise UserError("The requested methods need model predictions but no endpoint was given")
        from analyzer.model_client import ModelClient

        client = ModelClient.from_predictor(
            cfg.predictor,
            dataset_type=cfg.dataset_type,
            feature_names=dataset.feature_names,
            endpoint=endpoint,
        )

    analysis: dict[str, Any] = {"version": "1.0"}
    shap_files: dict[str, Path] = {}
    try:
        if methods.post_training_bias is not None:
            analysis["post_training_bias_metrics"] = _post_training(cfg, dataset, client, options)
            _check_stop(options)
        if methods.pre_training_bias is not None:
            analysis["pre_training_bias_metrics"] = _pre_training(cfg, dataset)
            _check_stop(options)
        explanations: dict[str, Any] = {}
        shap_global = None
        if methods.shap is not None:
            explanations["kernel_shap"], shap_global, shap_files = _kernel_shap(
                cfg, dataset, client, output_dir, options
            )
            _check_stop(options)
        if methods.pdp is not None:
            explanations["pdp"] = _pdp(cfg, dataset, client, shap_global)
            _check_stop(options)
        if explanations:
            analysis["explanations"] = explanations
    finally:
        if client is not None:
            client.log_summary()
            client.close()
        if options.release_endpoint is not None:
            options.release_endpoint()

    path = write_analysis(output_dir, analysis)
    logger.info("Collected analyses: %s", path.name)

    if methods.report is not None:
        _report(cfg, dataset, analysis, output_dir, shap_files, started, started_at, endpoint, options)
    return analysis


def _facet_specs(cfg: AnalysisConfig, dataset: Any) -> list[Any]:
    from analyzer.bias import FacetSpec

    specs = []
    for facet in cfg.facet or []:
        column = dataset.facet_columns[facet.name_or_index]
        specs.append(FacetSpec(column=column, value_or_threshold=facet.value_or_threshold))
    return specs


def _pre_training(cfg: AnalysisConfig, dataset: Any) -> dict[str, Any]:
    from analyzer.bias import bias_section

    _banner("Calculating pre-training bias metrics")
    return bias_section(
        dataset.frame,
        stage="pre_training",
        label=dataset.label,
        label_values_or_threshold=cfg.label_values_or_threshold,
        facets=_facet_specs(cfg, dataset),
        methods=cfg.methods.pre_training_bias.metric_names("pre_training"),
        group_variable=dataset.group_variable,
        ft_features=dataset.feature_names,
    )


def _post_training(cfg: AnalysisConfig, dataset: Any, client: Any, options: RunOptions) -> dict[str, Any]:
    from analyzer.bias import bias_section

    _banner("Calculating post-training bias metrics")
    frame = dataset.frame
    predicted = dataset.predicted_label
    threshold = cfg.effective_probability_threshold
    if predicted is None:
        logger.info("Getting predictions from the endpoint")
        labels = client.predict_labels(dataset.features(), probability_threshold=threshold)
        _check_stop(options)
        frame = frame.assign(**{PREDICTED_LABEL_COLUMN: labels})
        predicted = PREDICTED_LABEL_COLUMN
        threshold = None  # already applied to the scores
    return bias_section(
        frame,
        stage="post_training",
        label=dataset.label,
        label_values_or_threshold=cfg.label_values_or_threshold,
        facets=_facet_specs(cfg, dataset),
        methods=cfg.methods.post_training_bias.metric_names("post_training"),
        predicted_label=predicted,
        group_variable=dataset.group_variable,
        ft_features=dataset.feature_names,
        probability_threshold=threshold,
    )


def _feature_indices(names: list[Any] | None, feature_names: list[str], key: str) -> list[int] | None:
    if names is None:
        return None
    out = []
    for name in names:
        if isinstance(name, int):
            if not 0 <= name < len(feature_names):
                raise UserError(f"{key}: feature index {name} is out of range (0..{len(feature_names) - 1})")
            out.append(name)
        elif name in feature_names:
            out.append(feature_names.index(name))
        else:
            raise UserError(
                f"Feature names not found. {key}: {name!r} is not one of the features {feature_names}"
            )
    return out


def _kernel_shap(
    cfg: AnalysisConfig, dataset: Any, client: Any, output_dir: Path, options: RunOptions
) -> tuple[dict[str, Any], np.ndarray, dict[str, Path]]:
    from analyzer.dataset import load_baseline
    from analyzer.explain import (
        aggregate_shap,
        kernel_shap,
        kmeans_baseline,
        shap_section,
        write_shap_outputs,
    )

    shap_cfg = cfg.methods.shap
    _banner("Calculating SHAP values")
    feature_names = dataset.feature_names
    features_frame = dataset.frame[feature_names]
    if shap_cfg.baseline is not None:
        baseline = load_baseline(shap_cfg.baseline, cfg, feature_names)
        logger.info("Using the baseline given in the config: %d rows", len(baseline))
    else:
        baseline = kmeans_baseline(features_frame, shap_cfg.num_clusters, seed=shap_cfg.seed)
        logger.info("Computed a baseline of %d rows by clustering the dataset", len(baseline))
    to_explain = _feature_indices(
        shap_cfg.features_to_explain, feature_names, "methods.shap.features_to_explain"
    )
    records = dataset.features()
    logger.info("SHAP estimator: %s", options.shap_estimator)

    def progress(done: int, total: int) -> None:
        _check_stop(options)

    result = kernel_shap(
        records,
        _as_rows(baseline),
        client.predict_scores,
        num_samples=shap_cfg.num_samples,
        seed=shap_cfg.seed,
        use_logit=bool(shap_cfg.use_logit),
        features_to_explain=to_explain,
        estimator=options.shap_estimator,
        progress=progress,
    )
    explained = feature_names if to_explain is None else [feature_names[i] for i in to_explain]
    agg = shap_cfg.agg_method or "mean_abs"
    label_headers = cfg.predictor.label_headers if cfg.predictor is not None else None
    section = shap_section(result, explained, agg, label_headers=label_headers)
    join_values = dataset.frame[dataset.join_column] if dataset.join_column else None
    save_local = shap_cfg.save_local_shap_values
    written = write_shap_outputs(
        output_dir,
        result,
        explained,
        baseline,
        label_headers=label_headers,
        join_values=join_values,
        save_local=True if save_local is None else bool(save_local),
    )
    files = {p.name: p for p in written}
    for p in written:
        logger.info("Wrote %s", p.relative_to(output_dir))
    global_values = aggregate_shap(result.local, agg)
    # Global importance per explained feature, summed over labels, for PDP's top_k_features.
    importance = pd.Series(np.abs(global_values).sum(axis=1), index=explained)
    return section, importance, files


def _as_rows(frame: pd.DataFrame) -> np.ndarray:
    values = frame.to_numpy()
    if all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        return values.astype(np.float64)
    return values.astype(object)


def _pdp(
    cfg: AnalysisConfig, dataset: Any, client: Any, shap_importance: pd.Series | None
) -> list[dict[str, Any]]:
    from analyzer.explain import partial_dependence_section

    pdp_cfg = cfg.methods.pdp
    _banner("Calculating partial dependence plots")
    feature_names = dataset.feature_names
    if pdp_cfg.features is not None:
        idx = _feature_indices(pdp_cfg.features, feature_names, "methods.pdp.features")
        features = [feature_names[i] for i in idx]
    else:
        top_k = pdp_cfg.effective_top_k_features
        features = list(shap_importance.sort_values(ascending=False, kind="stable").index[:top_k])
    logger.info("PDP features: %s", ", ".join(features))
    categorical = {
        name for name in feature_names if not pd.api.types.is_numeric_dtype(dataset.frame[name].dtype)
    }
    label_headers = cfg.predictor.label_headers if cfg.predictor is not None else None
    return partial_dependence_section(
        dataset.features(),
        client.predict_scores,
        feature_names,
        features,
        pdp_cfg.effective_grid_resolution,
        categorical,
        label_headers=label_headers,
    )


def _report(
    cfg: AnalysisConfig,
    dataset: Any,
    analysis: dict[str, Any],
    output_dir: Path,
    shap_files: dict[str, Path],
    started: float,
    started_at: str,
    endpoint: EndpointHandle | None,
    options: RunOptions,
) -> None:
    from importlib.metadata import version

    from analyzer.report import write_reports

    report_cfg = cfg.methods.report
    summary = {
        "dataset_uri": dataset.uri,
        "dataset_type": cfg.dataset_type,
        "rows": dataset.n_rows,
        "label": dataset.label,
        "label_values_or_threshold": cfg.label_values_or_threshold,
        "facets": [
            {"name": dataset.facet_columns[f.name_or_index], "value_or_threshold": f.value_or_threshold}
            for f in (cfg.facet or [])
        ],
        "endpoint": (endpoint.description or ", ".join(endpoint.urls) or endpoint.endpoint_name)
        if endpoint
        else "none",
        "methods": [
            n for n in ("pre_training_bias", "post_training_bias", "shap", "pdp") if getattr(cfg.methods, n)
        ],
        "started_at": started_at,
        "elapsed_seconds": time.monotonic() - started,
        "version": version("clarify-runner"),
    }
    written = write_reports(
        analysis,
        output_dir,
        name=report_cfg.effective_name,
        title=report_cfg.effective_title,
        summary=summary,
        local_shap_csv=shap_files.get("out.csv"),
        baseline_csv=shap_files.get("baseline.csv"),
        tolerance=options.report_tolerance,
    )
    for p in written:
        logger.info("Report '%s' generated successfully.", p.name)
