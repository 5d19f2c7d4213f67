"""NLP explanations (``methods.shap.text_config``): text units as Kernel SHAP players.

Typical use (what :mod:`analyzer.text_job` does for ``clarify-runner run``; pure computation
here, the files are written by :mod:`analyzer.text_output`)::

    text_cols = infer_text_columns(features_df, given_baseline)
    baseline = text_baseline(given_baseline, features_df, text_cols, num_clusters=..., seed=...)
    spec = TextShapSpec(granularity, code, tuple(text_cols), num_samples=..., seed=..., use_logit=...)
    result = explain_text(features_df.to_numpy(object), baseline.to_numpy(object),
                          client.predict_scores, spec)
    analysis["explanations"]["kernel_shap"] = text_shap_section(
        result, names, agg_method, max_top_tokens, label_headers)

``code`` is a spaCy language code (``en``, ``de``, ``xx``); :mod:`analyzer.plan.text` turns
Clarify's language names and codes into it.

Modules: :mod:`.segment` (spaCy units), :mod:`.game` (players, perturbed inputs),
:mod:`.engine` (Kernel SHAP per record, batched model calls), :mod:`.columns` (text column
detection, data types, default baseline), :mod:`.outputs` (``out.jsonl`` lines'
content, ``analysis.json``).
"""

from analyzer.explain.text.columns import (
    CATEGORICAL,
    DEFAULT_TEXT_BASELINE,
    FREE_TEXT,
    NUMERICAL,
    feature_data_types,
    infer_text_columns,
    text_baseline,
    text_baseline_problems,
)
from analyzer.explain.text.engine import (
    PredictFn,
    TextRecordShap,
    TextShapResult,
    TextShapSpec,
    explain_text,
)
from analyzer.explain.text.outputs import (
    DEFAULT_MAX_TOP_TOKENS,
    global_top_shap_text,
    record_explanations,
    text_shap_section,
)
from analyzer.explain.text.segment import GRANULARITIES, PipelineInfo, Segmenter, TextUnit

__all__ = [
    "CATEGORICAL",
    "DEFAULT_MAX_TOP_TOKENS",
    "DEFAULT_TEXT_BASELINE",
    "FREE_TEXT",
    "GRANULARITIES",
    "NUMERICAL",
    "PipelineInfo",
    "PredictFn",
    "Segmenter",
    "TextRecordShap",
    "TextShapResult",
    "TextShapSpec",
    "TextUnit",
    "explain_text",
    "feature_data_types",
    "global_top_shap_text",
    "infer_text_columns",
    "record_explanations",
    "text_baseline",
    "text_baseline_problems",
    "text_shap_section",
]
