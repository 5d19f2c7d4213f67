"""The coalition game of one record with text: players and the model inputs of coalitions (pure).

Players of a record (next-capabilities.md §1.1, §1.5a): every non-text feature, in column
order, then every unit of every text column (columns in ``text_columns`` order, units in
text order). ``n_features = #non-text features + #text units`` varies per record.

The model input of a coalition S and baseline row b: non-text features in S keep the
record's value, the others take b's; in each text column the units in S keep their text and
every other unit is replaced, in place, by b's value of that column (the replacement
string, e.g. ``"[MASK]"``). The text around and between units (spaces, line breaks) is kept,
so ``Flavor needs work`` with the second unit absent becomes ``Flavor [MASK] work``
(the documented example, clarify-contract.md §4.5).

A player does not vary, and gets SHAP value 0 without being sampled, when every baseline row
holds the record's value: a non-text feature equal to all baseline values (numbers compared
with ``numpy.isclose``, as shap's ``varying_groups``), or a unit equal to every replacement
string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analyzer.explain.text.segment import TextUnit


@dataclass(frozen=True)
class TextLayout:
    """A text cut into ``units`` and the ``gaps`` around them (``len(units) + 1`` pieces).

    ``gaps[0] + units[0] + gaps[1] + ... + units[-1] + gaps[-1]`` is the original text.
    """

    text: str
    units: tuple[TextUnit, ...]
    gaps: tuple[str, ...]

    @classmethod
    def of(cls, text: str, units: Sequence[TextUnit]) -> TextLayout:
        """The layout of ``text`` with its ``units`` (in text order, not overlapping)."""
        gaps = []
        pos = 0
        for unit in units:
            if unit.start_idx < pos or text[unit.start_idx : unit.end_idx] != unit.text:
                raise ValueError(f"unit {unit!r} does not match the text at offset {unit.start_idx}")
            gaps.append(text[pos : unit.start_idx])
            pos = unit.end_idx
        gaps.append(text[pos:])
        return cls(text, tuple(units), tuple(gaps))

    def compose(self, present: np.ndarray, replacement: str) -> list[str]:
        """The text of each row of ``present`` (K, n_units) bool: absent units become ``replacement``."""
        k = present.shape[0]
        if not self.units:
            return [self.text] * k
        pieces = np.empty((k, 2 * len(self.units) + 1), dtype=object)
        pieces[:, 0::2] = np.array(self.gaps, dtype=object)[None, :]
        texts = np.array([u.text for u in self.units], dtype=object)
        pieces[:, 1::2] = np.where(present, texts[None, :], replacement)
        return ["".join(row) for row in pieces.tolist()]


def _same_everywhere(value: object, column: np.ndarray) -> bool:
    """True when every baseline value equals ``value`` (shap's ``varying_groups`` test)."""
    numbers = [v for v in column if isinstance(v, int | float | np.number) and not isinstance(v, bool)]
    if (
        isinstance(value, int | float | np.number)
        and not isinstance(value, bool)
        and len(numbers) == len(column)
    ):
        return bool(np.all(np.isclose(float(value), np.asarray(numbers, dtype=np.float64), equal_nan=True)))
    return all(bool(value == v) for v in column)


@dataclass(frozen=True)
class RecordGame:
    """Players of one record and which of them vary.

    ``players[q]`` is ``(column, -1)`` for a non-text feature and ``(column, unit)`` for a
    text unit; ``text_players[i]`` lists the player indices of ``layouts[i]``'s units.
    """

    record: np.ndarray
    layouts: tuple[TextLayout, ...]
    text_columns: tuple[int, ...]
    players: tuple[tuple[int, int], ...]
    text_players: tuple[np.ndarray, ...]
    varying: np.ndarray

    @property
    def n_varying(self) -> int:
        """Number of players that vary (the M of the sample-count rule)."""
        return int(self.varying.sum())

    def rows(self, masks: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        """Model inputs (K, N, P) of coalitions ``masks`` (K, n_varying) with each baseline row."""
        k = masks.shape[0]
        n_base, n_cols = baseline.shape
        full = np.ones((k, len(self.players)), dtype=bool)
        full[:, self.varying] = masks.astype(bool)
        out = np.empty((k, n_base, n_cols), dtype=object)
        out[:] = self.record[None, None, :]
        for q, (col, unit) in enumerate(self.players):
            if unit < 0:
                absent = ~full[:, q]
                out[absent, :, col] = baseline[None, :, col]
        for layout, col, idx in zip(self.layouts, self.text_columns, self.text_players, strict=True):
            present = full[:, idx]
            for b in range(n_base):
                out[:, b, col] = layout.compose(present, baseline[b, col])
        return out


def build_game(
    record: np.ndarray,
    layouts: Sequence[TextLayout],
    text_columns: Sequence[int],
    baseline: np.ndarray,
) -> RecordGame:
    """The game of ``record`` (P,) whose text columns ``text_columns`` are cut into ``layouts``."""
    text_set = set(text_columns)
    players: list[tuple[int, int]] = [(j, -1) for j in range(len(record)) if j not in text_set]
    varying = [not _same_everywhere(record[j], baseline[:, j]) for j, _ in players]
    text_players = []
    for layout, col in zip(layouts, text_columns, strict=True):
        start = len(players)
        replacements = set(baseline[:, col].tolist())
        for u, unit in enumerate(layout.units):
            players.append((col, u))
            varying.append(replacements != {unit.text})
        text_players.append(np.arange(start, len(players)))
    return RecordGame(
        record,
        tuple(layouts),
        tuple(text_columns),
        tuple(players),
        tuple(text_players),
        np.array(varying, dtype=bool),
    )
