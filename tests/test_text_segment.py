"""Text segmentation: Clarify's real sentence units, offsets into the original text, languages."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from analyzer.config import TEXT_LANGUAGES
from analyzer.errors import UserError
from analyzer.explain.text import segment as segment_module
from analyzer.explain.text.languages import trained_pipeline_names
from analyzer.explain.text.segment import Segmenter, TextUnit, paragraphs
from analyzer.extras import MissingExtraError
from analyzer.plan.text import language_code
from tests.conftest import CLARIFY_EXAMPLES


def seg(granularity: str, language: str, pipelines: dict[str, str] | None = None) -> Segmenter:
    """A segmenter for a Clarify language name or code, resolved as the plan does."""
    code = language_code(language)
    assert code is not None, language
    return Segmenter(granularity, code, pipelines)


def assert_units_point_into(text: str, units: list[TextUnit]) -> None:
    """Each unit is the exact, trimmed, non-empty text at its offset; units are in order."""
    pos = 0
    for unit in units:
        assert unit.start_idx >= pos, (unit, units)
        assert text[unit.start_idx : unit.end_idx] == unit.text
        assert unit.text and unit.text == unit.text.strip()
        pos = unit.end_idx
    # nothing but whitespace is left out ... except inside units
    covered = "".join(u.text for u in units)
    assert "".join(text.split()) == "".join(covered.split())


def _real_units(path: str, locate) -> list[tuple[int, str]]:
    doc = json.loads((CLARIFY_EXAMPLES / path).read_text())
    return [(a["description"]["start_idx"], a["description"]["partial_text"]) for a in locate(doc)]


REAL_PROCESSING = (
    "local_outputs/real_text_sentence_granularity__explanations_shap_out.jsonl__first_line.json",
    lambda d: d["explanations"][0]["attributions"],
)
REAL_ONLINE = (
    "online_explainability/real_notebook_response_nlp_sentence_granularity.json",
    lambda d: d["explanations"]["kernel_shap"][0][0]["attributions"],
)


@pytest.mark.parametrize(("path", "locate"), [REAL_PROCESSING, REAL_ONLINE], ids=["processing", "online"])
def test_real_clarify_sentences_are_reproduced(path: str, locate) -> None:
    """Spec §1.5b test 1: the text rebuilt from the real units (single spaces) segments into the
    same units at the same offsets, including the unsplit ``page...and`` sentence."""
    expected = _real_units(path, locate)
    text = " ".join(t for _, t in expected)
    units = seg("sentence", "english").segment(text)
    assert [(u.start_idx, u.text) for u in units] == expected
    if path == REAL_PROCESSING[0]:
        assert len(units) == 8 and "page...and" in units[0].text


TRICKY = [
    "Flavor  needs   work!!  Really?!",
    "  Leading spaces.\tTabs\tand\nnew lines.  Trailing   ",
    "Café au lait — très bon… «Super»! Naïve façade, 5'6\" tall; 100% cotton.",
    "Emoji 👍🏽 ok. Ünïcödé wörds: Grüße, straße. \u00a0Non-breaking\u00a0space.",
    "",
    "   \n\n  ",
]


@pytest.mark.parametrize("granularity", ["token", "sentence", "paragraph"])
@pytest.mark.parametrize("text", TRICKY)
def test_start_idx_points_at_the_unit_in_the_original_text(granularity: str, text: str) -> None:
    units = seg(granularity, "en").segment(text)
    assert_units_point_into(text, units)
    if not text.strip():
        assert units == []


def test_english_tokens_and_sentences() -> None:
    tokens = seg("token", "en").segment("Flavor  needs work, don't you think?")
    assert [(u.start_idx, u.text) for u in tokens] == [
        (0, "Flavor"),
        (8, "needs"),
        (14, "work"),
        (18, ","),
        (20, "do"),
        (22, "n't"),
        (26, "you"),
        (30, "think"),
        (35, "?"),
    ]
    sentences = seg("sentence", "EN").segment("It fits.  I love it!\nWould buy again?")
    assert [(u.start_idx, u.text) for u in sentences] == [
        (0, "It fits."),
        (10, "I love it!"),
        (21, "Would buy again?"),
    ]


def test_paragraphs_split_at_blank_lines() -> None:
    text = "  First line\nsame paragraph.\n \t\nSecond.\r\n\r\nThird  \n\n\n\nFourth"
    units = paragraphs(text)
    assert [u.text for u in units] == ["First line\nsame paragraph.", "Second.", "Third", "Fourth"]
    assert_units_point_into(text, units)
    assert seg("paragraph", "japanese").segment(text) == units


def test_german() -> None:
    text = "Das Kleid ist wunderschön. Die Größe passt nicht!  Würde ich es wieder kaufen? Ja."
    sentences = seg("sentence", "German").segment(text)
    assert [u.text for u in sentences] == [
        "Das Kleid ist wunderschön.",
        "Die Größe passt nicht!",
        "Würde ich es wieder kaufen?",
        "Ja.",
    ]
    tokens = seg("token", "de").segment("Größe: zu klein, z.B. 38.")
    # German rules: "z.B." is an abbreviation and "38." an ordinal number, each one token
    assert [u.text for u in tokens] == ["Größe", ":", "zu", "klein", ",", "z.B.", "38."]
    assert_units_point_into(text, sentences)


def test_japanese() -> None:
    text = "このドレスはとても可愛いです。  サイズが少し小さかった！また買いたい？"
    sentences = seg("sentence", "japanese").segment(text)
    assert [u.text for u in sentences] == [
        "このドレスはとても可愛いです。",
        "サイズが少し小さかった！",
        "また買いたい？",
    ]
    assert sentences[1].start_idx == text.index("サイズ")
    tokens = seg("token", "ja").segment(text)
    assert_units_point_into(text, tokens)
    assert "ドレス" in [u.text for u in tokens] and len(tokens) > 12


def test_chinese_words() -> None:
    text = "我爱北京天安门。今天天气很好！"
    tokens = seg("token", "chinese").segment(text)
    assert [u.text for u in tokens][:4] == ["我", "爱", "北京", "天安门"]
    assert_units_point_into(text, tokens)
    assert [u.text for u in seg("sentence", "zh").segment(text)] == [
        "我爱北京天安门。",
        "今天天气很好！",
    ]


@pytest.mark.parametrize("language", ["multi-language", "xx", "Multi-Language"])
def test_multi_language(language: str) -> None:
    text = "Great dress. Très belle robe! Schönes Kleid? Отличное платье."
    units = seg("sentence", language).segment(text)
    assert [u.text for u in units] == [
        "Great dress.",
        "Très belle robe!",
        "Schönes Kleid?",
        "Отличное платье.",
    ]
    assert seg("token", language).info.code == "xx"


@pytest.mark.slow
def test_every_language_clarify_accepts_segments() -> None:
    """Every name and code of Clarify's list (any letter case) gives a working segmenter."""
    samples = {"th": "ผมรักภาษาไทย สวัสดีครับ", "ja": "東京に住んでいます。", "zh": "我爱北京。"}
    for name, code in zip(TEXT_LANGUAGES[0::2], TEXT_LANGUAGES[1::2], strict=True):
        assert language_code(name.upper()) == code and language_code(code) == code
        text = samples.get(code, "Hello world. Second sentence!")
        for granularity in ("token", "sentence"):
            units = seg(granularity, name.title()).segment(text)
            assert units, (name, granularity)
            assert_units_point_into(text, units)


