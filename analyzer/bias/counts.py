"""Mergeable group counts: the only data the count-based bias metrics need.

A :class:`GroupCounts` holds, for one facet column, the number of rows for every
(facet key × observed label × predicted label × group-variable stratum). It is built with a
single ``np.bincount`` over a combined code, and two of them (two chunks or partitions of a
dataset) add up with ``+``/:meth:`GroupCounts.merge`, aligning their keys by value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def _union(left: pd.Index, right: pd.Index) -> pd.Index:
    new = right[~right.isin(left)]
    return left.append(new) if len(new) else left


@dataclass
class GroupCounts:
    """Row counts per facet key, label, predicted label and stratum.

    ``counts`` has shape ``(len(facet_keys), 2, 2, len(strata) + 1)``: axis 1 is the positive
    label (0/1), axis 2 the positive predicted label (0/1, always 0 before training) and the
    last stratum slot collects rows without a stratum (no group variable, or code -1).
    """

    facet_keys: pd.Index
    strata: pd.Index
    counts: np.ndarray
    #: Error text of sorting the raw group column when its values cannot be ordered (CDD fails).
    strata_error: str | None = None

    @classmethod
    def from_codes(
        cls,
        facet_codes: np.ndarray,
        facet_keys: pd.Index,
        label: np.ndarray,
        predicted: np.ndarray | None = None,
        strata_codes: np.ndarray | None = None,
        strata: pd.Index | None = None,
    ) -> GroupCounts:
        """Count rows with one bincount; codes index ``facet_keys``/``strata`` (-1 = no stratum)."""
        strata = strata if strata is not None else pd.Index([], dtype=object)
        n_s = len(strata) + 1
        size = len(facet_keys) * 4 * n_s
        dtype = np.int32 if size < 2**31 else np.int64
        code: np.ndarray = np.asarray(facet_codes).astype(dtype, copy=True)
        code *= 4
        code += np.asarray(label, dtype=bool).view(np.int8) * np.int8(2)
        if predicted is not None:
            code += np.asarray(predicted, dtype=bool).view(np.int8)
        code *= n_s
        if strata_codes is not None:
            sc = np.asarray(strata_codes)
            code += sc.astype(dtype, copy=False)
            code[sc < 0] += n_s  # missing stratum (-1) goes to the last slot
        else:
            code += n_s - 1
        flat = np.bincount(code, minlength=size)
        return cls(facet_keys, strata, flat.reshape(len(facet_keys), 2, 2, n_s))

    def merge(self, other: GroupCounts) -> GroupCounts:
        """Counts of both datasets together (keys aligned by value, first-seen order kept)."""
        fk = _union(self.facet_keys, other.facet_keys)
        st = _union(self.strata, other.strata)
        out = np.zeros((len(fk), 2, 2, len(st) + 1), dtype=np.int64)
        for part in (self, other):
            fi = fk.get_indexer(part.facet_keys)
            si = np.append(st.get_indexer(part.strata), len(st))
            both = np.arange(2)
            out[np.ix_(fi, both, both, si)] += part.counts
        return GroupCounts(fk, st, out, self.strata_error or other.strata_error)

    __add__ = merge

    def cells(self, sensitive: np.ndarray) -> np.ndarray:
        """Counts of facet d (the keys where ``sensitive`` is True) vs a (the rest).

        Returns an int64 array ``(2, 2, 2, S)``: [a/d, label, predicted label, stratum].
        """
        sensitive = np.asarray(sensitive, dtype=bool)
        d = self.counts[sensitive].sum(axis=0)
        a = self.counts[~sensitive].sum(axis=0)
        return np.stack([a, d])
