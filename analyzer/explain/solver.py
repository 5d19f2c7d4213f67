"""Link functions, expected values and shap's constrained weighted least squares (pure).

Each step mirrors shap 0.51.0 ``KernelExplainer`` (``l1_reg=False``) operation for operation,
so that the floating-point results are the same: the sequential sum over baseline rows
(``_exp_val``), ``np.sum`` for ``fnull``, the elimination of the last player, the normal
equations solved with ``np.linalg.solve`` (``lstsq`` if singular) and zeroing ``|phi| < 1e-10``.
"""

from __future__ import annotations

import numpy as np

from analyzer.explain.plan import CoalitionPlan

LOGIT_EPSILON = 1e-15


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


def solve_record(
    plan: CoalitionPlan, ey: np.ndarray, fx: np.ndarray, fnull: np.ndarray, use_logit: bool
) -> np.ndarray:
    """SHAP values (M, D) of the varying players of one record, as shap's ``solve`` does."""
    masks = plan.masks
    num_players = masks.shape[1]
    nonzero_inds = np.arange(num_players)
    last = nonzero_inds[-1]
    etmp = np.transpose(np.transpose(masks[:, nonzero_inds[:-1]]) - masks[:, last])
    wx = plan.weights[:, None] * etmp
    xtwx = etmp.T @ wx
    phi = np.zeros((num_players, ey.shape[1]))
    for dim in range(ey.shape[1]):
        link_fnull = link(fnull[dim], use_logit)
        delta = link(fx[dim], use_logit) - link_fnull
        ey_adj = link(ey[:, dim], use_logit) - link_fnull
        y = np.asarray(ey_adj - masks[:, last] * delta)
        try:
            w = np.linalg.solve(xtwx, wx.T @ y)
        except np.linalg.LinAlgError:
            sqrt_w = np.sqrt(plan.weights)
            w = np.linalg.lstsq(sqrt_w[:, None] * etmp, sqrt_w * y, rcond=None)[0]
        vphi = np.zeros(num_players)
        vphi[nonzero_inds[:-1]] = w
        vphi[last] = delta - sum(w)
        vphi[np.abs(vphi) < 1e-10] = 0
        phi[:, dim] = vphi
    return phi
