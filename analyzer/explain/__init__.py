"""Kernel SHAP (Clarify-identical replay of shap's KernelExplainer, batched) and PDP.

Typical use by the job::

    baseline = kmeans_baseline(features_df, cfg.methods.shap.num_clusters, seed)   # or the given rows
    result = kernel_shap(records, baseline.to_numpy(), client.predict_scores, num_samples=...,
                         seed=..., use_logit=..., features_to_explain=[column indices])
    analysis["explanations"]["kernel_shap"] = shap_section(result, feature_names, agg_method, label_headers)
    analyzer.output.write_shap_outputs(output_dir, result, feature_names, baseline, ...)   # the files
    features = pdp.features or top_k_features(analysis["explanations"]["kernel_shap"], pdp.top_k_features)
    analysis["explanations"]["pdp"] = partial_dependence_section(records, client.predict_scores, ...)

``estimator="leverage"`` selects the faster-converging sampler, which is NOT Clarify-identical.
"""

from analyzer.explain.baseline import kmeans_baseline
from analyzer.explain.kernel_shap import ESTIMATORS, KernelShapResult, PredictFn, kernel_shap
from analyzer.explain.pdp import partial_dependence_section, top_k_features
from analyzer.explain.plan import default_num_samples
from analyzer.explain.results import (
    AGG_METHODS,
    aggregate_shap,
    label_keys,
    local_frame,
    shap_section,
)

__all__ = [
    "AGG_METHODS",
    "ESTIMATORS",
    "KernelShapResult",
    "PredictFn",
    "aggregate_shap",
    "default_num_samples",
    "kernel_shap",
    "kmeans_baseline",
    "label_keys",
    "local_frame",
    "partial_dependence_section",
    "shap_section",
    "top_k_features",
]
