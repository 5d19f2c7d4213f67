"""The executor: runs an :class:`~analyzer.plan.model.AnalysisPlan` on a loaded dataset.

:func:`execute_plan` is I/O-light glue between the pure parts (``analyzer.bias``,
``analyzer.explain``) and the I/O parts (``analyzer.model_client``, ``analyzer.output``,
``analyzer.report``). It applies no default and resolves no config key: the plan did. It
runs the jobs in plan order, writes ``analysis.json`` (and the SHAP files and the report)
into one local folder; publishing that folder (atomically, or to S3) is the caller's job
(``container.job``).

Adding a job kind: add a ``case`` to :func:`_run_job` calling a ``_<kind>`` function that
takes the typed job and writes its section into ``state.analysis``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

import numpy as np
import pandas as pd

from analyzer.datasets.model import Dataset
from analyzer.endpoint import EndpointHandle
from analyzer.errors import ModelError, check_stop
from analyzer.output import write_analysis
from analyzer.plan.model import (
    AnalysisJob,
    AnalysisPlan,
    BiasJob,
    ClusteredBaseline,
    ImageShapJob,
    InlineBaseline,
    PdpJob,
    ShapJob,
    TextShapJob,
    TimeSeriesJob,
    UriBaseline,
)

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.model_client import ModelClient

logger = logging.getLogger(__name__)

#: Column that holds model predictions inside the frame handed to the bias engine.
PREDICTED_LABEL_COLUMN = "__clarify_runner_predicted_label__"

__all__ = ["PREDICTED_LABEL_COLUMN", "RunOptions", "execute_plan"]


@dataclass
class RunOptions:
    """What a run needs besides the plan: how to stop, and what to do once predictions are done."""

    stop_event: threading.Event | None = None
    #: Called once the last prediction is made, so the caller can tear the shadow endpoint
    #: down before the report is written (the real container's order).
    release_endpoint: Callable[[], None] | None = None
    #: Where the outputs are published (S3 prefix or final folder), for result paths written
    #: into ``analysis.json`` (``explanation_results_path`` of time series and images).
    #: Default: output_dir.
    results_uri: str | None = None
    #: Where the results end up (a folder or an ``s3://`` prefix), for the log lines that name
    #: output files as Clarify's do; default: ``output_dir``.
    output_location: str | None = None


@dataclass
class _State:
    """What the jobs of one run share: the results so far and the model client."""

    plan: AnalysisPlan
    dataset: Dataset
    output_dir: Path
    client: ModelClient | None
    options: RunOptions
    analysis: dict[str, Any] = field(default_factory=lambda: {"version": "1.0"})
    explanations: dict[str, Any] = field(default_factory=dict)
    shap_files: dict[str, Path] = field(default_factory=dict)
    shap_importance: pd.Series | None = None
    endpoint: EndpointHandle | None = None
    #: Report sections, built only when the report is written (after the endpoint is released).
    report_sections: list[Callable[[], list[Any]]] = field(default_factory=list)

    def require_client(self) -> ModelClient:
        assert self.client is not None, "the plan needs the model but no client was opened"
        return self.client


def _banner(text: str) -> None:
    line = "=" * (len(text) + 2)
    logger.info(line)
    logger.info(text)
    logger.info(line)


def _image_shap(state: _State, job: ImageShapJob) -> dict[str, Any]:
    from analyzer.image_job import run_image_shap
    from analyzer.image_outputs import LOCAL_FILE
    from analyzer.model_client.images import ImageModelClient

    _banner("Calculating SHAP values (images)")
    client = state.require_client()
    assert isinstance(client, ImageModelClient)
    run = run_image_shap(
        job,
        state.dataset.uri,
        [str(name) for name in state.dataset.frame["image"]],
        client,
        state.output_dir,
        results_path=_published(state, LOCAL_FILE),
        after_image=lambda: check_stop(state.options.stop_event),
    )
    for p in run.files:
        logger.info("Wrote %s", _shown(state, p.relative_to(state.output_dir)))
    return run.section


def execute_plan(
    plan: AnalysisPlan,
    dataset: Dataset,
    *,
    output_dir: str | Path,
    endpoint: EndpointHandle | None,
    options: RunOptions | None = None,
) -> dict[str, Any]:
    """Run every job of ``plan`` on ``dataset`` and write the results into ``output_dir``.

    Args:
        plan: The analysis plan (:func:`analyzer.plan.build.build_plan`).
        dataset: The loaded dataset (:func:`analyzer.datasets.loader.load_planned`).
        output_dir: Folder that receives ``analysis.json``, ``explanations_shap/`` and the report.
        endpoint: Where predictions go; ``None`` when no job needs the model.
        options: Stop event and endpoint release callback.

    Returns:
        The analysis dict (as written to ``analysis.json``).
    """
    options = options or RunOptions()
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    names = [_job_name(job) for job in plan.jobs]
    logger.info("Methods to run: %s", ", ".join(names))

    client = None
    if plan.needs_model and plan.job(TimeSeriesJob) is None:  # time series: its own client
        if endpoint is None or plan.model is None:
            raise ValueError("the plan needs model predictions but no endpoint was given")
        from analyzer.model_client import ModelClient

        client_type = ModelClient
        if plan.job(ImageShapJob) is not None:
            from analyzer.model_client.images import ImageModelClient as client_type
        client = client_type.for_endpoint(
            endpoint, plan.model.client, feature_names=plan.dataset.feature_columns
        )
    state = _State(plan, dataset, Path(output_dir), client, options, endpoint=endpoint)
    try:
        for job in plan.jobs:
            _run_job(state, job)
            check_stop(options.stop_event)
        if state.explanations:
            state.analysis["explanations"] = state.explanations
    finally:
        if client is not None:
            client.log_summary()
            client.close()
        if options.release_endpoint is not None:
            options.release_endpoint()

    path = write_analysis(state.output_dir, state.analysis)
    if plan.report is not None:
        _report(state, names, started, started_at, endpoint)
    # Clarify prints the whole analysis.json last, after the reports
    logger.info("Collected analyses: \n%s", path.read_text(encoding="utf-8"))
    return state.analysis


def _shown(state: _State, relative: str | Path) -> str:
    """An output file as the log names it: under the final output location, as Clarify's log."""
    base = state.options.output_location or str(state.output_dir)
    return f"{base.rstrip('/')}/{Path(relative).as_posix()}"


