"""Kernel SHAP for records with text: one coalition game per record, many records per model call.

For each record (next-capabilities.md §1.5a): segment its text cells, make its players
(:mod:`analyzer.explain.text.game`), draw its coalitions with the tabular engine's planner
(:func:`analyzer.explain.plan.clarify_plan`: shap 0.51.0's ``KernelExplainer`` sampling, hence
Clarify's sample-count rule ``min(2M + 2048, 2^M - 2)`` with M the record's number of varying
players, i.e. every coalition enumerated up to 11 players), and solve with the tabular
engine's solver (:func:`analyzer.explain.solver.solve_record`). The reference of a record is
its *null* input: every player absent (all units replaced, non-text features at the
baseline), averaged over the baseline rows; so each record has its own expected value, and
its SHAP values add up to ``link(f(x)) - link(f(null))``.

Model calls: the inputs of many records are collected into blocks of about
``max_rows_per_call`` rows, identical rows within a block are sent once, and each block is
predicted in a worker thread while the next one is built. ``predict`` is any function from
rows (an object array, features in dataset order, text as ``str``) to scores (rows, k):
``ModelClient.predict_scores`` for an endpoint over HTTP, or a model in the same process
(online explainability explains a single record the same way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from analyzer.errors import ModelError
from analyzer.explain.kernel_shap import ESTIMATORS
from analyzer.explain.plan import CoalitionPlan, clarify_plan, leverage_plan
from analyzer.explain.solver import baseline_weights, coalition_values, expected_output, link, solve_record
from analyzer.explain.text.game import RecordGame, TextLayout, build_game
from analyzer.explain.text.segment import Segmenter, TextUnit
from analyzer.explain.threads import one_blas_thread

log = logging.getLogger("analyzer.explain.text")

PredictFn = Callable[[np.ndarray], np.ndarray]
#: Default bound on the rows of one block (the model client splits a block into requests).
DEFAULT_MAX_ROWS_PER_CALL = 50_000


@dataclass(frozen=True)
class TextShapSpec:
    """What to compute: ``text_columns`` are feature-column indices holding free text.

    ``num_samples`` caps the coalitions per record (Clarify's default rule when None),
    ``seed`` seeds the sampler (a fresh random stream when None), ``estimator`` is
    ``"clarify"`` (shap's ``KernelExplainer`` sampling) or ``"leverage"`` (not
    Clarify-identical, see :func:`analyzer.explain.plan.leverage_plan`).
    """

    granularity: str
    language: str
    text_columns: tuple[int, ...]
    num_samples: int | None = None
    seed: int | None = None
    use_logit: bool = False
    estimator: str = "clarify"


@dataclass
class TextRecordShap:
    """SHAP values of one record.

    ``units[i]`` are the units of text column ``text_columns[i]`` and ``text_values[i]``
    their values (n_units, k); ``feature_values`` (n_non_text, k) are the non-text features'
    values in column order. ``expected_value`` (k,) is ``link(f(null))``, ``fx`` (k,) the
    model output for the record; ``coalitions`` is the number of coalitions evaluated.
    """

    units: list[list[TextUnit]]
    text_values: list[np.ndarray]
    feature_values: np.ndarray
    expected_value: np.ndarray
    fx: np.ndarray
    coalitions: int


@dataclass
class TextShapResult:
    """SHAP values of every record, in input order, and what it cost."""

    records: list[TextRecordShap]
    text_columns: tuple[int, ...]
    feature_columns: tuple[int, ...]
    n_outputs: int
    model_rows: int = 0
    model_calls: int = 0
    segmentation: str = ""
    estimator: str = "clarify"
    players: list[int] = field(default_factory=list)

    @property
    def expected_value(self) -> np.ndarray:
        """Mean over records of each record's expected value (k,)."""
        if not self.records:
            return np.zeros(self.n_outputs)
        return np.mean([r.expected_value for r in self.records], axis=0)


@dataclass
class _Task:
    """One record's planned coalitions and where its rows are in its block."""

    rid: int
    game: RecordGame
    plan: CoalitionPlan | None
    x_index: int = 0
    null_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    coalition_index: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))


