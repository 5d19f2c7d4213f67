"""NLP explanations (``methods.shap.text_config``): text units as Kernel SHAP players.

Typical use by the job (pure computation first, then I/O)::

    text_cols = infer_text_columns(features_df, given_baseline)
    baseline = text_baseline(given_baseline, features_df, text_cols, num_clusters=..., seed=...)
    spec = TextShapSpec(granularity, language, tuple(text_cols), num_samples=..., seed=..., use_logit=...)
    result = explain_text(features_df.to_numpy(object), baseline.to_numpy(object),
                          client.predict_scores, spec)
    analysis["explanations"]["kernel_shap"] = text_shap_section(
        result, names, agg_method, max_top_tokens, label_headers)
    write_text_outputs(output_dir, result, names, feature_data_types(features_df, text_cols),
                       baseline, join_values=..., save_local=...)

Modules: :mod:`.segment` (spaCy units), :mod:`.game` (players, perturbed inputs),
:mod:`.engine` (Kernel SHAP per record, batched model calls), :mod:`.columns` (text column
detection, data types, default baseline), :mod:`.outputs` (``out.jsonl``, ``analysis.json``).
"""

from analyzer.explain.text.columns import (
    CATEGORICAL,
    DEFAULT_TEXT_BASELINE,
    FREE_TEXT,
    NUMERICAL,
    feature_data_types,
    infer_text_columns,
    text_baseline,
)
from analyzer.explain.text.engine import (
    PredictFn,
    TextRecordShap,
    TextShapResult,
    TextShapSpec,
    explain_text,
)
from analyzer.explain.text.languages import language_code
from analyzer.explain.text.outputs import (
    global_top_shap_text,
    jsonl_lines,
    record_explanations,
    text_shap_section,
    write_text_outputs,
)
from analyzer.explain.text.segment import PipelineInfo, Segmenter, TextUnit

__all__ = [
    "CATEGORICAL",
    "DEFAULT_TEXT_BASELINE",
    "FREE_TEXT",
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
    "jsonl_lines",
    "language_code",
    "record_explanations",
    "text_baseline",
    "text_shap_section",
    "write_text_outputs",
]
