"""The 20 count-based Clarify bias metrics, one function each (FT is in ``flip_test``).

Every function takes a :class:`Cells` (the counts of facet d vs a, see
``GroupCounts.cells``) and returns the value smclarify 0.5 returns, or raises ``ValueError``
with smclarify's exact message. Operation order follows bias-metrics.md §5-§6 so that
results agree to the last bit in practice (and always to 1e-12 relative).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

INF = float("inf")


def divide(a: float, b: float) -> float:
    """Clarify's division: 0/0 = 0, x/0 = ±inf."""
    if b == 0 and a == 0:
        return 0.0
    if b == 0:
        return -INF if a < 0 else INF
    return a / b


@dataclass
class Cells:
    """Counts of one facet report: ``table[g, y, yhat, s]`` with g = 0 for a, 1 for d.

    ``strata`` are the group-variable values of the stratum slots (the last slot holds rows
    without a group value); ``None`` means no group variable was given.
    """

    table: np.ndarray
    strata: pd.Index | None = None
    strata_error: str | None = None
    t: list = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tot = self.table.sum(axis=3)
        self.t = [[[int(tot[g, y, p]) for p in (0, 1)] for y in (0, 1)] for g in (0, 1)]

    def n(self, g: int) -> int:
        """Rows in group g (0 = a, 1 = d)."""
        t = self.t[g]
        return t[0][0] + t[0][1] + t[1][0] + t[1][1]

    def pos(self, g: int) -> int:
        """Observed positives in group g."""
        return self.t[g][1][0] + self.t[g][1][1]

    def pred_pos(self, g: int) -> int:
        """Predicted positives in group g."""
        return self.t[g][0][1] + self.t[g][1][1]

    def quadrants(self, g: int) -> tuple[int, int, int, int]:
        """TP, FP, FN, TN of group g."""
        t = self.t[g]
        return t[1][1], t[0][1], t[1][0], t[0][0]


# ---------------------------------------------------------------- pre-training


def CI(c: Cells) -> float:
    """Class Imbalance: (n_a - n_d) / n."""
    pos, neg = c.n(1), c.n(0)
    if neg == 0:
        raise ValueError("CI: negated facet set is empty. Check that x[~facet] has non-zero length.")
    if pos == 0:
        raise ValueError("CI: facet set is empty. Check that x[facet] has non-zero length.")
    return float(neg - pos) / (pos + neg)


def _dpl(na: int, nd: int, na_pos: int, nd_pos: int) -> float:
    if na == 0:
        raise ValueError("Negative facet set is empty.")
    if nd == 0:
        raise ValueError("Facet set is empty.")
    return na_pos / na - nd_pos / nd


def DPL(c: Cells) -> float:
    """Difference in positive proportions of observed labels, q_a - q_d."""
    return _dpl(c.n(0), c.n(1), c.pos(0), c.pos(1))