class _Block:
    """Distinct rows of several records (identical rows share one index)."""

    def __init__(self) -> None:
        self.tasks: list[_Task] = []
        self.rows: list[np.ndarray] = []
        self.keys: dict[tuple, int] = {}

    def _index(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            key = tuple(row.tolist())
            idx = self.keys.get(key)
            if idx is None:
                idx = self.keys[key] = len(self.rows)
                self.rows.append(row)
            out[i] = idx
        return out

    def add(self, task: _Task, baseline: np.ndarray) -> None:
        game = task.game
        n_base, n_cols = baseline.shape
        task.x_index = int(self._index(game.record[None, :])[0])
        null = game.rows(np.zeros((1, game.n_varying), dtype=bool), baseline)
        task.null_index = self._index(null.reshape(n_base, n_cols))
        if task.plan is not None:
            rows = game.rows(task.plan.masks[: task.plan.n_added] != 0, baseline)
            task.coalition_index = self._index(rows.reshape(-1, n_cols)).reshape(task.plan.n_added, n_base)
        self.tasks.append(task)

    def matrix(self) -> np.ndarray:
        return np.stack(self.rows)


def _check_inputs(records: np.ndarray, baseline: np.ndarray, spec: TextShapSpec) -> None:
    """Raise ValueError for arguments the plan and the job rule out (a caller's mistake)."""
    if records.ndim != 2 or baseline.ndim != 2 or records.shape[1] != baseline.shape[1]:
        raise ValueError(
            f"records {records.shape} and baseline {baseline.shape} must be 2-D with the same number "
            "of features"
        )
    if len(baseline) == 0:
        raise ValueError("the baseline has no rows")
    if spec.num_samples is not None and int(spec.num_samples) < 1:
        raise ValueError(f"num_samples must be at least 1, got {spec.num_samples}")
    if spec.estimator not in ESTIMATORS:
        raise ValueError(f"unknown SHAP estimator {spec.estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    if not spec.text_columns:
        raise ValueError("no text column given")
    if len(set(spec.text_columns)) != len(spec.text_columns):
        raise ValueError(f"text columns {spec.text_columns} list a column twice")
    for col in spec.text_columns:
        if not 0 <= col < records.shape[1]:
            raise ValueError(f"text column index {col} is out of range 0..{records.shape[1] - 1}")
        for b, value in enumerate(baseline[:, col].tolist()):
            if not isinstance(value, str):
                raise ValueError(
                    f"baseline row {b}: the value of text feature {col} must be the replacement string "
                    f'for a text unit (e.g. "[MASK]"), got {value!r}'
                )


def text_cell(value: object) -> str:
    """The text of a cell: ``""`` for a missing value, ``str`` of anything else."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value if isinstance(value, str) else str(value)


def _predict(predict: PredictFn, rows: np.ndarray) -> np.ndarray:
    out = np.asarray(predict(rows), dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != len(rows):
        raise ModelError(
            f"the model returned {out.shape[0] if out.ndim else 0} predictions for {len(rows)} rows"
        )
    return out


def explain_text(
    records: np.ndarray,
    baseline: np.ndarray,
    predict: PredictFn,
    spec: TextShapSpec,
    *,
    segmenter: Segmenter | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_rows_per_call: int = DEFAULT_MAX_ROWS_PER_CALL,
) -> TextShapResult:
    """Kernel SHAP values of ``records`` (n, P) with text units as players.

    ``baseline`` (N, P) holds, in text columns, the replacement string of a unit and, in the
    other columns, baseline feature values. ``predict`` maps an object array of rows to
    scores (rows, k). A single record is explained the same way (online explainability).

    Raises:
        ValueError: inconsistent shapes, bad text columns, a non-string text baseline.
        ModelError: the model returned the wrong number of predictions or scores.
    """
    records = np.asarray(records, dtype=object)
    baseline = np.asarray(baseline, dtype=object)
    _check_inputs(records, baseline, spec)
    records = records.copy()
    for col in spec.text_columns:
        records[:, col] = [text_cell(v) for v in records[:, col]]
    segmenter = segmenter or Segmenter(spec.granularity, spec.language)
    cut = {col: segmenter.segment_many(records[:, col].tolist()) for col in spec.text_columns}
    games = [
        build_game(
            records[i],
            [TextLayout.of(records[i, col], cut[col][i]) for col in spec.text_columns],
            spec.text_columns,
            baseline,
        )
        for i in range(len(records))
    ]
    with one_blas_thread():
        result = _run(games, baseline, predict, spec, progress, max_rows_per_call)
    result.segmentation = segmenter.info.description
    result.players = [len(g.players) for g in games]
    if result.records:
        sizes = np.array(result.players)
        log.info(
            "Text SHAP: %d records, %d to %d players (median %g), %d rows sent to the model in %d calls",
            len(result.records),
            sizes.min(),
            sizes.max(),
            np.median(sizes),
            result.model_rows,
            result.model_calls,
        )
    return result


def _run(
    games: Sequence[RecordGame],
    baseline: np.ndarray,
    predict: PredictFn,
    spec: TextShapSpec,
    progress: Callable[[int, int], None] | None,
    max_rows_per_call: int,
) -> TextShapResult:
    n_base, n_cols = baseline.shape
    text_set = set(spec.text_columns)
    feature_columns = tuple(j for j in range(n_cols) if j not in text_set)
    weights = baseline_weights(n_base)
    make_plan = clarify_plan if spec.estimator == "clarify" else leverage_plan
    rng = np.random.RandomState(spec.seed)
    out: list[TextRecordShap | None] = [None] * len(games)
    stats = {"rows": 0, "calls": 0, "k": -1, "done": 0}

    def finish(block: _Block, future: Future) -> None:
        y = future.result()
        if stats["k"] >= 0 and y.shape[1] != stats["k"]:
            raise ModelError(f"the model returned {y.shape[1]} scores per row, earlier {stats['k']}")
        stats["k"] = y.shape[1]
        for task in block.tasks:
            out[task.rid] = _solve(task, y, weights, spec.use_logit, feature_columns)
        stats["done"] += len(block.tasks)
        if progress is not None:
            progress(stats["done"], len(games))

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: tuple[_Block, Future] | None = None
        block = _Block()
        target = max(1, max_rows_per_call // 8)  # small first block: the model starts early
        for rid, game in enumerate(games):
            m = game.n_varying
            plan = make_plan(m, spec.num_samples, rng) if m >= 2 else None
            block.add(_Task(rid, game, plan), baseline)
            if len(block.rows) >= target or rid == len(games) - 1:
                rows = block.matrix()
                stats["rows"] += len(rows)
                stats["calls"] += 1
                future = pool.submit(_predict, predict, rows)
                if pending is not None:
                    finish(*pending)
                pending = (block, future)
                block = _Block()
                target = min(2 * target, max_rows_per_call)
        if pending is not None:
            finish(*pending)
    records = [r for r in out if r is not None]
    return TextShapResult(
        records,
        tuple(spec.text_columns),
        feature_columns,
        max(stats["k"], 0),
        stats["rows"],
        stats["calls"],
        estimator=spec.estimator,
    )


def _solve(
    task: _Task, y: np.ndarray, weights: np.ndarray, use_logit: bool, feature_columns: tuple[int, ...]
) -> TextRecordShap:
    game = task.game
    fx = y[task.x_index]
    fnull = expected_output(y[task.null_index], weights)
    phi = np.zeros((len(game.players), y.shape[1]))
    var = np.nonzero(game.varying)[0]
    if task.plan is not None:
        ey = coalition_values(y[task.coalition_index], weights, len(task.plan.weights))
        phi[var] = solve_record(task.plan, ey, fx, fnull, use_logit)
    elif len(var) == 1:
        phi[var[0]] = link(fx, use_logit) - link(fnull, use_logit)
    n_feat = len(feature_columns)
    return TextRecordShap(
        units=[list(layout.units) for layout in game.layouts],
        text_values=[phi[idx] for idx in game.text_players],
        feature_values=phi[:n_feat],
        expected_value=np.asarray(link(fnull, use_logit), dtype=np.float64),
        fx=fx,
        coalitions=task.plan.n_added if task.plan is not None else 0,
    )
