"""Which trained spaCy pipelines exist for a language code.

Clarify's ``text_config.language`` values (62 names and codes, any letter case, plus
``multi-language``) are turned into spaCy codes by the plan (:mod:`analyzer.plan.text`);
the segmenter works with the codes only.
"""

from __future__ import annotations

#: codes whose trained spaCy pipelines are called ``<code>_core_web_<size>`` (others: ``_core_news_``)
_WEB_PIPELINES = frozenset({"en", "zh"})
_SIZES = ("sm", "md", "lg", "trf")


def trained_pipeline_names(code: str) -> list[str]:
    """Names of spaCy's trained pipelines for ``code``, smallest first.

    ``multi-language`` (``xx``) has the sentence-segmentation pipeline ``xx_sent_ud_sm``.
    """
    if code == "xx":
        return ["xx_sent_ud_sm"]
    kind = "web" if code in _WEB_PIPELINES else "news"
    return [f"{code}_core_{kind}_{size}" for size in _SIZES]
