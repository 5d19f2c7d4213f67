"""Cut text into SHAP units: tokens, sentences or paragraphs (pure computation, no I/O).

Clarify segments text with spaCy (clarify-contract.md §2.4, next-capabilities.md §1.3). Which
pipeline is used, in order:

1. ``pipelines`` (from ``CLARIFY_RUNNER_SPACY_PIPELINES``, read by :mod:`analyzer.settings` and
   resolved by the plan) names one for the language code: a package name or a folder; the
   value ``blank`` forces the blank pipeline.
2. A trained spaCy pipeline installed as a package (``en_core_web_sm`` ... ``_trf``,
   ``<code>_core_news_sm`` ..., ``xx_sent_ud_sm`` for multi-language), smallest first. Its
   tokenizer gives the tokens; sentences come from its parser (or its senter when it has no
   parser, or an added rule-based sentencizer when it has neither).
3. Otherwise spaCy's blank pipeline for the language (the tokenizer only; these install from
   PyPI and need no download) plus the rule-based ``sentencizer``, which splits after ``.``,
   ``!``, ``?`` and their equivalents in other scripts (``。``, ``！``, ``؟`` ...). It reproduces
   the real Clarify sentence units of the spec's examples, including the unsplit ``page...and``.
   Chinese uses jieba word segmentation when ``jieba`` is installed (the ``[text]`` extra),
   else one token per character; Japanese needs SudachiPy (``[text-ja]``), Thai PyThaiNLP
   (``[text-th]``); Vietnamese uses pyvi when installed, else syllables split at spaces.

The pipeline chosen is logged once per language and granularity.

Paragraphs are split at blank lines (a line holding only whitespace) without spaCy.

Every unit is ``(start_idx, partial_text)``: ``start_idx`` is the 0-based character offset of
the unit's first character in the original text, ``partial_text`` the unit without
surrounding whitespace (so ``text[start_idx:start_idx + len(partial_text)] == partial_text``).
Whitespace-only tokens and sentences are not units.

Languages are spaCy codes here (``en``, ``de``, ``xx``...): the plan
(:mod:`analyzer.plan.text`) turns Clarify's names and codes into them and checks them.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from analyzer.errors import UserError
from analyzer.explain.text.languages import trained_pipeline_names
from analyzer.extras import FEATURES, MissingExtraError, require
from clarify_common.extras import install_command

if TYPE_CHECKING:  # spaCy is an optional dependency (the [text] extra)
    from spacy.language import Language
    from spacy.tokens import Doc

log = logging.getLogger("analyzer.explain.text")

#: the units a text can be cut into (``methods.shap.text_config.granularity``)
GRANULARITIES = ("token", "sentence", "paragraph")
#: a ``pipelines`` value that forces spaCy's blank pipeline
BLANK = "blank"
#: components of trained pipelines that sentence segmentation does not need
_NOT_FOR_SENTENCES = frozenset(
    {
        "ner",
        "lemmatizer",
        "trainable_lemmatizer",
        "attribute_ruler",
        "tagger",
        "morphologizer",
        "entity_ruler",
        "entity_linker",
        "textcat",
        "textcat_multilabel",
        "spancat",
    }
)
#: blank pipelines that need another package, and the extra that installs it
_NEEDS = {"ja": ("sudachipy", "text-ja"), "th": ("pythainlp", "text-th")}
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_PIPE_BATCH = 256


@dataclass(frozen=True)
class TextUnit:
    """One SHAP player cut from a text: ``text`` starts at character ``start_idx``."""

    start_idx: int
    text: str

    @property
    def end_idx(self) -> int:
        """Offset just past the unit's last character."""
        return self.start_idx + len(self.text)


@dataclass(frozen=True)
class PipelineInfo:
    """Which segmentation is used: ``description`` is what the job logs."""

    code: str
    granularity: str
    description: str
    trained: bool


