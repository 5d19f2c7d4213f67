"""A Model Monitor execution: bias drift or feature-attribution drift over captured traffic.

The window's captured records (and, for bias, their ground truth, merged on
``inferenceId``/``eventId``) become an ordinary CSV dataset; a derived analysis config runs
through the same plan and runner as every Clarify job (:func:`container.job.run_job`): bias
pre- and post-training ``all`` on the merged records with the captured predictions as the
predicted label, or ``methods.shap`` on the captured inputs against the model. The window's
``analysis.json`` is then compared with the baseline's (:mod:`analyzer.monitor.drift`):
``constraint_violations.json`` is written only when there is a violation (as observed in
Model Monitor outputs), and CloudWatch metric records when asked. Both outcomes exit 0; a
window without traffic fails (Model Monitor marks such executions ``Failed``).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from analyzer.config import decode_config_json
from analyzer.errors import ConfigError, DatasetError, UserError
from analyzer.monitor.capture import CapturedEvent, TimeWindow, merge_events
from analyzer.monitor.cloudwatch import bias_metrics, dumps_metrics, explainability_metrics
from analyzer.monitor.drift import (
    DEFAULT_NDCG_THRESHOLD,
    attribution_drift,
    bias_violations,
    dumps_violations,
)
from analyzer.monitor.records import feature_rows, is_csv, output_values
from analyzer.storage import is_s3

logger = logging.getLogger(__name__)

__all__ = [
    "VIOLATIONS_FILE",
    "MonitorAttributes",
    "MonitorResult",
    "load_baseline",
    "monitor_kind",
    "run_monitor",
]

VIOLATIONS_FILE = "constraint_violations.json"
CLOUDWATCH_FILE = "metrics.jsonl"
PREDICTED_COLUMN = "predicted_label"
MonitorKind = Literal["bias", "explainability"]


@dataclass(frozen=True)
class MonitorAttributes:
    """The ``EndpointInput`` attributes: where features, predictions and labels are."""

    features: str | None = None
    inference: str | None = None
    probability: str | None = None
    probability_threshold: float | None = None
    ground_truth: str | None = None
    exclude_features: tuple[str, ...] = ()


@dataclass
class MonitorResult:
    """What an execution found: the window's analysis, the violations and the files written."""

    kind: MonitorKind
    analysis: dict[str, Any]
    violations: list[dict[str, Any]]
    records: int
    ndcg: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``Completed`` or ``CompletedWithViolations`` (Model Monitor's execution status)."""
        return "CompletedWithViolations" if self.violations else "Completed"


def monitor_kind(config: dict[str, Any], analysis_type: str | None = None) -> MonitorKind:
    """Bias or explainability: ``analysis_type`` when set, else ``methods.shap`` means explainability."""
    if analysis_type:
        upper = analysis_type.upper()
        if "BIAS" in upper:
            return "bias"
        if "EXPLAIN" in upper:
            return "explainability"
        raise ConfigError(f"analysis_type is {analysis_type!r}; expected MODEL_BIAS or MODEL_EXPLAINABILITY")
    methods = config.get("methods") or {}
    if isinstance(methods, dict) and methods.get("shap") is not None:
        return "explainability"
    if config.get("facet") or config.get("label_values_or_threshold") is not None:
        return "bias"
    raise ConfigError(
        "The monitoring analysis config has neither methods.shap (feature-attribution drift) nor "
        "facet/label_values_or_threshold (bias drift)"
    )


def load_baseline(path: str) -> dict[str, Any]:
    """The baseline constraints: a baselining job's ``analysis.json`` (a file, a folder or an S3 URI)."""
    from analyzer.storage import list_files, read_bytes

    files = list_files(path)
    named = [f for f in files if f.rsplit("/", 1)[-1] == "analysis.json"]
    chosen = named[0] if named else files[0] if len(files) == 1 else None
    if chosen is None:
        raise DatasetError(f"No analysis.json in the baseline {path} (the baselining job's output)")
    try:
        data = json.loads(read_bytes(chosen))
    except ValueError as exc:
        raise DatasetError(f"The baseline {chosen} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") is None:
        raise DatasetError(f"The baseline {chosen} is not a Clarify analysis.json (no version key)")
    logger.info("Baseline constraints: %s", chosen)
    return data


def _config(path: str | os.PathLike[str]) -> dict[str, Any]:
    from analyzer.storage import read_bytes

    raw = decode_config_json(read_bytes(str(path)))
    if not isinstance(raw, dict):
        raise ConfigError(f"The analysis config {path} must hold a JSON object")
    return raw


def _locator(value: str | None, csv_output: bool) -> str | int | None:
    if value is None:
        return None
    if csv_output and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _label_locator(cfg: dict[str, Any], attrs: MonitorAttributes) -> str | None:
    if attrs.ground_truth:
        return attrs.ground_truth
    label = cfg.get("label")
    return label if isinstance(label, str) else None


def _feature_names(cfg: dict[str, Any], width: int, label_name: str | None) -> list[str]:
    headers = [str(h) for h in cfg.get("headers") or []]
    names = [h for h in headers if h != label_name] if label_name in headers else headers
    if len(names) == width + 1 and label_name not in headers:
        names = names[:-1]  # JSON Lines: "the last header becomes the header of the label column"
    if not headers:
        names = [f"feature_{i}" for i in range(width)]
    if len(names) != width:
        raise DatasetError(
            f"The captured records have {width} features but the config's headers name {len(names)} "
            f"({', '.join(names)})"
        )
    return names


def _label_name(cfg: dict[str, Any]) -> str:
    headers = [str(h) for h in cfg.get("headers") or []]
    label = cfg.get("label")
    if isinstance(label, str) and label in headers:
        return label
    if isinstance(label, int) and 0 <= label < len(headers):
        return headers[label]
    return headers[-1] if headers else "label"


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[_scalar(v) for v in row] for row in rows])


