"""Text SHAP (``methods.shap.text_config``) in the analysis plan: its job and its checks.

:class:`TextShapJob` is the :class:`~analyzer.plan.model.ShapJob` of the config plus the
text settings, resolved: ``granularity``, the spaCy language ``code`` of Clarify's
``language`` (any of its 62 names and codes, any letter case; ``multi-language`` is ``xx``),
``max_top_tokens`` (default 50) and the spaCy pipelines named in
``CLARIFY_RUNNER_SPACY_PIPELINES``. :func:`plan_text_job` finds every problem that can be
found without the data rows and the model, so ``clarify-runner validate`` reports them
before any endpoint starts: an unknown language or granularity, a negative
``max_top_tokens``, a request format that cannot carry text, a missing ``text`` (or
``text-ja``, ``text-th``) extra, a malformed ``CLARIFY_RUNNER_SPACY_PIPELINES``.

Which columns hold text is decided on the data (:func:`analyzer.explain.text.infer_text_columns`)
by the job (:mod:`analyzer.text_job`).

Imports other than the standard library happen inside the functions: :mod:`analyzer.plan.model`
imports this module, and must stay importable without the rest of clarify-runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig
    from analyzer.plan.model import DatasetPlan, ShapJob

__all__ = [
    "DEFAULT_MAX_TOP_TOKENS",
    "PIPELINES_VARIABLE",
    "TextShapJob",
    "language_code",
    "parse_pipelines",
    "plan_text_job",
]

PIPELINES_VARIABLE = "CLARIFY_RUNNER_SPACY_PIPELINES"
#: request formats that carry text (``application/x-npy`` cannot)
_TEXT_CONTENT_TYPES = ("text/csv", "application/jsonlines", "application/json")
#: languages whose spaCy tokenizer needs an extra beyond ``text``
_LANGUAGE_EXTRAS = {"ja": "text-ja", "th": "text-th"}
_KEY = "methods.shap.text_config"
#: ``max_top_tokens`` when not given: "Defaults to 50" (DOC-2023 configure-analysis)
DEFAULT_MAX_TOP_TOKENS = 50


@dataclass(frozen=True)
class TextShapJob:
    """``methods.shap`` with ``text_config``: Kernel SHAP with text units as players.

    ``shap`` holds the settings shared with tabular SHAP (baseline source, samples, seed, link,
    aggregation, local values, estimator, label headers). ``code`` is the spaCy language code
    of ``language`` (as configured); ``pipelines`` maps spaCy codes to the pipeline to use.
    """

    shap: ShapJob
    granularity: str
    language: str
    code: str
    max_top_tokens: int
    pipelines: Mapping[str, str] = field(default_factory=dict)

    @property
    def needs_model(self) -> bool:
        """Text SHAP always calls the model."""
        return True


def language_code(language: str) -> str | None:
    """The spaCy code of a Clarify ``language`` (a name or a code, any letter case), or ``None``."""
    from analyzer.config import TEXT_LANGUAGES

    key = str(language).strip().lower()
    names = dict(zip(TEXT_LANGUAGES[0::2], TEXT_LANGUAGES[1::2], strict=True))
    if key in names.values():
        return key
    return names.get(key)


def parse_pipelines(raw: str | None, problems: list[str]) -> dict[str, str]:
    """``CLARIFY_RUNNER_SPACY_PIPELINES`` (``code=pipeline,...``; names allowed) as ``{code: pipeline}``.

    Each malformed entry or unknown language adds a message to ``problems``.
    """
    out: dict[str, str] = {}
    for entry in (raw or "").split(","):
        if not entry.strip():
            continue
        language, sep, value = entry.partition("=")
        if not sep or not value.strip():
            problems.append(
                f"{PIPELINES_VARIABLE}: entry {entry.strip()!r} is not code=pipeline (e.g. en=en_core_web_md)"
            )
            continue
        code = language_code(language)
        if code is None:
            problems.append(
                f"{PIPELINES_VARIABLE}: {language.strip()!r} is not a language Clarify accepts "
                "(a name or code such as english/en)"
            )
            continue
        out[code] = value.strip()
    return out


def _pipeline_problem(code: str, pipeline: str) -> str | None:
    """Why the pipeline named for ``code`` cannot be loaded, or ``None``."""
    from analyzer.explain.text.segment import BLANK

    if pipeline == BLANK or Path(pipeline).is_dir():
        return None
    import spacy

    if spacy.util.is_package(pipeline):
        return None
    return (
        f"{PIPELINES_VARIABLE}: the pipeline {pipeline!r} for language {code!r} is neither an installed "
        "spaCy package nor a folder"
    )


def plan_text_job(
    cfg: AnalysisConfig, shap: ShapJob, dataset: DatasetPlan, problems: list[str]
) -> TextShapJob:
    """The text SHAP job of ``cfg`` (which has ``methods.shap.text_config``); problems go to ``problems``."""
    from analyzer.config import TEXT_GRANULARITIES as GRANULARITIES
    from analyzer.extras import FEATURES
    from analyzer.plan.defaults import request_content_type
    from analyzer.settings import runner_settings
    from clarify_common.extras import missing_extra_message

    assert cfg.methods.shap is not None and cfg.methods.shap.text_config is not None
    text = cfg.methods.shap.text_config
    granularity = str(text.granularity).lower()
    if granularity not in GRANULARITIES:
        problems.append(f"{_KEY}.granularity: {text.granularity!r} is not one of {', '.join(GRANULARITIES)}")
    code = language_code(text.language)
    if code is None:
        problems.append(
            f"{_KEY}.language: {text.language!r} is not supported; use a language name or code Clarify "
            "accepts, such as 'english'/'en', 'german'/'de' or 'multi-language'/'xx'"
        )
    max_top = DEFAULT_MAX_TOP_TOKENS if text.max_top_tokens is None else int(text.max_top_tokens)
    if max_top < 0:
        problems.append(f"{_KEY}.max_top_tokens: must be 0 or more, got {max_top}")
    if not dataset.feature_columns:
        problems.append(f"{_KEY}: the dataset has no feature column to hold text")
    if cfg.predictor is not None:
        content_type = request_content_type(cfg.predictor.content_type, cfg.dataset_type)
        if content_type is not None and content_type.lower() not in _TEXT_CONTENT_TYPES:
            problems.append(
                f"predictor.content_type: {content_type!r} cannot carry text; with {_KEY} use one of "
                f"{', '.join(_TEXT_CONTENT_TYPES)}"
            )
    extras = ["text"]
    if code in _LANGUAGE_EXTRAS and granularity != "paragraph":
        extras.append(_LANGUAGE_EXTRAS[code])
    missing = [m for m in (missing_extra_message(e, FEATURES[e]) for e in extras) if m is not None]
    problems += missing
    pipelines = parse_pipelines(runner_settings().spacy_pipelines, problems)
    if code is not None and code in pipelines and not missing and granularity != "paragraph":
        problem = _pipeline_problem(code, pipelines[code])
        if problem is not None:
            problems.append(problem)
    return TextShapJob(
        shap=shap,
        granularity=granularity,
        language=text.language,
        code=code or "",
        max_top_tokens=max_top,
        pipelines=pipelines,
    )
