"""Varying players and deduplicated synthetic rows (pure computation, no I/O).

A synthetic row for record x, coalition S and baseline row b is b with the columns of the
players in S replaced by x's values. Whenever x and b hold the same value in a column, it does
not matter whether that column is in S, so the row is identified exactly by ``(b, S ∩ D_b)``
where ``D_b`` is the set of columns in which x and b differ. Rows with ``S ∩ D_b = ∅`` are b
itself, whose prediction is already known from the baseline call. Only distinct rows are sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.explain.rowfill import fill_grid, fill_keys


def pack_bits(flags: np.ndarray) -> np.ndarray:
    """uint64 words (..., ceil(P/64)) of a bool array (..., P): column j is bit j % 64 of word j // 64."""
    flags = np.asarray(flags, dtype=bool)
    n_cols = flags.shape[-1]
    n_words = max(1, (n_cols + 63) // 64)
    packed = np.packbits(flags, axis=-1, bitorder="little")
    padded = np.zeros((*flags.shape[:-1], 8 * n_words), dtype=np.uint8)
    padded[..., : packed.shape[-1]] = packed
    return padded.view("<u8")


def unpack_bits(words: np.ndarray, n_cols: int) -> np.ndarray:
    """uint8 0/1 matrix (R, n_cols) of bit sets held as uint64 words (R, W)."""
    raw = np.ascontiguousarray(words, dtype="<u8").view(np.uint8).reshape(words.shape[0], -1)
    return np.unpackbits(raw, axis=1, count=n_cols, bitorder="little")


def _is_numeric(a: np.ndarray, b: np.ndarray) -> bool:
    if np.issubdtype(a.dtype, np.number) and np.issubdtype(b.dtype, np.number):
        return True
    return bool(np.issubdtype(a.dtype, np.bool_) and np.issubdtype(b.dtype, np.bool_))


def varying_players(
    records: np.ndarray, baseline: np.ndarray, players: list[np.ndarray], chunk: int = 4096
) -> np.ndarray:
    """Bool (n, n_players): which players vary, decided exactly as shap's ``varying_groups``.

    Numeric data (both arrays of numeric or both of bool dtype): a player varies unless
    ``np.allclose(x[cols], baseline[:, cols], equal_nan=True)``. Any other data (object
    arrays holding strings): unless every baseline value ``==`` x's value.
    """
    numeric = _is_numeric(records, baseline)
    out = np.zeros((len(records), len(players)), dtype=bool)
    for start in range(0, len(records), chunk):
        x = records[start : start + chunk, None, :]
        if numeric:
            same = np.isclose(x, baseline[None, :, :], rtol=1e-05, atol=1e-08, equal_nan=True)
        else:
            same = np.asarray(x == baseline[None, :, :], dtype=bool)
        same_col = same.all(axis=1)  # (chunk, P)
        for q, cols in enumerate(players):
            out[start : start + chunk, q] = ~same_col[:, cols].all(axis=1)
    return out


def _same_object(a: object, b: object) -> bool:
    return type(a) is type(b) and bool(a == b)


_same_object_u = np.frompyfunc(_same_object, 2, 1)


def differing_columns(records: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Bool (n, N, P): True where record i and baseline row b hold different values in column c.

    Floats are compared by bit pattern (so a synthetic row is reused only when it is the very
    same row); other values must have the same type and compare equal.
    """
    if records.dtype == np.float64 and baseline.dtype == np.float64:
        return records.view(np.int64)[:, None, :] != baseline.view(np.int64)[None, :, :]
    if _is_numeric(records, baseline) and records.dtype == baseline.dtype:
        return records[:, None, :] != baseline[None, :, :]
    same = _same_object_u(records.astype(object)[:, None, :], baseline.astype(object)[None, :, :])
    return ~same.astype(bool)


@dataclass
class SyntheticBlock:
    """Distinct synthetic rows of a block of records and how to expand their predictions.

    ``rows`` (R, P) are the block's candidate rows, distinct within each record, and
    ``row_record``/``row_baseline``/``row_keys`` say how each was made (record, baseline row,
    bit set of the columns taken from the record, as (R, W) uint64 words). ``index[r]``
    (n_added_r, N) indexes, for record r of the block, the table ``concat(baseline
    predictions, predictions of rows)``.
    """

    rows: np.ndarray
    index: list[np.ndarray]
    row_record: np.ndarray | None = None
    row_baseline: np.ndarray | None = None
    row_keys: np.ndarray | None = None


def player_columns_mask(
    masks: np.ndarray, varying: np.ndarray, players: list[np.ndarray], n_cols: int
) -> np.ndarray:
    """Expand coalition masks over varying players (K, M) into column masks (K, P)."""
    colmask = np.zeros((masks.shape[0], n_cols), dtype=bool)
    for q, player in enumerate(varying):
        colmask[:, players[player]] = masks[:, q : q + 1] != 0
    return colmask


def build_block(
    records: np.ndarray,
    baseline: np.ndarray,
    record_ids: list[int],
    colmasks: list[np.ndarray],
    diffs: np.ndarray,
    need_keys: bool = True,
) -> SyntheticBlock:
    """Distinct synthetic rows for the records ``record_ids`` with coalition column masks ``colmasks``.

    ``diffs`` is :func:`differing_columns` for those records, in the same order. Rows are
    identified by ``(b, S ∩ D_b)``, the column set held as uint64 words, so any number of
    columns is deduplicated. The block's rows are counted first, then written once into one
    array (:mod:`analyzer.explain.rowfill`). Without ``need_keys`` the rows' provenance
    (``row_record`` etc.) is not returned.
    """
    n_base, n_cols = baseline.shape
    b_range = np.arange(n_base, dtype=np.int64)
    b_bits = max(1, int(n_base - 1).bit_length())
    # per record: (rid, colmask or None, rows' baseline indices, rows' keys)
    parts: list[tuple[int, np.ndarray | None, np.ndarray, np.ndarray]] = []
    index: list[np.ndarray] = []
    offset = n_base
    for pos, (rid, colmask) in enumerate(zip(record_ids, colmasks, strict=True)):
        colbits = pack_bits(colmask)  # (K, W)
        diffbits = pack_bits(diffs[pos])  # (N, W)
        n_words = colbits.shape[1]
        keys = colbits[:, None, :] & diffbits[None, :, :]  # (K, N, W)
        used_cols = np.bitwise_or.reduce(colbits, axis=0) if len(colbits) else np.zeros(n_words, np.uint64)
        if not np.any(used_cols[None, :] & ~diffbits):
            # x differs from every baseline row in every column a coalition can take from x:
            # all (coalition, baseline row) pairs give distinct rows, none equal to a baseline row.
            n_rows = len(colbits) * n_base
            index.append(offset + np.arange(n_rows, dtype=np.int64).reshape(len(colbits), n_base))
            parts.append((rid, colmask, np.tile(b_range, len(colbits)), keys.reshape(n_rows, n_words)))
            offset += n_rows
            continue
        flat = keys.reshape(-1, n_words)
        if n_words == 1 and n_cols + b_bits <= 63:
            # one int64 per (key, b): sorts fast
            combined = (flat[:, 0].astype(np.int64) << b_bits) | np.tile(b_range, len(colbits))
            uniq, inv = np.unique(combined, return_inverse=True)
            ukeys = (uniq >> b_bits).astype(np.uint64)[:, None]
            ub = uniq & ((1 << b_bits) - 1)
        else:
            tagged = np.empty((flat.shape[0], n_words + 1), dtype=np.uint64)
            tagged[:, 0] = np.tile(b_range, len(colbits))
            tagged[:, 1:] = flat
            row_ids = tagged.view(np.dtype((np.void, 8 * (n_words + 1)))).ravel()
            _, first, inv = np.unique(row_ids, return_index=True, return_inverse=True)
            ukeys = flat[first]
            ub = tagged[first, 0].astype(np.int64)
        nonzero = ukeys.any(axis=1)
        slot = np.cumsum(nonzero) - 1 + offset
        index.append(np.where(nonzero, slot, ub)[inv.reshape(-1)].reshape(keys.shape[:2]))
        parts.append((rid, None, ub[nonzero], ukeys[nonzero]))
        offset += int(nonzero.sum())
    if not parts:
        return SyntheticBlock(baseline[:0], index)
    rows = np.empty((offset - n_base, n_cols), dtype=np.result_type(records, baseline))
    start = 0
    for rid, grid, rows_b, rows_keys in parts:
        stop = start + len(rows_b)
        if grid is not None:
            fill_grid(rows[start:stop].reshape(len(grid), n_base, n_cols), grid, records[rid], baseline)
        elif stop > start:
            fill_keys(rows[start:stop], records[rid], baseline, rows_b, rows_keys)
        start = stop
    if not need_keys:
        return SyntheticBlock(rows, index)
    return SyntheticBlock(
        rows,
        index,
        np.concatenate([np.full(len(p[2]), p[0], dtype=np.int64) for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )


def _column_codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of one column; equal codes mean the very same value (type and bits)."""
    if values.dtype == np.float64:
        return pd.factorize(values.view(np.int64))[0]
    if values.dtype != object:
        return pd.factorize(values, use_na_sentinel=False)[0]
    tagged = np.empty(len(values), dtype=object)
    tagged[:] = [(type(v).__name__, v) if v == v else (type(v).__name__, "nan") for v in values]
    return pd.factorize(tagged, use_na_sentinel=False)[0]


@dataclass
class Registration:
    """A block's rows to send, the ids their predictions get, and the per-record index.

    ``shared``: ids and index refer to :attr:`RowCache.table` (cross-block deduplication);
    otherwise to the block's own table ``concat(first predictions, this block's predictions)``.
    """

    rows: np.ndarray
    ids: np.ndarray
    index: list[np.ndarray]
    shared: bool


class RowCache:
    """Ids of the distinct rows sent to the model, and their predictions.

    Ids ``0..N-1`` are the baseline rows and ``N..N+n-1`` the records (both predicted in the
    first call, ``first_predictions``). When every row can be encoded exactly as one int64 (the
    product of the columns' numbers of distinct values fits in 62 bits), rows are deduplicated
    across records and blocks by content, and their predictions kept in :attr:`table` (at most
    ``max_rows`` rows; past that, deduplication falls back to within each record). Otherwise
    rows are deduplicated within each record only (see :func:`build_block`) and each block's
    predictions are dropped once its records are solved.
    """

    def __init__(
        self,
        records: np.ndarray,
        baseline: np.ndarray,
        n_first: int,
        max_rows: int = 8_000_000,
    ) -> None:
        n_base, n_cols = baseline.shape
        self.n_first = n_first
        self.first = np.zeros((n_first, 0))
        self.table = np.zeros((0, 0))
        self.size = self.n_first
        self.n_base = n_base
        self.max_rows = max_rows
        self.known: dict[int, int] | None = None
        both = np.concatenate([baseline, records]) if len(records) else baseline
        codes = np.empty(both.shape, dtype=np.int64)
        product = 1
        for j in range(n_cols):
            codes[:, j] = _column_codes(both[:, j])
            product *= int(codes[:, j].max()) + 1
            if product >= 2**62:
                return
        radix = np.ones(n_cols, dtype=np.int64)
        for j in range(1, n_cols):
            radix[j] = radix[j - 1] * (int(codes[:, j - 1].max()) + 1)
        self.base_codes = codes[:n_base]
        self.rec_codes = codes[n_base:]
        self.radix = radix
        self.base_keys = self.base_codes @ radix
        self.known = {}
        for gid, key in enumerate((codes @ radix).tolist()):
            self.known.setdefault(key, gid)

    @property
    def shared(self) -> bool:
        """Whether rows are still deduplicated across records and blocks."""
        return self.known is not None

    def register(self, block: SyntheticBlock) -> Registration:
        """Assign ids to the block's candidate rows and pick the ones to send."""
        n_base = self.n_base
        n_cand = len(block.rows)
        if self.known is not None and self.size + n_cand > self.max_rows:
            self.known = None  # memory bound reached: stop deduplicating across blocks
        if self.known is None or n_cand == 0 or block.row_keys is None:
            ids = self.n_first + np.arange(n_cand, dtype=np.int64)
            lut = np.concatenate([np.arange(n_base, dtype=np.int64), ids])
            return Registration(block.rows, ids, [lut[i] for i in block.index], shared=False)
        n_cols = block.rows.shape[1]
        bits = unpack_bits(block.row_keys, n_cols).astype(np.int64)
        delta = (self.rec_codes[block.row_record] - self.base_codes[block.row_baseline]) * self.radix
        row_keys = self.base_keys[block.row_baseline] + (bits * delta).sum(axis=1)
        uniq, first, inv = np.unique(row_keys, return_index=True, return_inverse=True)
        uniq_ids = np.empty(len(uniq), dtype=np.int64)
        new_pos: list[int] = []
        next_id = self.size
        for u, key in enumerate(uniq.tolist()):
            found = self.known.get(key)
            if found is None:
                self.known[key] = next_id
                found = next_id
                next_id += 1
                new_pos.append(u)
            uniq_ids[u] = found
        new = np.array(new_pos, dtype=np.int64)
        self._reserve(len(new))
        lut = np.concatenate([np.arange(n_base, dtype=np.int64), uniq_ids[inv.reshape(-1)]])
        return Registration(block.rows[first[new]], uniq_ids[new], [lut[i] for i in block.index], shared=True)

    def set_first(self, first_predictions: np.ndarray) -> None:
        """Predictions of the first call (baseline rows, then records); call before any lookup."""
        self.first = first_predictions
        table = np.empty((max(self.size, 2 * self.n_first, 1024), first_predictions.shape[1]))
        table[: self.n_first] = first_predictions
        self.table = table

    def _reserve(self, n_new: int) -> None:
        self.size += n_new

    def _ensure_capacity(self) -> None:
        if self.size > len(self.table):
            grown = np.empty((max(self.size, 2 * len(self.table)), self.table.shape[1]))
            grown[: len(self.table)] = self.table
            self.table = grown

    def predictions(self, registration: Registration, predictions: np.ndarray) -> np.ndarray:
        """The table ``registration.index`` refers to, once its rows' ``predictions`` are known."""
        if registration.shared:
            self._ensure_capacity()
            if len(predictions):
                self.table[registration.ids] = predictions
            return self.table
        if len(predictions) == 0:
            return self.first
        return np.concatenate([self.first, predictions])