def _input_rows(events: list[CapturedEvent], attrs: MonitorAttributes) -> list[tuple[CapturedEvent, list]]:
    out = []
    for event in events:
        if event.input is None:
            raise DatasetError(f"{event.source}: the capture has no endpointInput (capture INPUT too)")
        out.append((event, feature_rows(event.input, attrs.features, event.source)))
    return out


def _bias_dataset(
    cfg: dict[str, Any],
    captured: list[CapturedEvent],
    truths: list[Any],
    attrs: MonitorAttributes,
    work: Path,
) -> tuple[dict[str, Any], Path, int]:
    merged = merge_events(captured, truths)
    logger.info(merged.summary())
    if not merged.pairs:
        raise DatasetError(
            f"No captured record in the window has ground truth ({merged.captured} captured, "
            f"{merged.ground_truth} ground-truth records); check the ground-truth keys and the window offsets"
        )
    label_name = _label_name(cfg)
    gt_locator = _label_locator(cfg, attrs)
    rows: list[list[Any]] = []
    threshold: float | None = None
    for event, truth in merged.pairs:
        assert event.input is not None
        features = feature_rows(event.input, attrs.features, event.source)
        if event.output is None:
            raise DatasetError(f"{event.source}: the capture has no endpointOutput (capture OUTPUT too)")
        csv_out = is_csv(event.output.content_type)
        if attrs.inference is not None:
            locator = _locator(attrs.inference, csv_out)
        else:
            locator = _locator(attrs.probability, csv_out)
            threshold = attrs.probability_threshold if attrs.probability_threshold is not None else 0.5
        predicted = output_values(event.output, locator, len(features), event.source)
        gt_loc = None if is_csv(truth.data.content_type) else gt_locator
        labels = output_values(truth.data, gt_loc, len(features), truth.source)
        rows += [[*f, y, p] for f, y, p in zip(features, labels, predicted, strict=True)]
    if attrs.inference is None and attrs.probability is None:
        threshold = attrs.probability_threshold if attrs.probability_threshold is not None else 0.5
        logger.info(
            "No inference or probability attribute: the model output is a score, threshold %s", threshold
        )
    names = _feature_names(cfg, len(rows[0]) - 2, label_name)
    predicted_name = PREDICTED_COLUMN if PREDICTED_COLUMN not in names else f"{PREDICTED_COLUMN}_captured"
    header = [*names, label_name, predicted_name]
    data = work / "window.csv"
    _write_csv(data, header, rows)
    derived: dict[str, Any] = {"dataset_type": "text/csv", "headers": header, "label": label_name,
                               "predicted_label": predicted_name}  # fmt: skip
    for key in ("label_values_or_threshold", "facet", "group_variable"):
        if key in cfg:
            derived[key] = cfg[key]
    if attrs.exclude_features:
        derived["excluded_columns"] = [f for f in attrs.exclude_features if f in names]
    if threshold is not None:
        derived["probability_threshold"] = threshold
    derived["methods"] = {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}
    return derived, data, len(rows)