def test_bad_language_and_granularity() -> None:
    assert language_code("klingon") is None
    with pytest.raises(ValueError, match="spaCy has no language 'klingon'"):
        Segmenter("token", "klingon")
    with pytest.raises(ValueError, match="granularity 'word'"):
        Segmenter("word", "en")


def test_missing_spacy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "spacy", None)
    monkeypatch.setattr(segment_module, "_CACHE", {})
    with pytest.raises(MissingExtraError, match=r"'text' extra: pip install 'clarify-runner\[text\]'"):
        seg("token", "en")
    # paragraphs need no spaCy
    assert seg("paragraph", "en").segment("a\n\nb")[1].start_idx == 3


def test_missing_japanese_tokenizer_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segment_module, "_CACHE", {})
    real = segment_module.importlib.util.find_spec
    monkeypatch.setattr(
        segment_module.importlib.util, "find_spec", lambda name: None if name == "sudachipy" else real(name)
    )
    with pytest.raises(MissingExtraError, match=r"clarify-runner\[text-ja\]"):
        seg("token", "ja")


def test_trained_pipeline_names() -> None:
    assert trained_pipeline_names("en")[0] == "en_core_web_sm"
    assert trained_pipeline_names("de")[0] == "de_core_news_sm"
    assert trained_pipeline_names("xx") == ["xx_sent_ud_sm"]


@pytest.mark.slow
def test_a_trained_pipeline_is_used_and_logged(
    tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A trained pipeline (here a tiny senter trained in the test, loaded from a folder through
    CLARIFY_RUNNER_SPACY_PIPELINES) gives the sentences, and its use is logged."""
    import spacy
    from spacy.training import Example

    nlp = spacy.blank("en")
    nlp.add_pipe("senter")
    texts = ["I like it. It is red.", "Bad fit. Returned it.", "Nice colour. Soft fabric. Great."]
    examples = []
    for text in texts:
        doc = nlp.make_doc(text)
        starts = [i == 0 or doc[i - 1].text == "." for i in range(len(doc))]
        examples.append(Example.from_dict(doc, {"sent_starts": [1 if s else -1 for s in starts]}))
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    nlp.to_disk(tmp_path / "en_senter")

    monkeypatch.setattr(segment_module, "_CACHE", {})
    with caplog.at_level(logging.INFO, logger="analyzer.explain.text"):
        seg = Segmenter("sentence", "en", {"en": str(tmp_path / "en_senter")})
    assert seg.info.trained and "sentences from its senter" in seg.info.description
    assert "en_senter" in caplog.text and "senter" in caplog.text
    units = seg.segment("I like it. It is red.")
    assert [u.text for u in units] == ["I like it.", "It is red."]

    assert not Segmenter("sentence", "en", {"en": "blank"}).info.trained
    with pytest.raises(UserError, match="cannot load the spaCy pipeline"):
        Segmenter("sentence", "en", {"en": str(tmp_path / "missing")})