def _unit(text: str, start: int, end: int) -> TextUnit | None:
    """The unit ``text[start:end]`` without surrounding whitespace, or None when nothing is left."""
    piece = text[start:end]
    stripped = piece.lstrip()
    if not stripped:
        return None
    start += len(piece) - len(stripped)
    return TextUnit(start, stripped.rstrip())


def paragraphs(text: str) -> list[TextUnit]:
    """Paragraph units: the text split at blank lines (lines holding only whitespace)."""
    units: list[TextUnit] = []
    pos = 0
    for sep in _BLANK_LINE.finditer(text):
        unit = _unit(text, pos, sep.start())
        if unit is not None:
            units.append(unit)
        pos = sep.end()
    unit = _unit(text, pos, len(text))
    if unit is not None:
        units.append(unit)
    return units


def _import_spacy() -> ModuleType:
    """The spacy module (an optional dependency: the ``text`` extra)."""
    require("text")
    import spacy

    return spacy


def _require_tokenizer(code: str) -> None:
    """Raise :class:`MissingExtraError` when the blank pipeline of ``code`` needs a missing extra."""
    if code in _NEEDS:
        package, extra = _NEEDS[code]
        if importlib.util.find_spec(package) is None:
            raise MissingExtraError(
                f"{FEATURES[extra]} needs the '{extra}' extra: {install_command(extra)} "
                f"(missing module: {package})"
            )


def _check_code(code: str) -> None:
    """Raise ValueError unless spaCy has language ``code`` (spaCy must be importable)."""
    if not code.replace("_", "").isalnum() or importlib.util.find_spec(f"spacy.lang.{code}") is None:
        raise ValueError(f"spaCy has no language {code!r}")


def _blank(code: str) -> tuple[Language, str]:
    spacy = _import_spacy()
    config: dict = {}
    note = ""
    if code == "zh":
        jieba = importlib.util.find_spec("jieba") is not None
        if jieba:
            import jieba as jieba_module

            jieba_module.setLogLevel(logging.WARNING)  # it prints dictionary-loading lines otherwise
        config = {"nlp": {"tokenizer": {"segmenter": "jieba" if jieba else "char"}}}
        note = " (jieba word segmentation)" if jieba else " (one token per character: jieba is not installed)"
    elif code == "vi":
        pyvi = importlib.util.find_spec("pyvi") is not None
        config = {"nlp": {"tokenizer": {"use_pyvi": pyvi}}}
        note = " (pyvi word segmentation)" if pyvi else " (syllables split at spaces: pyvi is not installed)"
    else:
        _require_tokenizer(code)
    try:
        nlp = spacy.blank(code, config=config)
    except ImportError as exc:
        raise MissingExtraError(
            f"spaCy's tokenizer for language {code!r} needs a package that is not installed: {exc}"
        ) from None
    return nlp, f"spaCy {spacy.__version__} blank '{code}' pipeline{note}"


def _load(code: str, name: str) -> Language:
    spacy = _import_spacy()
    try:
        return spacy.load(name)
    except OSError as exc:
        raise UserError(f"cannot load the spaCy pipeline {name!r} for language {code!r}: {exc}") from None


def _trained(code: str, override: str | None) -> tuple[Language, str] | None:
    if override == BLANK:
        return None
    if override is not None:
        return _load(code, override), f"spaCy pipeline {override!r} (from CLARIFY_RUNNER_SPACY_PIPELINES)"
    spacy = _import_spacy()
    for name in trained_pipeline_names(code):
        if spacy.util.is_package(name):
            nlp = _load(code, name)
            return nlp, f"trained spaCy pipeline {name} {nlp.meta.get('version', '')}".rstrip()
    return None


def _sentence_setup(nlp: Language) -> str:
    """Make ``nlp`` set sentence boundaries with as few components as possible; say how."""
    for name in list(nlp.pipe_names):
        if name in _NOT_FOR_SENTENCES:
            nlp.disable_pipe(name)
    if "parser" in nlp.pipe_names:
        return "sentences from its parser"
    if "senter" in nlp.pipe_names:
        return "sentences from its senter"
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
        return "sentences from its senter"
    nlp.add_pipe("sentencizer")
    return "sentences from the rule-based sentencizer"