def _baseline_rows(baseline: Any, features: str | None) -> Any:
    """An inline SHAP baseline in the captured format (JSON rows) as plain rows for the CSV window."""
    if isinstance(baseline, str) or not features:
        return baseline
    import jmespath

    docs = baseline if isinstance(baseline, list) else [baseline]
    rows: list[Any] = []
    for doc in docs:
        if not isinstance(doc, (dict, list)) or (
            isinstance(doc, list) and not any(isinstance(v, (dict, list)) for v in doc)
        ):
            rows.append(doc)  # already a row
            continue
        value = jmespath.search(features, doc)
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            rows.extend(value)
        elif isinstance(value, list):
            rows.append(value)
        else:
            raise ConfigError(
                f"methods.shap.baseline: the features attribute {features!r} finds no row in it"
            )
    return rows


def _explain_dataset(
    cfg: dict[str, Any], captured: list[CapturedEvent], attrs: MonitorAttributes, endpoint_name: str | None,
    work: Path,
) -> tuple[dict[str, Any], Path, int]:  # fmt: skip
    rows: list[list[Any]] = [r for _, event_rows in _input_rows(captured, attrs) for r in event_rows]
    names = _feature_names(cfg, len(rows[0]), None)
    data = work / "window.csv"
    _write_csv(data, names, rows)
    methods = dict(cfg.get("methods") or {})
    shap = dict(methods.get("shap") or {})
    if "baseline" in shap:
        shap["baseline"] = _baseline_rows(shap["baseline"], attrs.features)
    predictor = dict(cfg.get("predictor") or {})
    first = captured[0]
    if "content_type" not in predictor and first.input is not None:
        predictor["content_type"] = first.input.content_type
    if "accept_type" not in predictor and first.output is not None:
        predictor["accept_type"] = first.output.content_type
    csv_out = str(predictor.get("accept_type", "text/csv")) == "text/csv"
    if "label" not in predictor and "probability" not in predictor:
        if attrs.probability is not None:
            predictor["probability"] = _locator(attrs.probability, csv_out)
        elif attrs.inference is not None:
            predictor["label"] = _locator(attrs.inference, csv_out)
    if not any(predictor.get(k) for k in ("model_name", "endpoint_name", "endpoint_name_prefix")):
        if endpoint_name:
            predictor["endpoint_name"] = endpoint_name  # "predictor: optional for real-time endpoint"
    derived: dict[str, Any] = {"dataset_type": "text/csv", "headers": names}
    if attrs.exclude_features:
        derived["excluded_columns"] = [f for f in attrs.exclude_features if f in names]
    derived["methods"] = {"shap": shap}
    derived["predictor"] = predictor
    return derived, data, len(rows)