def _published(state: _State, relative: str) -> str:
    """An output file as ``analysis.json`` points to it: under ``RunOptions.results_uri`` (the
    ``analysis_result`` S3 URI or the final folder), as time series' ``explanation_results_path``."""
    base = state.options.results_uri or str(state.output_dir)
    return f"{base.rstrip('/')}/{relative}"


def _job_name(job: AnalysisJob) -> str:
    match job:
        case ImageShapJob():
            return "shap"
        case BiasJob():
            return f"{job.stage}_bias"
        case ShapJob() | TextShapJob():
            return "shap"
        case PdpJob():
            return "pdp"
        case TimeSeriesJob():
            return "asymmetric_shapley_value"
        case _:
            assert_never(job)


def _run_job(state: _State, job: AnalysisJob) -> None:
    match job:
        case ImageShapJob():
            state.explanations["image_shap"] = _image_shap(state, job)
        case BiasJob():
            state.analysis[job.section] = _bias(state, job)
        case ShapJob():
            state.explanations["kernel_shap"] = _kernel_shap(state, job)
        case TextShapJob():
            state.explanations["kernel_shap"] = _text_shap(state, job)
        case PdpJob():
            state.explanations["pdp"] = _pdp(state, job)
        case TimeSeriesJob():
            state.explanations["asymmetric_shapley_value"] = _time_series(state, job)
        case _:
            assert_never(job)


def _bias(state: _State, job: BiasJob) -> dict[str, Any]:
    """One bias section over the dataset's chunks (a loaded frame is one chunk); predictions
    from the model are made chunk by chunk, once, and kept for the later passes."""
    from analyzer.bias import FacetSpec, bias_section_chunks

    post = job.stage == "post_training"
    _banner(f"Calculating {job.stage.replace('_', '-')} bias metrics")
    dataset = state.dataset
    predicted = job.predicted_label
    columns = [f.column for f in job.facets] + [job.label, predicted, job.group_variable]
    wanted = [c for c in dict.fromkeys(columns) if c is not None and c in dataset.frame.columns]
    from_model = post and predicted is None
    chunks = dataset.chunks(wanted + (dataset.feature_names if from_model else []))
    if from_model:
        logger.info("Getting predictions from the endpoint")
        chunks = _predicted_chunks(state, job, chunks)
        predicted = PREDICTED_LABEL_COLUMN
    ft = None
    if post and "FT" in job.metrics and dataset.source is None:
        frame = dataset.frame
        if from_model:
            frame = frame.assign(**{PREDICTED_LABEL_COLUMN: np.concatenate(
                [c[PREDICTED_LABEL_COLUMN].to_numpy() for c in chunks()])})
        ft = (frame, list(job.ft_features))
    return bias_section_chunks(
        chunks,
        [*dataset.frame.columns, *([PREDICTED_LABEL_COLUMN] if from_model else [])],
        stage=job.stage,
        label=job.label,
        label_values_or_threshold=list(job.label_values_or_threshold),
        facets=[
            FacetSpec(f.column, list(f.value_or_threshold) if f.value_or_threshold is not None else None)
            for f in job.facets
        ],
        methods=list(job.metrics),
        predicted_label=predicted,
        group_variable=job.group_variable,
        probability_threshold=job.probability_threshold,
        ft=ft,
    )


