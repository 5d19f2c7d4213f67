"""Link functions, expected values and shap's constrained weighted least squares (pure).

Each step mirrors shap 0.51.0 ``KernelExplainer`` (``l1_reg=False``) operation for operation,
so that the floating-point results are the same: the sequential sum over baseline rows
(``_exp_val``), ``np.sum`` for ``fnull``, the elimination of the last player, the normal
equations solved with ``np.linalg.solve`` and zeroing ``|phi| < 1e-10``.

One deliberate difference, the *conditioning guard*: when the normal equations are singular or
ill-conditioned (fewer independent coalitions than players, e.g. ``num_samples: 15`` for 14
features), or when the solution leaves the range the model's outputs allow, shap returns
meaningless values (around 1e26 on AWS's own example config). The guard then solves the same
eliminated system by truncated SVD (the minimum-norm least-squares solution, which is what
shap 0.3x's ``pinv`` fallback computed and what Clarify's published output for that example
is consistent with), dropping further small singular values until every value lies within the
spread of the observed coalition values. Efficiency still holds (the last player takes
``link(f(x)) - link(E[f]) - sum(others)``), and a model whose outputs lie in [0, 1] never gets
a value outside [-1, 1]. Well-conditioned records take shap's path unchanged, bit for bit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from analyzer.explain.plan import CoalitionPlan

LOGIT_EPSILON = 1e-15
#: The solve counts as ill-conditioned when the smallest eigenvalue of the weighted normal
#: matrix is below this fraction of the largest (a condition number above 1e12). Round-off on a
#: rank-deficient system leaves about 1e-16; sampled coalitions with enough samples stay far above.
CONDITION_LIMIT = 1e12
#: Singular values of the weighted design below this fraction of the largest one are dropped
#: by the guarded solve (the square root of ``1 / CONDITION_LIMIT``).
SVD_CUTOFF = 1e-6
#: Slack on the range check, for round-off only.
RANGE_SLACK = 1e-9

REASON_SINGULAR = "singular"
REASON_ILL_CONDITIONED = "ill-conditioned"
REASON_OUT_OF_RANGE = "out of range"


@dataclass
class SolveReport:
    """What the conditioning guard did over a job's records (filled by :func:`solve_record`)."""

    records: int = 0
    guarded: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    max_players: int = 0
    min_coalitions: int = 0

    def note(self, reason: str | None, players: int, coalitions: int) -> None:
        """Count one solved record; ``reason`` is None when shap's path was kept."""
        self.records += 1
        if reason is None:
            return
        self.guarded += 1
        self.reasons[reason] += 1
        self.max_players = max(self.max_players, players)
        self.min_coalitions = coalitions if self.guarded == 1 else min(self.min_coalitions, coalitions)

    def message(self) -> str | None:
        """A log line naming how many records were guarded, why, and what to change; None if none."""
        if not self.guarded:
            return None
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
        return (
            f"SHAP: the weighted least-squares solve was unstable for {self.guarded} of {self.records} "
            f"records ({why}; as few as {self.min_coalitions} coalitions for up to {self.max_players} "
            "features). Their values come from a guarded minimum-norm solve: they still add up to "
            "f(x) - E[f] but are rough estimates. For stable values raise methods.shap.num_samples "
            f"(at least {2 * self.max_players + 2}; leaving it unset uses 2 x features + 2048) or "
            "explain fewer features (methods.shap.features_to_explain)."
        )


def link(values: np.ndarray | float, use_logit: bool) -> np.ndarray:
    """shap's identity or logit link (logit clips to ``[1e-15, 1 - 1e-15]`` first)."""
    if not use_logit:
        return np.asarray(values, dtype=np.float64)
    clipped = np.clip(values, LOGIT_EPSILON, 1 - LOGIT_EPSILON)
    return np.log(clipped / (1 - clipped))


def baseline_weights(n_baseline: int) -> np.ndarray:
    """Uniform weights over the baseline rows, normalised as shap's ``DenseData`` does."""
    weights = np.ones(n_baseline)
    weights /= np.sum(weights)
    return weights