@dataclass
class _Loaded:
    nlp: Language
    description: str
    trained: bool
    sentences: str | None = None  # how sentence boundaries are set, once set up


#: one pipeline per (language code, pipeline named for it); token granularity uses only its
#: tokenizer, so the same object serves both granularities
_CACHE: dict[tuple[str, str], _Loaded] = {}
_LOCK = threading.Lock()


def load_pipeline(code: str, granularity: str, override: str | None = None) -> tuple[Language, PipelineInfo]:
    """The spaCy pipeline used for ``code`` and ``granularity`` (cached; logged when first used).

    ``override`` is a pipeline package name or folder for ``code``, or ``"blank"``.
    """
    key = (code, override or "")
    with _LOCK:
        loaded = _CACHE.get(key)
        if loaded is None:
            _import_spacy()
            _check_code(code)
            trained = _trained(code, override)
            nlp, description = _blank(code) if trained is None else trained
            loaded = _CACHE[key] = _Loaded(nlp, description, trained is not None)
            log.info("Text segmentation, language %s: %s", code, description)
        description = loaded.description
        if granularity == "sentence":
            if loaded.sentences is None:
                if loaded.trained:
                    loaded.sentences = ", " + _sentence_setup(loaded.nlp)
                else:
                    loaded.nlp.add_pipe("sentencizer")
                    loaded.sentences = " + rule-based sentencizer"
                log.info("Text segmentation, language %s: sentence boundaries%s", code, loaded.sentences)
            description += loaded.sentences
        return loaded.nlp, PipelineInfo(code, granularity, description, loaded.trained)


class Segmenter:
    """Cuts texts into units for one ``granularity`` and spaCy language ``code``.

    ``pipelines`` maps language codes to the spaCy pipeline to use (a package name or a
    folder, or ``"blank"``); without an entry, a trained pipeline when one is installed, else
    the blank one.

    Raises:
        ValueError: unknown granularity, or a language spaCy does not have.
        MissingExtraError: spaCy (the ``text`` extra) or the language's tokenizer package
            (``text-ja``, ``text-th``) is not installed.
        UserError: the pipeline named in ``pipelines`` cannot be loaded.
    """

    def __init__(self, granularity: str, code: str, pipelines: Mapping[str, str] | None = None) -> None:
        if granularity not in GRANULARITIES:
            raise ValueError(f"granularity {granularity!r} is not one of {', '.join(GRANULARITIES)}")
        self.granularity = granularity
        self.code = code
        self._nlp: Language | None = None
        if granularity == "paragraph":
            self.info = PipelineInfo(self.code, granularity, "paragraphs split at blank lines", False)
        else:
            override = (pipelines or {}).get(code)
            self._nlp, self.info = load_pipeline(self.code, granularity, override)

    def segment(self, text: str) -> list[TextUnit]:
        """The units of one text, in text order."""
        return self.segment_many([text])[0]

    def segment_many(self, texts: Iterable[str]) -> list[list[TextUnit]]:
        """The units of each text (spaCy processes the texts in batches)."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        if self.granularity == "paragraph":
            return [paragraphs(t) for t in texts]
        assert self._nlp is not None
        if self.granularity == "token":
            docs: Iterable[Doc] = (self._nlp.make_doc(t) for t in texts)  # the tokenizer only
            out = []
            for text, doc in zip(texts, docs, strict=True):
                tokens = (_unit(text, t.idx, t.idx + len(t.text)) for t in doc if not t.is_space)
                out.append([u for u in tokens if u is not None])
            return out
        out = []
        for text, doc in zip(texts, self._nlp.pipe(texts, batch_size=_PIPE_BATCH), strict=True):
            units = (_unit(text, s.start_char, s.end_char) for s in doc.sents)
            out.append([u for u in units if u is not None])
        return out