def run_monitor(
    config_path: str | os.PathLike[str],
    *,
    captured: str,
    baseline: str,
    output: str | os.PathLike[str],
    ground_truth: str | None = None,
    window: TimeWindow | None = None,
    attributes: MonitorAttributes | None = None,
    kind: MonitorKind | None = None,
    analysis_type: str | None = None,
    endpoint_url: str | None = None,
    backend: str = "auto",
    models_file: str | os.PathLike[str] | None = None,
    stop_event: threading.Event | None = None,
    endpoint_name: str | None = None,
    schedule_name: str | None = None,
    cloudwatch_dir: str | os.PathLike[str] | None = None,
    ndcg_threshold: float = DEFAULT_NDCG_THRESHOLD,
    report: bool = False,
) -> MonitorResult:
    """Run one monitoring execution and publish ``analysis.json`` (+ violations) to ``output``.

    Args:
        config_path: The monitoring analysis config (the SDK's ``BiasAnalysisConfig`` /
            ``ExplainabilityAnalysisConfig``; a full processing config works too).
        captured: Folder or ``s3://`` prefix of the captured data.
        baseline: The baseline constraints: the baselining job's ``analysis.json``.
        output: Output folder or ``s3://`` prefix.
        ground_truth: Folder or ``s3://`` prefix of the ground truth (bias drift only).
        window: Captured records outside it are ignored.
        attributes: Where features, predictions and labels are in the captured data.
        kind: ``bias`` or ``explainability``; ``None``: from ``analysis_type`` and the config.
        analysis_type: ``MODEL_BIAS``/``MODEL_EXPLAINABILITY`` (the contract's variable).
        endpoint_url, backend, models_file, stop_event: Where SHAP predictions go (see ``run_job``).
        endpoint_name, schedule_name: CloudWatch dimensions; the endpoint is the predictor when the
            explainability config names none.
        cloudwatch_dir: Write CloudWatch metric records into this folder (``None``: none).
        ndcg_threshold: Feature-attribution drift alert threshold.
        report: Also write the report (needs the ``report`` extra).
    """
    from container.job import _publish, run_job
    from container.monitor_input import read_captured, read_ground_truth

    cfg = _config(config_path)
    kind = kind or monitor_kind(cfg, analysis_type)
    attrs = attributes or MonitorAttributes()
    window = window or TimeWindow()
    logger.info(
        "Starting the Model Monitor %s drift execution", "bias" if kind == "bias" else "feature attribution"
    )
    logger.info("Monitoring window: %s to %s", window.start or "(open)", window.end or "(open)")
    base = load_baseline(baseline)  # before any work: a missing baseline fails at once
    events = read_captured(captured, window)
    if not events:
        raise DatasetError(
            f"No captured data under {captured} in the monitoring window; an execution without traffic fails"
        )
    work = Path(tempfile.mkdtemp(prefix="clarify-runner-monitor-"))
    local_out = None if is_s3(str(output)) else Path(output)
    if local_out is not None:  # staged next to the outputs: published with a rename, never a copy
        local_out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".clarify-runner-monitor-", dir=local_out))
    else:
        staging = work / "output"
    try:
        if kind == "bias":
            if ground_truth is None:
                raise UserError(
                    "Bias drift monitoring needs ground truth (--ground-truth / ground_truth_source)"
                )
            truths = read_ground_truth(ground_truth, window)
            derived, data, n = _bias_dataset(cfg, events, truths, attrs, work)
        else:
            derived, data, n = _explain_dataset(cfg, events, attrs, endpoint_name, work)
        if report:
            derived["methods"]["report"] = {"name": "report", "title": "Analysis Report"}
        logger.info("Monitoring dataset: %d records", n)
        derived_path = work / "analysis_config.json"
        derived_path.write_text(json.dumps(derived, indent=2))
        analysis = run_job(derived_path, data_uri=str(data), output=staging, endpoint_url=endpoint_url,
                           backend=backend, models_file=models_file, stop_event=stop_event)  # fmt: skip
        scores: dict[str, float] = {}
        if kind == "bias":
            violations = bias_violations(analysis, base)
        else:
            drift = attribution_drift(analysis, base, ndcg_threshold)
            violations, scores = drift.violations, drift.scores
            for label, score in scores.items():
                logger.info("Feature attribution NDCG of %s against the baseline: %.6f", label, score)
        for v in violations:
            logger.info("Violation: %s", v["description"])
        if violations:
            (staging / VIOLATIONS_FILE).write_text(dumps_violations(violations))
        logger.info("%d constraint violation(s)", len(violations))
        if cloudwatch_dir is not None:
            when = window.end or datetime.now(UTC)
            make = bias_metrics if kind == "bias" else explainability_metrics
            records = make(analysis, when, endpoint_name, schedule_name)
            folder = Path(cloudwatch_dir)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / CLOUDWATCH_FILE).write_text(dumps_metrics(records))
            logger.info("Wrote %d CloudWatch metric records to %s", len(records), folder / CLOUDWATCH_FILE)
        if local_out is None:
            from container.s3 import upload_outputs

            files = upload_outputs(staging, str(output))
        else:
            stale = local_out / VIOLATIONS_FILE
            if stale.exists():
                stale.unlink()  # a violation file from an earlier run must not outlive it
            files = [str(p) for p in _publish(staging, local_out)]
        result = MonitorResult(kind, analysis, violations, n, scores, files)
        logger.info("Monitoring execution status: %s", result.status)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