def _aligned_pmfs(c: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Label pmfs of a and d on the label values present in both groups (not renormalised)."""
    pa, pd_ = [], []
    na, nd = c.n(0), c.n(1)
    for y in (0, 1):  # keys sorted: False, True
        ca = c.t[0][y][0] + c.t[0][y][1]
        cd = c.t[1][y][0] + c.t[1][y][1]
        if ca and cd:
            pa.append(ca / na)
            pd_.append(cd / nd)
    return np.array(pa), np.array(pd_)


_NO_COMMON = "No instance of common facet found, dataset may be too small"


def KL(c: Cells) -> float:
    """Kullback-Leibler divergence KL(Pa || Pd) on the common label values."""
    pa, pd_ = _aligned_pmfs(c)
    if len(pa) == 0:
        raise ValueError(_NO_COMMON)
    return float(np.sum(pa * np.log(pa / pd_)))


def JS(c: Cells) -> float:
    """Jensen-Shannon divergence on the common label values."""
    pa, pd_ = _aligned_pmfs(c)
    p = 1 / 2 * (pa + pd_)
    if len(pa) == 0:
        raise ValueError(_NO_COMMON)
    return float(0.5 * (np.sum(pa * np.log(pa / p)) + np.sum(pd_ * np.log(pd_ / p))))


def _lp(c: Cells, order: float) -> float:
    pa, pd_ = _aligned_pmfs(c)
    if len(pa) == 0:
        raise ValueError(_NO_COMMON)
    return float(np.linalg.norm(pa - pd_, order))


def LP(c: Cells) -> float:
    """L2 norm of Pa - Pd on the common label values."""
    return _lp(c, 2)


def TVD(c: Cells) -> float:
    """Half the L1 norm of Pa - Pd on the common label values."""
    return 0.5 * _lp(c, 1)


def KS(c: Cells) -> float:
    """Max |Pa - Pd| on the common label values."""
    return _lp(c, np.inf)


def _cdd(c: Cells, axis: int) -> float:
    """Conditional demographic disparity over the strata; axis 1 = labels, 2 = predictions."""
    if c.strata is None or c.table.sum() == 0:
        raise ValueError("Group variable is empty or not provided")
    by = c.table.sum(axis=3 - axis)  # (g, label-or-prediction, stratum)
    # strata hold NaN as a value of its own; like smclarify, sort them all (mixed types raise)
    if c.strata_error:
        raise TypeError(c.strata_error)
    uniques = np.unique(np.asarray(c.strata))
    if int(by[:, 1, :].sum()) == 0:
        raise ValueError("No positive labels in set")
    if int(by[:, 0, :].sum()) == 0:
        raise ValueError("No negative labels in set")
    cdd = np.array([])
    counts = np.array([])
    for u in uniques:
        s = -1 if pd.isna(u) else int(c.strata.get_indexer([u])[0])
        if s < 0:  # NaN == NaN is False: an empty stratum
            counts = np.append(counts, 0)
            cdd = np.append(cdd, 0)
            continue
        num_a = int(by[1, 1, s])
        den_a = int(by[0, 1, s] + by[1, 1, s])
        num_d = int(by[1, 0, s])
        den_d = int(by[0, 0, s] + by[1, 0, s])
        a_s = num_a / den_a if den_a != 0 else 0
        d_s = num_d / den_d if den_d != 0 else 0
        counts = np.append(counts, int(by[:, :, s].sum()))
        cdd = np.append(cdd, d_s - a_s)
    value = divide(np.sum(counts * cdd), np.sum(counts))
    return float(value)


def CDDL(c: Cells) -> float:
    """Conditional demographic disparity in observed labels."""
    return _cdd(c, axis=1)


# ---------------------------------------------------------------- post-training


def DPPL(c: Cells) -> float:
    """Difference in positive proportions of predicted labels."""
    return _dpl(c.n(0), c.n(1), c.pred_pos(0), c.pred_pos(1))


def DI(c: Cells) -> float:
    """Disparate impact: predicted-positive rate of d over that of a."""
    na = c.n(0)
    if na == 0:
        raise ValueError("Negated facet set is empty")
    qa = c.pred_pos(0) / na
    nd = c.n(1)
    if nd == 0:
        raise ValueError("Facet set is empty")
    qd = c.pred_pos(1) / nd
    return divide(qd, qa)


def _check_groups(c: Cells, prefix: str) -> None:
    if c.n(1) == 0:
        raise ValueError(f"{prefix}Facet set is empty")
    if c.n(0) == 0:
        raise ValueError(f"{prefix}Negated Facet set is empty")


def _diff(u: float, v: float) -> float:
    """u - v, with inf - inf = 0 (as an int, as smclarify returns it)."""
    if u == v and u == INF:
        return 0
    return u - v


def DCA(c: Cells) -> float:
    """Difference in conditional acceptance: (TP+FN)/(TP+FP), a minus d."""
    _check_groups(c, "DCO: ")
    ca = divide(c.pos(0), c.pred_pos(0))
    cd = divide(c.pos(1), c.pred_pos(1))
    return _diff(ca, cd)


def DCR(c: Cells) -> float:
    """Difference in conditional rejection: (TN+FP)/(TN+FN), d minus a."""
    _check_groups(c, "DCO: ")
    rr_a = divide(c.n(0) - c.pos(0), c.n(0) - c.pred_pos(0))
    rr_d = divide(c.n(1) - c.pos(1), c.n(1) - c.pred_pos(1))
    if rr_a == rr_d and rr_a == INF:
        return 0
    return rr_d - rr_a


def DAR(c: Cells) -> float:
    """Difference in acceptance rates (precision), a minus d."""
    _check_groups(c, "DLR: ")
    tp_a, fp_a, _, _ = c.quadrants(0)
    tp_d, fp_d, _, _ = c.quadrants(1)
    return _diff(divide(tp_a, tp_a + fp_a), divide(tp_d, tp_d + fp_d))


def DRR(c: Cells) -> float:
    """Difference in rejection rates (negative predictive value), d minus a."""
    _check_groups(c, "DLR: ")
    _, _, fn_a, tn_a = c.quadrants(0)
    _, _, fn_d, tn_d = c.quadrants(1)
    rr_a, rr_d = divide(tn_a, tn_a + fn_a), divide(tn_d, tn_d + fn_d)
    if rr_a == rr_d and rr_a == INF:
        return 0
    return rr_d - rr_a


def RD(c: Cells) -> float:
    """Recall difference, a minus d."""
    _check_groups(c, "DLA: ")
    tp_a, _, fn_a, _ = c.quadrants(0)
    tp_d, _, fn_d, _ = c.quadrants(1)
    return _diff(divide(tp_a, tp_a + fn_a), divide(tp_d, tp_d + fn_d))


def SD(c: Cells) -> float:
    """Specificity difference, d minus a."""
    _check_groups(c, "DLA: ")
    _, fp_a, _, tn_a = c.quadrants(0)
    _, fp_d, _, tn_d = c.quadrants(1)
    sp_a, sp_d = divide(tn_a, tn_a + fp_a), divide(tn_d, tn_d + fp_d)
    if sp_a == sp_d and sp_a == INF:
        return 0
    return sp_d - sp_a


def AD(c: Cells) -> float:
    """Accuracy difference, a minus d."""
    _check_groups(c, "")
    tp_a, fp_a, fn_a, tn_a = c.quadrants(0)
    tp_d, fp_d, fn_d, tn_d = c.quadrants(1)
    acc_a = divide(tp_a + tn_a, tp_a + tn_a + fp_a + fn_a)
    acc_d = divide(tp_d + tn_d, tp_d + tn_d + fp_d + fn_d)
    if acc_a == acc_d and acc_a == INF:
        return 0.0
    return acc_a - acc_d


def CDDPL(c: Cells) -> float:
    """Conditional demographic disparity in predicted labels."""
    return _cdd(c, axis=2)


def TE(c: Cells) -> float:
    """Treatment equality: FN/FP of d minus that of a."""
    _check_groups(c, "")
    _, fp_a, fn_a, _ = c.quadrants(0)
    _, fp_d, fn_d, _ = c.quadrants(1)
    tau_a, tau_d = divide(fn_a, fp_a), divide(fn_d, fp_d)
    if tau_a == tau_d and tau_a == INF:
        return 0.0
    return tau_d - tau_a


def GE(c: Cells) -> float:
    """Generalized entropy (alpha = 2) of the benefit b = yhat - y + 1; facet-independent."""
    n = c.n(0) + c.n(1)
    if n <= 0:
        raise ValueError("dataset must be non-empty")
    # benefit counts over all rows: b = 0 (FN), 1 (TP or TN), 2 (FP)
    fn = c.t[0][1][0] + c.t[1][1][0]
    fp = c.t[0][0][1] + c.t[1][0][1]
    ok = n - fn - fp
    mean = float(ok + 2 * fp) / n
    if mean == 0:
        raise ValueError(
            "All predicted labels are false negatives. "
            "There should be at least one prediction that is not false negative."
        )
    terms = np.array([(0 / mean) ** 2 - 1, (1 / mean) ** 2 - 1, (2 / mean) ** 2 - 1])
    weights = np.array([fn, ok, fp], dtype=np.float64)
    return float(np.dot(weights, terms) / (n * 2 * (2 - 1)))


COUNT_METRICS: dict[str, Callable[[Cells], float]] = {
    f.__name__: f
    for f in (CI, DPL, KL, JS, LP, TVD, KS, CDDL, DPPL, DI, DCA, DCR, RD, SD, DAR, DRR, AD, CDDPL, TE, GE)
}
