"""Text Kernel SHAP: exact values against brute force, additivity, the documented perturbations."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from analyzer.errors import ModelError
from analyzer.explain.plan import resolve_num_samples
from analyzer.explain.text import Segmenter, TextShapSpec, explain_text

WEIGHTS = {"good": 1.0, "great": 0.8, "bad": -1.3, "not": -0.4, "love": 0.9, "returned": -0.7, "fit": 0.2}


def toy_model(rows: np.ndarray) -> np.ndarray:
    """A non-additive model of (number, text, [text]) rows with two outputs."""
    out = []
    for row in rows:
        texts = [v for v in row if isinstance(v, str)]
        number = sum(float(v) for v in row if not isinstance(v, str))
        words = [w for t in texts for w in re.findall(r"\w+", t.lower())]
        score = sum(WEIGHTS.get(w, 0.0) for w in words) + 0.05 * len(words) + 0.3 * number
        score += 0.9 * ("not" in words and "good" in words) - 0.2 * sum(t.count(".") for t in texts)
        p = 1.0 / (1.0 + math.exp(-score))
        out.append([p, score])
    return np.array(out)


def replace_units(text: str, units, present, replacement: str) -> str:
    """The text with absent units replaced (written independently of the engine's layout code)."""
    for unit, keep in sorted(zip(units, present, strict=True), key=lambda up: -up[0].start_idx):
        if not keep:
            text = text[: unit.start_idx] + replacement + text[unit.end_idx :]
    return text


def brute_force(record, baseline, text_columns, units, model) -> np.ndarray:
    """Shapley values by the definition: every coalition of [non-text features] + [units]."""
    text_set = set(text_columns)
    players = [(j, None) for j in range(len(record)) if j not in text_set]
    players += [
        (col, u) for col, col_units in zip(text_columns, units, strict=True) for u in range(len(col_units))
    ]
    m = len(players)

    def value(coalition: frozenset) -> np.ndarray:
        rows = []
        for b in baseline:
            row = list(b)
            for j in range(len(record)):
                if j in text_set:
                    col_units = units[text_columns.index(j)]
                    present = [players.index((j, u)) in coalition for u in range(len(col_units))]
                    row[j] = replace_units(record[j], col_units, present, b[j])
                elif players.index((j, None)) in coalition:
                    row[j] = record[j]
            rows.append(row)
        return model(np.array(rows, dtype=object)).mean(axis=0)

    cache = {}
    for size in range(m + 1):
        for s in itertools.combinations(range(m), size):
            cache[frozenset(s)] = value(frozenset(s))
    phi = np.zeros((m, 2))
    for i in range(m):
        others = [p for p in range(m) if p != i]
        for size in range(m):
            w = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for s in itertools.combinations(others, size):
                phi[i] += w * (cache[frozenset(s) | {i}] - cache[frozenset(s)])
    return phi


def engine_values(result, i: int) -> np.ndarray:
    rec = result.records[i]
    return np.concatenate([rec.feature_values, *rec.text_values])


CASES = {
    "token": [[1.5, "This is not  good, I returned it."], [-2.0, "Great fit…  love it!"]],
    "sentence": [
        [1.0, "Not good. Bad fit!  I love the colour though. Returned it? Great price."],
        [0.5, "Good. Great.   Bad.\nNot good."],
    ],
    "paragraph": [
        [2.0, "Good fit.\n\nBad colour, not good.\n \nLove it.\r\n\r\nReturned anyway."],
        [0.0, "  One paragraph only, great.  "],
    ],
}


@pytest.mark.parametrize("granularity", ["token", "sentence", "paragraph"])
def test_full_enumeration_equals_brute_force(granularity: str) -> None:
    records = np.array(CASES[granularity], dtype=object)
    baseline = np.array([[0.0, "[MASK]"], [3.0, ""]], dtype=object)
    spec = TextShapSpec(granularity, "en", (1,), seed=None)
    result = explain_text(records, baseline, toy_model, spec)
    seg = Segmenter(granularity, "en")
    for i, record in enumerate(records):
        units = seg.segment(record[1])
        m = 1 + len(units)
        assert 2 <= m <= 11 and result.records[i].coalitions == 2**m - 2
        expected = brute_force(list(record), baseline, [1], [units], toy_model)
        np.testing.assert_allclose(engine_values(result, i), expected, rtol=1e-9, atol=1e-12)


def test_two_text_columns_equal_brute_force() -> None:
    records = np.array([["not good at all", 1.0, "Bad fit. Love it."]], dtype=object)
    baseline = np.array([["<UNK>", -1.0, "<UNK>"]], dtype=object)
    result = explain_text(records, baseline, toy_model, TextShapSpec("token", "en", (0, 2)))
    seg = Segmenter("token", "en")
    units = [seg.segment(records[0, 0]), seg.segment(records[0, 2])]
    expected = brute_force(list(records[0]), baseline, [0, 2], units, toy_model)
    np.testing.assert_allclose(engine_values(result, 0), expected, rtol=1e-9, atol=1e-12)
    assert [u.text for u in result.records[0].units[1]] == ["Bad", "fit", ".", "Love", "it", "."]


@pytest.mark.parametrize("use_logit", [False, True])
def test_sampled_values_add_up(use_logit: bool) -> None:
    text = " ".join(["good", "bad", "not", "great", "fit", "love", "returned", "colour", "."] * 4)
    records = np.array([[1.0, text], [-1.0, text[:60]], [0.3, "bad."]], dtype=object)
    baseline = np.array([[0.0, "[MASK]"], [2.0, "<PAD>"]], dtype=object)
    spec = TextShapSpec("token", "en", (1,), num_samples=300, seed=7, use_logit=use_logit)
    result = explain_text(records, baseline, toy_model, spec)
    assert result.records[0].coalitions == 300  # 37 players: sampled, not enumerated
    for rec in result.records:
        total = rec.feature_values.sum(axis=0) + rec.text_values[0].sum(axis=0)
        fx = np.clip(rec.fx, 1e-15, 1 - 1e-15) if use_logit else rec.fx
        link_fx = np.log(fx / (1 - fx)) if use_logit else fx
        np.testing.assert_allclose(total[0], link_fx[0] - rec.expected_value[0], rtol=1e-9, atol=1e-12)


def test_sample_count_rule_is_per_record() -> None:
    records = np.array([[1.0, "good bad not great"], [1.0, " ".join(["good"] * 30)]], dtype=object)
    baseline = np.array([[0.0, ""]], dtype=object)
    result = explain_text(records, baseline, toy_model, TextShapSpec("token", "en", (1,), seed=0))
    assert result.records[0].coalitions == resolve_num_samples(5, None) == 30
    assert result.records[1].coalitions == resolve_num_samples(31, None) == 2 * 31 + 2048
    capped = explain_text(
        records, baseline, toy_model, TextShapSpec("token", "en", (1,), num_samples=100, seed=0)
    )
    assert [r.coalitions for r in capped.records] == [30, 100]


def test_documented_perturbations_are_sent() -> None:
    """Spec §1.5b test 2: ``2,"Flavor needs work"`` with baseline ``[[4,"[MASK]"]]``: 4 players,
    all 14 coalitions, the documented rows among them."""
    sent: list[tuple] = []

    def model(rows: np.ndarray) -> np.ndarray:
        sent.extend(tuple(r) for r in rows.tolist())
        return toy_model(rows)

    records = np.array([[2, "Flavor needs work"]], dtype=object)
    result = explain_text(
        records, np.array([[4, "[MASK]"]], dtype=object), model, TextShapSpec("token", "en", (1,))
    )
    assert result.records[0].coalitions == 14
    for row in [(2, "[MASK] needs work"), (4, "Flavor [MASK] work"), (4, "Flavor needs [MASK]")]:
        assert row in sent
    assert len(sent) == len(set(sent)) == 16  # 14 coalitions + the record + all absent, each once
    assert (4, "[MASK] [MASK] [MASK]") in sent


def test_whitespace_around_units_is_kept() -> None:
    sent: list[str] = []

    def model(rows: np.ndarray) -> np.ndarray:
        sent.extend(r[0] for r in rows.tolist())
        return toy_model(rows)

    explain_text(
        np.array([["Good.\n\n  Bad!"]], dtype=object),
        np.array([["X"]], dtype=object),
        model,
        TextShapSpec("sentence", "en", (0,)),
    )
    assert set(sent) == {"Good.\n\n  Bad!", "X\n\n  X", "X\n\n  Bad!", "Good.\n\n  X"}


def test_players_equal_to_the_baseline_get_zero() -> None:
    records = np.array([[0.0, "good [MASK] bad"], [5.0, ""]], dtype=object)
    result = explain_text(
        records,
        np.array([[0.0, "[MASK]"]], dtype=object),
        toy_model,
        TextShapSpec("token", "en", (1,), seed=1),
    )
    first = result.records[0]
    assert np.all(first.feature_values == 0)  # the number equals the baseline
    assert [u.text for u in first.units[0]] == ["good", "[", "MASK", "]", "bad"]
    # only the empty-text record: no units, the number takes the whole difference
    second = result.records[1]
    assert second.units == [[]] and second.text_values[0].shape == (0, 2)
    np.testing.assert_allclose(second.feature_values[0], second.fx - second.expected_value)


def test_blocks_and_seeds() -> None:
    texts = [" ".join(["good", "bad", "fit", "not", "love"][: 2 + i % 4] * (1 + i % 3)) for i in range(12)]
    records = np.array([[float(i), t] for i, t in enumerate(texts)], dtype=object)
    baseline = np.array([[1.0, "[MASK]"]], dtype=object)
    spec = TextShapSpec("token", "en", (1,), seed=3)
    one = explain_text(records, baseline, toy_model, spec)
    many = explain_text(records, baseline, toy_model, spec, max_rows_per_call=40)
    assert many.model_calls > one.model_calls
    for a, b in zip(one.records, many.records, strict=True):
        np.testing.assert_array_equal(a.text_values[0], b.text_values[0])
    # up to 11 players every coalition is enumerated: the seed does not matter
    small = records[[0, 1]]
    a = explain_text(small, baseline, toy_model, TextShapSpec("token", "en", (1,), seed=1))
    b = explain_text(small, baseline, toy_model, TextShapSpec("token", "en", (1,), seed=2))
    np.testing.assert_array_equal(a.records[1].text_values[0], b.records[1].text_values[0])
    # past 11 players the seed picks the coalitions
    long = np.array([[1.0, " ".join(f"w{i} good" for i in range(8))]], dtype=object)
    c = [
        explain_text(long, baseline, toy_model, TextShapSpec("token", "en", (1,), seed=s)) for s in (1, 1, 2)
    ]
    np.testing.assert_array_equal(c[0].records[0].text_values[0], c[1].records[0].text_values[0])
    assert not np.array_equal(c[0].records[0].text_values[0], c[2].records[0].text_values[0])


def test_progress_and_expected_value() -> None:
    calls = []
    records = np.array([[1.0, "good fit"], [2.0, "bad fit. not good"]], dtype=object)
    result = explain_text(
        records,
        np.array([[0.0, ""]], dtype=object),
        toy_model,
        TextShapSpec("sentence", "en", (1,)),
        progress=lambda d, n: calls.append((d, n)),
    )
    assert calls[-1] == (2, 2)
    np.testing.assert_allclose(
        result.expected_value, np.mean([r.expected_value for r in result.records], axis=0)
    )
    assert result.segmentation.startswith("spaCy") and result.players == [2, 3]


def test_bad_inputs() -> None:
    records = np.array([[1.0, "good"]], dtype=object)
    with pytest.raises(ValueError, match="baseline row 0: the value of text feature 1"):
        explain_text(
            records, np.array([[0.0, 3.0]], dtype=object), toy_model, TextShapSpec("token", "en", (1,))
        )
    with pytest.raises(ValueError, match="out of range"):
        explain_text(
            records, np.array([[0.0, ""]], dtype=object), toy_model, TextShapSpec("token", "en", (2,))
        )
    with pytest.raises(ValueError, match="no text column given"):
        explain_text(records, np.array([[0.0, ""]], dtype=object), toy_model, TextShapSpec("token", "en", ()))
    with pytest.raises(ModelError, match="predictions for"):
        explain_text(
            records,
            np.array([[0.0, ""]], dtype=object),
            lambda rows: np.zeros((1, 1)),
            TextShapSpec("token", "en", (1,)),
        )


def test_a_single_record_is_explained_on_its_own() -> None:
    """Online explainability explains one record per request: the same values as in a batch."""
    records = np.array([[1.0, "Good fit. Not good!"], [0.5, "bad colour, great price"]], dtype=object)
    baseline = np.array([[0.0, "<UNK>"]], dtype=object)
    spec = TextShapSpec("token", "en", (1,), seed=0)
    batch = explain_text(records, baseline, toy_model, spec)
    alone = explain_text(records[1:], baseline, toy_model, spec)
    np.testing.assert_array_equal(alone.records[0].text_values[0], batch.records[1].text_values[0])
    np.testing.assert_array_equal(alone.records[0].expected_value, batch.records[1].expected_value)