def _predicted_chunks(state: _State, job: BiasJob, chunks: Callable[[], Any]) -> Callable[[], Any]:
    """``chunks`` with the model's predicted labels added as a column (asked once per chunk)."""
    from analyzer.datasets.model import features_array

    names = state.dataset.feature_names
    labels: list[np.ndarray] = []

    def with_predictions() -> Any:
        for i, chunk in enumerate(chunks()):
            if i == len(labels):
                labels.append(
                    state.require_client().predict_labels(
                        features_array(chunk, names), probability_threshold=job.probability_threshold
                    )
                )
                check_stop(state.options.stop_event)
            yield chunk.assign(**{PREDICTED_LABEL_COLUMN: labels[i]})

    return with_predictions


def _baseline_frame(state: _State, job: ShapJob) -> pd.DataFrame:
    from analyzer.dataset import load_baseline
    from analyzer.explain import kmeans_baseline

    source = job.baseline
    features = list(job.features)
    match source:
        case InlineBaseline() | UriBaseline():
            value = source.value if isinstance(source, InlineBaseline) else source.uri
            baseline = load_baseline(value, state.plan.dataset, features)
            assert baseline is not None
            logger.info("Using the baseline given in the config: %d rows", len(baseline))
        case ClusteredBaseline():
            baseline = kmeans_baseline(state.dataset.frame[features], source.num_clusters, seed=job.seed)
            logger.info("Computed a baseline of %d rows by clustering the dataset", len(baseline))
        case _:
            assert_never(source)
    return baseline


def _label_names(headers: tuple[str | int, ...] | None, n_outputs: int) -> list[str]:
    """``predictor.label_headers`` (checked against the model's outputs), else ``label0``, ``label1``..."""
    if headers is None:
        return [f"label{k}" for k in range(n_outputs)]
    if len(headers) != n_outputs:
        raise ModelError(
            f"predictor.label_headers has {len(headers)} names but the model returns {n_outputs} scores "
            "per record; give one name per score (or set predictor.probability to select the scores)"
        )
    return [str(h) for h in headers]


def _kernel_shap(state: _State, job: ShapJob) -> dict[str, Any]:
    from analyzer.explain import aggregate_shap, default_num_samples, kernel_shap, shap_section
    from analyzer.output import write_shap_outputs

    explained = list(job.explained_names)
    n_samples = job.num_samples if job.num_samples is not None else default_num_samples(len(explained))
    logger.info("SHAP n_samples %d", n_samples)
    _banner("Calculating SHAP values")
    client = state.require_client()
    baseline = _baseline_frame(state, job)
    records = state.dataset.features()
    logger.info("SHAP estimator: %s", job.estimator)
    _banner(f"Shap analyzer: explaining {len(records)} rows, {len(explained)} columns...")

    def progress(done: int, total: int) -> None:
        check_stop(state.options.stop_event)

    result = kernel_shap(
        records,
        _as_rows(baseline),
        client.predict_scores,
        num_samples=job.num_samples,
        seed=job.seed,
        use_logit=job.use_logit,
        features_to_explain=list(job.explained) if job.explained is not None else None,
        estimator=job.estimator,
        progress=progress,
    )
    labels = _label_names(job.label_headers, result.local.shape[2])
    section = shap_section(result, explained, job.agg_method, label_headers=labels)
    dataset = state.dataset
    join_values = dataset.frame[dataset.join_column] if dataset.join_column else None
    written = write_shap_outputs(
        state.output_dir,
        result,
        explained,
        baseline,
        label_headers=labels,
        join_values=join_values,
        save_local=job.save_local_shap_values,
    )
    state.shap_files.update({p.name: p for p in written})
    _log_shap_files(state, written, len(records))
    logger.info("Shap analysis finished.")
    global_values = aggregate_shap(result.local, job.agg_method)
    # Global importance per explained feature, summed over labels, for PDP's top_k_features.
    state.shap_importance = pd.Series(np.abs(global_values).sum(axis=1), index=explained)
    return section


def _log_shap_files(state: _State, written: list[Path], n_records: int) -> None:
    """Clarify's lines for the files of ``explanations_shap/``, named where they end up."""
    for p in written:
        relative = p.relative_to(state.output_dir)
        if p.name.startswith("baseline"):
            logger.info("Wrote baseline used to compute explanations to: %s", _shown(state, relative))
        else:
            logger.info("Wrote %d local explanations to: %s", n_records, _shown(state, relative))


