"""Kernel SHAP over a model called in large batches.

The default estimator (``"clarify"``) reproduces ``shap.KernelExplainer(...).shap_values(X,
l1_reg=False)`` after ``np.random.seed(seed)`` (shap 0.51.0): the same coalitions, weights and
solver, hence the same numbers. It differs only in how the model is called: f(x) of every
record and the baseline go in one call, the synthetic rows of many records are packed into
each call, and no synthetic row is sent twice. Model calls run in a worker thread while the
next block of records is planned. ``estimator="leverage"`` is a more accurate sampler that is
NOT Clarify-identical (see :func:`analyzer.explain.plan.leverage_plan`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from analyzer.errors import ModelError
from analyzer.explain.plan import CoalitionPlan, clarify_plan, leverage_plan
from analyzer.explain.solver import (
    SolveReport,
    baseline_weights,
    coalition_values,
    expected_output,
    link,
    solve_record,
)
from analyzer.explain.synthetic import (
    Registration,
    RowCache,
    build_block,
    differing_columns,
    player_columns_mask,
    varying_players,
)
from analyzer.explain.threads import one_blas_thread
from analyzer.plan.defaults import SHAP_ESTIMATORS

logger = logging.getLogger(__name__)

PredictFn = Callable[[np.ndarray], np.ndarray]
ESTIMATORS = SHAP_ESTIMATORS
#: Default bound on synthetic rows per model call (the model client splits them further).
DEFAULT_MAX_ROWS_PER_CALL = 200_000
#: Default bound on the synthetic rows built at a time, in bytes (8 per feature value).
DEFAULT_MAX_BLOCK_BYTES = 32 * 1024 * 1024


@dataclass
class KernelShapResult:
    """Local SHAP values and what they are relative to.

    ``local`` is (n, m, k): records x explained features x model outputs. ``expected_value``
    (k,) is the link of the mean model output over the baseline, ``fx`` (n, k) the raw model
    outputs of the records, ``model_rows`` the number of rows sent to the model in total.
    """

    local: np.ndarray
    expected_value: np.ndarray
    fx: np.ndarray
    model_rows: int
    features: list[int] = field(default_factory=list)
    estimator: str = "clarify"
    model_calls: int = 0
    solve_report: SolveReport = field(default_factory=SolveReport)


@dataclass
class _Segment:
    """Coalitions ``start..stop`` of record ``rid`` (a record too big for one block is split)."""

    rid: int
    plan: CoalitionPlan
    start: int
    stop: int

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop == self.plan.n_added


@dataclass
class _Pending:
    segments: list[_Segment]
    registration: Registration
    future: Future


def _players(n_cols: int, features_to_explain: Sequence[int] | None) -> tuple[list[np.ndarray], list[int]]:
    """Players (column groups) and the explained feature columns.

    Without ``features_to_explain`` every column is a player. Otherwise each explained column
    is a player and all other columns together form one more player, whose value is not
    reported; SHAP values still add up to ``f(x) - E[f(baseline)]`` over all players.
    """
    if features_to_explain is None:
        return [np.array([j]) for j in range(n_cols)], list(range(n_cols))
    explained = [int(j) for j in features_to_explain]
    for j in explained:
        if not 0 <= j < n_cols:
            raise ValueError(f"features_to_explain: feature index {j} is out of range 0..{n_cols - 1}")
    if len(set(explained)) != len(explained):
        raise ValueError("features_to_explain lists a feature twice")
    players = [np.array([j]) for j in explained]
    rest = [j for j in range(n_cols) if j not in set(explained)]
    if rest:
        players.append(np.array(rest))
    return players, explained


def _call(predict: PredictFn, rows: np.ndarray, n_out: int | None) -> np.ndarray:
    out = np.asarray(predict(rows), dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != len(rows):
        raise ModelError(
            f"the model returned {out.shape[0] if out.ndim else 0} predictions for {len(rows)} rows"
        )
    if n_out is not None and out.shape[1] != n_out:
        raise ModelError(f"the model returned {out.shape[1]} scores per row, earlier {n_out}")
    return out


def kernel_shap(
    records: np.ndarray,
    baseline: np.ndarray,
    predict: PredictFn,
    *,
    num_samples: int | None = None,
    seed: int | None = None,
    use_logit: bool = False,
    features_to_explain: list[int] | None = None,
    estimator: str = "clarify",
    progress: Callable[[int, int], None] | None = None,
    max_rows_per_call: int = DEFAULT_MAX_ROWS_PER_CALL,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
) -> KernelShapResult:
    """Kernel SHAP values of ``records`` against ``baseline`` rows for the model ``predict``.

    ``records`` (n, P) and ``baseline`` (N, P) are in feature order (float64, or object when
    some features are strings). ``predict`` maps rows to scores (rows, k). With
    ``estimator="clarify"`` (default) the values equal ``shap.KernelExplainer(predict,
    baseline, link=...)`` ``.shap_values(records, nsamples=num_samples or "auto",
    l1_reg=False)`` run right after ``np.random.seed(seed)``. ``seed=None`` draws fresh
    randomness. ``features_to_explain`` are column indices; see :func:`_players`.

    Synthetic rows are built and sent in blocks of whole records, up to ``max_rows_per_call``
    rows (give it the rows the endpoint takes per request times the requests kept in flight)
    and at most ``max_block_bytes`` of feature values (8 bytes each); a record with more rows
    than that is split over several blocks, so memory does not grow with features x records.
    """
    records = np.asarray(records)
    baseline = np.asarray(baseline)
    if records.ndim != 2 or baseline.ndim != 2 or records.shape[1] != baseline.shape[1]:
        raise ValueError(
            f"records {records.shape} and baseline {baseline.shape} must be 2-D "
            "with the same number of features"
        )
    if len(baseline) == 0:
        raise ValueError("the baseline has no rows")
    if num_samples is not None and int(num_samples) < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown SHAP estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    # One BLAS thread: the solves are tiny, and threaded BLAS on shared cores is far slower.
    with one_blas_thread():
        return _kernel_shap(
            records,
            baseline,
            predict,
            num_samples,
            seed,
            use_logit,
            features_to_explain,
            estimator,
            progress,
            max(1, int(max_rows_per_call)),
            max(1, int(max_block_bytes) // (8 * max(1, records.shape[1]))),
        )


def _kernel_shap(
    records: np.ndarray,
    baseline: np.ndarray,
    predict: PredictFn,
    num_samples: int | None,
    seed: int | None,
    use_logit: bool,
    features_to_explain: list[int] | None,
    estimator: str,
    progress: Callable[[int, int], None] | None,
    max_rows_per_call: int,
    max_block_rows: int,
) -> KernelShapResult:
    n_rec, n_cols = records.shape
    max_rows_per_call = min(max_rows_per_call, max_block_rows)
    n_base = len(baseline)
    players, explained = _players(n_cols, features_to_explain)
    make_plan = clarify_plan if estimator == "clarify" else leverage_plan

    weights = baseline_weights(n_base)
    varying = varying_players(records, baseline, players)
    rng = np.random.RandomState(seed)
    report = SolveReport()
    cache = RowCache(records, baseline, n_base + n_rec)
    model_rows = n_base + n_rec
    model_calls = 1
    # filled from the first model call (baseline rows and records), which runs while the
    # first block of coalitions is planned
    ctx: dict[str, np.ndarray] = {}

    def first_results() -> dict[str, np.ndarray]:
        if not ctx:
            first = first_future.result()
            cache.set_first(first)
            ctx["fx"] = first[n_base:]
            ctx["fnull"] = expected_output(first[:n_base], weights)
            ctx["phi"] = np.zeros((n_rec, len(players), first.shape[1]))
        return ctx

    partial: dict[int, np.ndarray] = {}  # predictions of records split over blocks, so far

    def solve(rid: int, plan: CoalitionPlan, y: np.ndarray) -> None:
        got = first_results()
        ey = coalition_values(y, weights, len(plan.weights))
        var = np.nonzero(varying[rid])[0]
        got["phi"][rid, var, :] = solve_record(plan, ey, got["fx"][rid], got["fnull"], use_logit, report)

    def finish(pending: _Pending) -> int:
        """Solve the records whose last coalitions were in this block; returns how many."""
        got = first_results()
        out = pending.future.result()
        if len(out) and out.shape[1] != got["fx"].shape[1]:
            raise ModelError(
                f"the model returned {out.shape[1]} scores per row, earlier {got['fx'].shape[1]}"
            )
        table = cache.predictions(pending.registration, out)
        solved = 0
        for seg, idx in zip(pending.segments, pending.registration.index, strict=True):
            if seg.whole:
                solve(seg.rid, seg.plan, table[idx])
                solved += 1
                continue
            if seg.start == 0:
                partial[seg.rid] = np.empty((seg.plan.n_added, n_base, table.shape[1]))
            partial[seg.rid][seg.start : seg.stop] = table[idx]
            if seg.stop == seg.plan.n_added:
                solve(seg.rid, seg.plan, partial.pop(seg.rid))
                solved += 1
        return solved

    done = 0
    single: list[tuple[int, int]] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        first_future = pool.submit(_call, predict, np.concatenate([baseline, records]), None)
        pending: _Pending | None = None
        batch: list[_Segment] = []
        batch_rows = 0
        # small first blocks get the model busy early; later blocks amortise per-call costs
        block_target = max(1, max_rows_per_call // 8)

        def submit() -> _Pending:
            nonlocal model_rows, model_calls
            ids = [seg.rid for seg in batch]
            diffs = differing_columns(records[ids], baseline)
            colmasks = [
                player_columns_mask(
                    seg.plan.masks[seg.start : seg.stop], np.nonzero(varying[seg.rid])[0], players, n_cols
                )
                for seg in batch
            ]
            block = build_block(records, baseline, ids, colmasks, diffs, need_keys=cache.shared)
            registration = cache.register(block)
            rows = registration.rows
            model_rows += len(rows)
            if len(rows):
                model_calls += 1
                future = pool.submit(_call, predict, rows, None)
            else:
                future = _done()
            return _Pending(list(batch), registration, future)

        def flush() -> None:
            nonlocal pending, batch, batch_rows, done, block_target
            new = submit()
            if pending is not None:
                done += finish(pending)
                if progress is not None:
                    progress(done, n_rec)
            pending = new
            batch, batch_rows = [], 0
            block_target = min(2 * block_target, max_rows_per_call)

        for rid in range(n_rec):
            var = np.nonzero(varying[rid])[0]
            if len(var) == 1:
                single.append((rid, int(var[0])))
            if len(var) < 2:
                done += 1
                continue
            plan = make_plan(len(var), num_samples, rng)
            start = 0
            while start < plan.n_added:
                # whole records per block, unless one record alone is more than a block holds
                take = plan.n_added - start
                if plan.n_added * n_base > max_block_rows:
                    take = min(take, max(1, (max_block_rows - batch_rows) // n_base))
                batch.append(_Segment(rid, plan, start, start + take))
                batch_rows += take * n_base
                start += take
                if batch_rows >= block_target:
                    flush()
        if batch:
            flush()
        if pending is not None:
            done += finish(pending)
        got = first_results()
    fx, fnull, phi = got["fx"], got["fnull"], got["phi"]
    for rid, player in single:
        # shap: a single varying feature gets all of link(f(x)) - link(f_null)
        phi[rid, player, :] = link(fx[rid], use_logit) - link(fnull, use_logit)
    expected_value = link(fnull, use_logit)
    if progress is not None:
        progress(n_rec, n_rec)
    local = phi[:, : len(explained), :]
    message = report.message()
    if message is not None:
        logger.warning(message)
    return KernelShapResult(local, expected_value, fx, model_rows, explained, estimator, model_calls, report)


def _done() -> Future:
    future: Future = Future()
    future.set_result(np.zeros((0, 0)))
    return future
