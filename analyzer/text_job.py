"""Run a :class:`~analyzer.plan.text.TextShapJob` on a loaded dataset (glue, called by the runner).

Order: the baseline (``methods.shap.baseline`` as rows or a URI, else ``""`` for text and the
clustered baseline for the other features), the text columns (decided on the data and the
baseline, :func:`analyzer.explain.text.infer_text_columns`), the segmenter (which spaCy
pipeline is used is logged), Kernel SHAP per record through the model client
(:func:`analyzer.explain.text.explain_text`), then ``explanations.kernel_shap`` with
``global_top_shap_text`` and the files ``explanations_shap/out.jsonl`` and ``baseline.csv``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, assert_never

import numpy as np
import pandas as pd

from analyzer.datasets.baseline import load_baseline
from analyzer.datasets.model import Dataset
from analyzer.errors import ConfigError, DatasetError, UserError
from analyzer.explain.text import (
    Segmenter,
    TextShapSpec,
    explain_text,
    feature_data_types,
    infer_text_columns,
    text_baseline,
    text_baseline_problems,
    text_shap_section,
)
from analyzer.explain.text.columns import MIN_TEXT_WORDS
from analyzer.plan.model import AnalysisPlan, ClusteredBaseline, DatasetPlan, InlineBaseline, UriBaseline
from analyzer.plan.text import TextShapJob
from analyzer.text_output import write_text_outputs

__all__ = ["TextShapRun", "run_text_shap", "text_data_problems"]

log = logging.getLogger(__name__)


@dataclass
class TextShapRun:
    """What a text SHAP job produced: its ``kernel_shap`` section, the files written, and the
    global importance of the non-text features (summed over labels), for PDP's ``top_k_features``
    (partial dependence over free text is not meaningful)."""

    section: dict[str, Any]
    files: list[Path]
    importance: pd.Series


def _given_baseline(job: TextShapJob, plan: DatasetPlan) -> pd.DataFrame | None:
    source = job.shap.baseline
    features = list(job.shap.features)
    match source:
        case InlineBaseline() | UriBaseline():
            value = source.value if isinstance(source, InlineBaseline) else source.uri
            baseline = load_baseline(value, plan, features)
            assert baseline is not None
            log.info("Using the baseline given in the config: %d rows", len(baseline))
            return baseline
        case ClusteredBaseline():
            return None
        case _:
            assert_never(source)


def _text_columns(
    job: TextShapJob, dataset: Dataset, plan: DatasetPlan
) -> tuple[pd.DataFrame | None, list[int]]:
    """The configured baseline (``None``: none given) and the indices of the text features."""
    names = list(job.shap.features)
    given = _given_baseline(job, plan)
    text_columns = infer_text_columns(dataset.frame[names], given)
    if not text_columns:
        raise DatasetError(
            "methods.shap.text_config is set, but no feature column looks like free text (a string column "
            f"whose median value has {MIN_TEXT_WORDS} or more words, or whose methods.shap.baseline value is "
            f'a placeholder that is not in the data such as "[MASK]"); features: {names}'
        )
    if given is not None:
        problems = text_baseline_problems(given, names, text_columns)
        if problems:
            raise ConfigError("\n".join(f"methods.shap.baseline {p}" for p in problems))
    return given, text_columns


def text_data_problems(plan: AnalysisPlan, dataset: Dataset) -> list[str]:
    """What a text SHAP job of ``plan`` would stop on in the loaded ``dataset`` (``validate``
    reports it): no text column, a number where a baseline replacement string belongs."""
    job = plan.job(TextShapJob)
    if job is None:
        return []
    try:
        _text_columns(job, dataset, plan.dataset)
    except UserError as exc:
        return [str(exc)]
    return []


def run_text_shap(
    job: TextShapJob,
    dataset: Dataset,
    plan: DatasetPlan,
    predict: Callable[[np.ndarray], np.ndarray],
    output_dir: Path,
    *,
    label_names: Callable[[int], list[str]],
    progress: Callable[[int, int], None] | None = None,
) -> TextShapRun:
    """Explain every record of ``dataset`` with ``job``; write ``explanations_shap/``.

    ``label_names(n)`` names the model's ``n`` outputs (``predictor.label_headers`` checked).

    Raises:
        DatasetError: no feature column holds free text.
        ConfigError: a configured baseline has a number where a text replacement string belongs.
    """
    shap = job.shap
    names = list(shap.features)
    features = dataset.frame[names]
    given, text_columns = _text_columns(job, dataset, plan)
    log.info("Text features: %s", ", ".join(names[j] for j in text_columns))
    clusters = shap.baseline.num_clusters if isinstance(shap.baseline, ClusteredBaseline) else None
    baseline = text_baseline(given, features, text_columns, num_clusters=clusters, seed=shap.seed)
    segmenter = Segmenter(job.granularity, job.code, job.pipelines)
    log.info(
        "Text units: %s, language %s (%s): %s",
        job.granularity,
        job.language,
        job.code,
        segmenter.info.description,
    )
    spec = TextShapSpec(
        job.granularity,
        job.code,
        tuple(text_columns),
        num_samples=shap.num_samples,
        seed=shap.seed,
        use_logit=shap.use_logit,
        estimator=shap.estimator,
    )
    result = explain_text(
        dataset.features().astype(object),
        baseline.to_numpy(dtype=object),
        predict,
        spec,
        segmenter=segmenter,
        progress=progress,
    )
    labels = label_names(result.n_outputs)
    section = text_shap_section(result, names, shap.agg_method, job.max_top_tokens, labels)
    join_values = dataset.frame[dataset.join_column].tolist() if dataset.join_column is not None else None
    files = write_text_outputs(
        output_dir,
        result,
        names,
        feature_data_types(features, text_columns),
        baseline,
        join_values=join_values,
        save_local=shap.save_local_shap_values,
    )
    others = [n for j, n in enumerate(names) if j not in text_columns]
    importance = pd.Series(
        [sum(abs(section[label]["global_shap_values"][n]) for label in labels) for n in others],
        index=others,
        dtype=float,
    )
    return TextShapRun(section, files, importance)