def _text_shap(state: _State, job: TextShapJob) -> dict[str, Any]:
    from analyzer.text_job import run_text_shap

    _banner("Calculating SHAP values (text)")
    run = run_text_shap(
        job,
        state.dataset,
        state.plan.dataset,
        state.require_client().predict_scores,
        state.output_dir,
        label_names=lambda n: _label_names(job.shap.label_headers, n),
        progress=lambda done, total: check_stop(state.options.stop_event),
    )
    state.shap_files.update({p.name: p for p in run.files})
    _log_shap_files(state, run.files, state.dataset.n_rows)
    state.shap_importance = run.importance
    return run.section


def _as_rows(frame: pd.DataFrame) -> np.ndarray:
    values = frame.to_numpy()
    if all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        return values.astype(np.float64)
    return values.astype(object)


def _pdp(state: _State, job: PdpJob) -> list[dict[str, Any]]:
    from analyzer.explain import partial_dependence_section

    _banner("Calculating partial dependence plots")
    dataset = state.dataset
    feature_names = dataset.feature_names
    if job.features is not None:
        features = list(job.features)
    else:
        importance = state.shap_importance
        assert importance is not None, "the plan runs SHAP before a PDP without features"
        features = list(importance.sort_values(ascending=False, kind="stable").index[: job.top_k_features])
    logger.info("PDP features: %s", ", ".join(features))
    categorical = {
        name for name in feature_names if not pd.api.types.is_numeric_dtype(dataset.frame[name].dtype)
    }
    client = state.require_client()
    section = partial_dependence_section(
        dataset.features(),
        client.predict_scores,
        feature_names,
        features,
        job.grid_resolution,
        categorical,
    )
    if section and job.label_headers is not None:
        names = _label_names(job.label_headers, len(section[0]["model_predictions"]))
        for entry in section:
            entry["label_headers"] = names
    return section


def _time_series(state: _State, job: TimeSeriesJob) -> dict[str, Any]:
    """Asymmetric Shapley values of every item's forecast; writes ``out.jsonl``."""
    from analyzer.model_client.forecast import ForecastEndpoint
    from analyzer.time_series import explain_series

    _banner("Calculating asymmetric Shapley values")
    series = state.dataset.series
    model = state.plan.model
    assert series is not None and model is not None and state.endpoint is not None
    with ForecastEndpoint.for_endpoint(state.endpoint, model.client, job.forecast) as endpoint:
        try:
            run = explain_series(
                job,
                series,
                endpoint,
                output_dir=state.output_dir,
                output_uri=state.options.results_uri or str(state.output_dir),
                output_location=state.options.output_location,
                check_stop=lambda: check_stop(state.options.stop_event),
            )
        finally:
            endpoint.client.log_summary()
    if state.plan.report is not None:  # Clarify writes no report for time series; ours gets a section
        from analyzer.report.time_series import time_series_blocks

        state.report_sections.append(lambda: time_series_blocks(run.result))
    return run.section


def _report(
    state: _State, methods: list[str], started: float, started_at: str, endpoint: EndpointHandle | None
) -> None:
    from importlib.metadata import version

    from analyzer.report import write_reports

    report = state.plan.report
    assert report is not None
    dataset = state.dataset
    bias = next((j for j in state.plan.jobs if isinstance(j, BiasJob)), None)
    summary = {
        "dataset_uri": dataset.uri,
        "dataset_type": state.plan.dataset.dataset_type,
        "rows": dataset.n_rows,
        "label": dataset.label,
        "label_values_or_threshold": list(bias.label_values_or_threshold) if bias is not None else None,
        "facets": [
            {
                "name": f.column,
                "value_or_threshold": (
                    list(f.value_or_threshold) if f.value_or_threshold is not None else None
                ),
            }
            for f in (bias.facets if bias is not None else ())
        ],
        "endpoint": (endpoint.description or ", ".join(endpoint.urls) or endpoint.endpoint_name)
        if endpoint
        else "none",
        "methods": _report_methods(methods),
        "started_at": started_at,
        "elapsed_seconds": time.monotonic() - started,
        "version": version("clarify-runner"),
    }
    written = write_reports(
        state.analysis,
        state.output_dir,
        name=report.name,
        title=report.title,
        summary=summary,
        local_shap_csv=state.shap_files.get("out.csv"),
        baseline_csv=state.shap_files.get("baseline.csv"),
        tolerance=report.tolerance,
        sections=[block for build in state.report_sections for block in build()] or None,
        local_shap_jsonl=state.shap_files.get("out.jsonl"),
    )
    kinds = {".html": "HTML report", ".pdf": "PDF report", ".ipynb": "Notebook report"}
    for p in written:
        logger.info(
            "%s '%s' generated successfully.",
            kinds.get(p.suffix, "Report"),
            _shown(state, p.relative_to(state.output_dir)),
        )


def _report_methods(names: list[str]) -> list[str]:
    """Method names in the order the report lists them (pre-training first, as before)."""
    order = ("pre_training_bias", "post_training_bias", "shap", "pdp")
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))