def expected_output(y_baseline: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``fnull``: the weighted mean model output over the baseline, summed as shap sums it."""
    return np.sum((y_baseline.T * weights).T, 0)


def coalition_values(y: np.ndarray, weights: np.ndarray, nsamples: int) -> np.ndarray:
    """``ey`` (nsamples, D): per coalition, the sequential weighted sum over baseline rows.

    ``y`` is (n_added, N, D); rows past ``n_added`` stay zero as in shap.
    """
    ey = np.zeros((nsamples, y.shape[2]))
    acc = np.zeros((y.shape[0], y.shape[2]))
    for b in range(y.shape[1]):
        acc += y[:, b, :] * weights[b]
    ey[: y.shape[0]] = acc
    return ey


def _value_range(ey_adj: np.ndarray, delta: float) -> float:
    """Spread of the observed coalition values, the empty (0) and the full (delta) coalition.

    Every Shapley value of a game lies within the spread of its values; an estimate outside
    the observed spread is noise from an unstable solve.
    """
    top = max(float(np.max(ey_adj, initial=0.0)), float(delta), 0.0)
    bottom = min(float(np.min(ey_adj, initial=0.0)), float(delta), 0.0)
    return top - bottom


def _in_range(vphi: np.ndarray, bound: float) -> bool:
    return bool(np.all(np.isfinite(vphi))) and float(np.max(np.abs(vphi))) <= bound * (1 + RANGE_SLACK)


def _guarded_phi(
    design: np.ndarray, sqrt_w: np.ndarray, y: np.ndarray, delta: float, bound: float
) -> np.ndarray:
    """Truncated-SVD solve of the eliminated system, shrinking the rank until in range.

    ``design`` is the weighted design (rows with positive weight only). Rank zero gives
    ``(0, ..., 0, delta)``, which is always within range, so the loop ends.
    """
    u, s, vt = np.linalg.svd(design, full_matrices=False)
    rhs = u.T @ (sqrt_w * y)
    rank = int(np.sum(s > s[0] * SVD_CUTOFF)) if s.size and s[0] > 0 else 0
    vphi = np.zeros(design.shape[1] + 1)
    for k in range(rank, -1, -1):
        w = vt[:k].T @ (rhs[:k] / s[:k])
        vphi[:-1] = w
        vphi[-1] = delta - sum(w)
        if _in_range(vphi, bound):
            break
    return vphi


def solve_record(
    plan: CoalitionPlan,
    ey: np.ndarray,
    fx: np.ndarray,
    fnull: np.ndarray,
    use_logit: bool,
    report: SolveReport | None = None,
) -> np.ndarray:
    """SHAP values (M, D) of the varying players of one record.

    shap's ``solve`` when the system is well-conditioned; otherwise the guarded solve described
    in the module docstring (counted in ``report``).
    """
    masks = plan.masks
    num_players = masks.shape[1]
    nonzero_inds = np.arange(num_players)
    last = nonzero_inds[-1]
    etmp = np.transpose(np.transpose(masks[:, nonzero_inds[:-1]]) - masks[:, last])
    wx = plan.weights[:, None] * etmp
    xtwx = etmp.T @ wx
    eigen = np.linalg.eigvalsh(xtwx)
    reason = REASON_ILL_CONDITIONED if not eigen[0] > eigen[-1] / CONDITION_LIMIT else None
    used = slice(0, plan.n_added)
    phi = np.zeros((num_players, ey.shape[1]))
    targets: list[tuple[np.ndarray, float, float]] = []
    for dim in range(ey.shape[1]):
        link_fnull = link(fnull[dim], use_logit)
        delta = link(fx[dim], use_logit) - link_fnull
        ey_adj = link(ey[:, dim], use_logit) - link_fnull
        y = np.asarray(ey_adj - masks[:, last] * delta)
        bound = _value_range(ey_adj[used], delta)
        targets.append((y, float(delta), bound))
        if reason is not None:
            continue
        try:
            w = np.linalg.solve(xtwx, wx.T @ y)
        except np.linalg.LinAlgError:
            reason = REASON_SINGULAR
            continue
        vphi = np.zeros(num_players)
        vphi[nonzero_inds[:-1]] = w
        vphi[last] = delta - sum(w)
        if not _in_range(vphi, bound):
            reason = REASON_OUT_OF_RANGE
            continue
        vphi[np.abs(vphi) < 1e-10] = 0
        phi[:, dim] = vphi
    if reason is not None:
        sqrt_w = np.sqrt(plan.weights[used])
        design = sqrt_w[:, None] * etmp[used]
        for dim, (y, delta, bound) in enumerate(targets):
            vphi = _guarded_phi(design, sqrt_w, y[used], delta, bound)
            vphi[np.abs(vphi) < 1e-10] = 0
            phi[:, dim] = vphi
    if report is not None:
        report.note(reason, num_players, plan.n_added)
    return phi
