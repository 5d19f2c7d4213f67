"""Clarify's ``text_config.language`` values and the spaCy language codes they stand for.

Clarify accepts 62 languages by English name or two/three-letter code, case-insensitively
(``analyzer.config.TEXT_LANGUAGES`` lists them name, code, name, code, ...), plus
``multi-language``/``xx`` for mixed text. spaCy has a blank (tokenizer-only) pipeline for
every one of them; which trained pipelines exist for a code is listed in
:func:`trained_pipeline_names`.
"""

from __future__ import annotations

from analyzer.config import TEXT_LANGUAGES
from analyzer.errors import ConfigError

#: name -> code, in Clarify's order (``"multi-language"`` -> ``"xx"``).
LANGUAGE_CODES: dict[str, str] = dict(zip(TEXT_LANGUAGES[0::2], TEXT_LANGUAGES[1::2], strict=True))
#: every code Clarify accepts
CODES: frozenset[str] = frozenset(LANGUAGE_CODES.values())
#: codes whose trained spaCy pipelines are called ``<code>_core_web_<size>`` (others: ``_core_news_``)
_WEB_PIPELINES = frozenset({"en", "zh"})
_SIZES = ("sm", "md", "lg", "trf")


def language_code(language: str) -> str:
    """The spaCy code of a Clarify ``language`` value: a name or a code, any letter case.

    Raises:
        ConfigError: ``language`` is not one Clarify accepts.
    """
    key = str(language).strip().lower()
    if key in CODES:
        return key
    if key in LANGUAGE_CODES:
        return LANGUAGE_CODES[key]
    raise ConfigError(
        f"methods.shap.text_config.language {language!r} is not supported; use a language name or "
        f"code such as 'english'/'en', 'german'/'de' or 'multi-language'/'xx'"
    )


def trained_pipeline_names(code: str) -> list[str]:
    """Names of spaCy's trained pipelines for ``code``, smallest first.

    ``multi-language`` has the sentence-segmentation pipeline ``xx_sent_ud_sm``.
    """
    if code == "xx":
        return ["xx_sent_ud_sm"]
    kind = "web" if code in _WEB_PIPELINES else "news"
    return [f"{code}_core_{kind}_{size}" for size in _SIZES]
