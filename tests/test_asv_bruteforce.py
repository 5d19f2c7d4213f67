"""Asymmetric Shapley values against a brute-force oracle that enumerates every ordering of the
players and keeps the ones the direction allows (no code shared with the implementation).

Every test also checks efficiency: attributions plus offset equal the forecast.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from analyzer.datasets.time_series import SeriesItem, TimeSeriesDataset
from analyzer.errors import ModelError
from analyzer.explain.asymmetric_shapley import (
    TIMEWISE_FEATURE_NAME,
    AsvResult,
    AsvSpec,
    CoalitionBatch,
    ForecastInput,
    explain_time_series,
)

H = 3
Model = Callable[[ForecastInput], np.ndarray]


def interacting_model(inp: ForecastInput) -> np.ndarray:
    """A deterministic, non-additive forecaster reading every cell (future related values too)."""
    x = np.nan_to_num(inp.target)
    z = [np.nan_to_num(r) for r in inp.related]
    u = [float(s) for s in inp.static]
    h = np.arange(1, H + 1)
    out = (
        0.7 * x[-1]
        + 0.2 * np.sum(x * np.arange(1, len(x) + 1))
        + np.tanh(x[0] * (z[0][-1] if z else 1.0)) * h
    )
    for k, series in enumerate(z):
        out = out + (0.3 + 0.1 * k) * np.sum(series) + 0.05 * series[0] * x[-1] * h
        out = out + np.maximum(series[-1] - x[0], 0.0)
    if z:  # cells of the same time step interact, and so do the static covariates
        m = min(len(x), len(z[0]))
        out = out + 0.4 * np.sum(x[:m] * z[0][:m]) * h
    for k, value in enumerate(u):
        out = out + (k + 1) * value * (1 + 0.1 * h) + 0.2 * value * x[-1]
    if len(u) > 1:
        out = out + 0.5 * u[0] * u[1]
    return np.asarray(out, dtype=np.float64) * np.ones(H)


def additive_model(inp: ForecastInput) -> np.ndarray:
    """Additive in every cell: the order inside a group does not change any contribution."""
    h = np.arange(1, H + 1)
    out = np.nansum(inp.target * np.arange(1, len(inp.target) + 1)) * h
    for k, series in enumerate(inp.related):
        out = out + (k + 2) * np.nansum(series) + 0.5 * h
    for k, value in enumerate(inp.static):
        out = out + (k + 1) * float(value) * h
    return np.asarray(out, dtype=np.float64)


def dataset(items: Sequence[SeriesItem], n_related: int, n_static: int) -> TimeSeriesDataset:
    return TimeSeriesDataset(
        tuple(items),
        "item_id",
        "timestamp",
        "y",
        tuple(f"r{k}" for k in range(n_related)),
        tuple(f"s{k}" for k in range(n_static)),
    )


def item(item_id: Any, target: list[float], related: list[list[float]], static: list[Any]) -> SeriesItem:
    n = max([len(target), *(len(r) for r in related)])
    return SeriesItem(
        item_id,
        tuple(f"t{k}" for k in range(n)),
        np.array(target, dtype=np.float64),
        tuple(np.array(r, dtype=np.float64) for r in related),
        tuple(static),
    )


def forecast_fn(model: Model, calls: list[int] | None = None) -> Callable[[CoalitionBatch], np.ndarray]:
    def forecast(batch: CoalitionBatch) -> np.ndarray:
        if calls is not None:
            calls.append(len(batch))
        return np.stack([model(batch.inputs(i)) for i in range(len(batch))])

    return forecast


# ------------------------------------------------------------------------------ the oracle


def _baseline(kind: str, series: np.ndarray) -> np.ndarray:
    if kind == "mean":
        return np.full(len(series), np.nanmean(series))
    return np.zeros(len(series))


def brute_force(
    it: SeriesItem,
    model: Model,
    *,
    direction: str,
    granularity: str,
    target_baseline: str = "zero",
    related_baseline: str = "zero",
    static_baseline: Sequence[Any] | None = None,
    uses_related: bool = True,
    uses_static: bool = True,
) -> tuple[dict[Any, np.ndarray], np.ndarray, np.ndarray]:
    """(φ per player, offset, forecast) by enumerating every allowed ordering of the players."""
    cells: list[tuple[Any, ...]] = [("t", t) for t in range(len(it.target))]
    if uses_related:
        cells += [("r", k, t) for k, r in enumerate(it.related) for t in range(len(r))]
    static_players = granularity == "fine_grained" and uses_static and bool(it.static)
    if static_players:
        cells += [("s", k) for k in range(len(it.static))]

    def step(cell: tuple[Any, ...]) -> int:
        return -1 if cell[0] == "s" else cell[-1]

    if granularity == "timewise":
        players: list[Any] = list(range(it.n_steps))
        owner = {c: step(c) for c in cells}
    else:
        players = list(cells)
        owner = {c: c for c in cells}
    tb = _baseline(target_baseline, it.target)
    rb = [_baseline(related_baseline, r) for r in it.related]
    cache: dict[frozenset[Any], np.ndarray] = {}

    def value(coalition: frozenset[Any]) -> np.ndarray:
        if coalition not in cache:
            target = np.array(
                [it.target[t] if owner[("t", t)] in coalition else tb[t] for t in range(len(it.target))]
            )
            related = tuple(
                np.array(
                    [
                        r[t] if (not uses_related or owner[("r", k, t)] in coalition) else rb[k][t]
                        for t in range(len(r))
                    ]
                )
                for k, r in enumerate(it.related)
            )
            static = tuple(
                v if (not static_players or owner[("s", k)] in coalition) else static_baseline[k]  # type: ignore[index]
                for k, v in enumerate(it.static)
            )
            cache[coalition] = model(ForecastInput(it.timestamps[0], target, related, static))
        return cache[coalition]

    def allowed(order: tuple[Any, ...]) -> bool:
        if granularity == "timewise":
            chron, anti = tuple(sorted(players)), tuple(sorted(players, reverse=True))
            return {"chronological": order == chron, "anti_chronological": order == anti}.get(
                direction, order in (chron, anti)
            )
        keys = [step(p) for p in order]
        return all(a <= b for a, b in zip(keys, keys[1:]))

    orders = [o for o in itertools.permutations(players) if allowed(o)]
    phi = {p: np.zeros(H) for p in players}
    for order in orders:
        before: frozenset[Any] = frozenset()
        for p in order:
            after = before | {p}
            phi[p] += (value(after) - value(before)) / len(orders)
            before = after
    return phi, value(frozenset()), value(frozenset(players))


def assert_efficient(result: AsvResult) -> None:
    for it in result.items:
        assert it.efficiency_gap < 1e-9, it.item_id


def entries_by_player(result_item: Any, granularity: str, it: SeriesItem) -> dict[Any, np.ndarray]:
    """Map output entries back to the oracle's player keys."""
    out: dict[Any, np.ndarray] = {}
    stamps = {s: k for k, s in enumerate(it.timestamps)}
    counters: dict[str, int] = {}
    for e in result_item.entries:
        if granularity == "timewise":
            assert e.feature_name == TIMEWISE_FEATURE_NAME
            out[stamps[e.timestamp]] = e.scores
        elif e.feature_name == "y":
            out[("t", stamps[e.timestamp])] = e.scores
        elif e.timestamp is None:
            k = counters.setdefault("s", 0)
            counters["s"] += 1
            out[("s", int(e.feature_name[1:]))] = e.scores
            assert k == int(e.feature_name[1:])
        else:
            out[("r", int(e.feature_name[1:]), stamps[e.timestamp])] = e.scores
    return out


# ------------------------------------------------------------------------------------ tests

SHORT = item("a", [1.5, -0.5, 2.0], [[0.5, 1.0, -1.0, 2.0, 0.25], [2.0, 0.0, 1.0, 3.0]], [2.0])
TWO_STATIC = item("b", [1.0, 2.5], [[0.5, -1.5, 1.0]], [1.0, 3.0])
WITH_GAP = item("c", [2.0, math.nan, 1.0], [[1.0, 2.0, 0.5], [0.0, 1.5]], [])


@pytest.mark.parametrize("direction", ["chronological", "anti_chronological", "bidirectional"])
@pytest.mark.parametrize("baseline", ["zero", "mean"])
def test_timewise_equals_brute_force(direction: str, baseline: str) -> None:
    spec = AsvSpec(direction, "timewise", target_baseline=baseline, related_baseline=baseline)
    result = explain_time_series(dataset([SHORT], 2, 1), spec, forecast_fn(interacting_model))
    assert_efficient(result)
    phi, offset, forecast = brute_force(
        SHORT, interacting_model, direction=direction, granularity="timewise",
        target_baseline=baseline, related_baseline=baseline,
    )  # fmt: skip
    got = entries_by_player(result.items[0], "timewise", SHORT)
    assert set(got) == set(phi) == set(range(5))
    for p in phi:
        np.testing.assert_allclose(got[p], phi[p], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(result.items[0].offset, offset, rtol=1e-12)
    np.testing.assert_allclose(result.items[0].forecast, forecast, rtol=1e-12)
    assert result.sampled_groups == 0


def test_timewise_directions_differ_and_bidirectional_is_their_mean() -> None:
    ds = dataset([SHORT], 2, 1)
    runs = {
        d: explain_time_series(ds, AsvSpec(d, "timewise"), forecast_fn(interacting_model)).items[0]
        for d in ("chronological", "anti_chronological", "bidirectional")
    }
    chron, anti, both = (np.stack([e.scores for e in runs[d].entries]) for d in runs)
    assert not np.allclose(chron, anti)
    np.testing.assert_allclose(both, (chron + anti) / 2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("it", "n_related", "n_static", "static_base"),
    [(TWO_STATIC, 1, 2, [0.5, -1.0]), (WITH_GAP, 2, 0, None)],
    ids=["static-first", "missing-value"],
)
@pytest.mark.parametrize("estimator", ["exact", "auto"])
def test_fine_grained_exact_equals_brute_force(
    it: SeriesItem, n_related: int, n_static: int, static_base: list[float] | None, estimator: str
) -> None:
    spec = AsvSpec(
        "chronological", "fine_grained", num_samples=50, target_baseline="mean",
        static_baseline={it.item_id: static_base} if static_base else None, estimator=estimator,
    )  # fmt: skip
    result = explain_time_series(dataset([it], n_related, n_static), spec, forecast_fn(interacting_model))
    assert_efficient(result)
    phi, offset, _ = brute_force(
        it, interacting_model, direction="chronological", granularity="fine_grained",
        target_baseline="mean", static_baseline=static_base,
    )  # fmt: skip
    got = entries_by_player(result.items[0], "fine_grained", it)
    assert set(got) == set(phi)
    for p in phi:
        np.testing.assert_allclose(got[p], phi[p], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(result.items[0].offset, offset, rtol=1e-12)
    assert result.sampled_groups == 0


def test_fine_grained_entry_order_is_target_related_static() -> None:
    spec = AsvSpec("chronological", "fine_grained", num_samples=4, static_baseline={"b": [0, 0]})
    result = explain_time_series(dataset([TWO_STATIC], 1, 2), spec, forecast_fn(interacting_model))
    names = [(e.feature_name, e.timestamp) for e in result.items[0].entries]
    assert names == [
        ("y", "t0"),
        ("y", "t1"),
        ("r0", "t0"),
        ("r0", "t1"),
        ("r0", "t2"),
        ("s0", None),
        ("s1", None),
    ]


def test_parts_not_sent_are_not_players() -> None:
    spec = AsvSpec("chronological", "fine_grained", num_samples=3, uses_related=False, uses_static=False)
    result = explain_time_series(dataset([TWO_STATIC], 1, 2), spec, forecast_fn(interacting_model))
    assert_efficient(result)
    phi, _, _ = brute_force(
        TWO_STATIC, interacting_model, direction="chronological", granularity="fine_grained",
        uses_related=False, uses_static=False,
    )  # fmt: skip
    got = entries_by_player(result.items[0], "fine_grained", TWO_STATIC)
    assert set(got) == set(phi) == {("t", 0), ("t", 1)}
    for p in phi:
        np.testing.assert_allclose(got[p], phi[p], rtol=1e-10)


def test_sampled_is_exact_for_an_additive_model() -> None:
    spec = AsvSpec(
        "chronological", "fine_grained", num_samples=2, estimator="sampled", static_baseline={"b": [0, 1]}
    )
    result = explain_time_series(dataset([TWO_STATIC], 1, 2), spec, forecast_fn(additive_model))
    assert_efficient(result)
    assert result.sampled_groups > 0
    phi, _, _ = brute_force(
        TWO_STATIC,
        additive_model,
        direction="chronological",
        granularity="fine_grained",
        static_baseline=[0, 1],
    )
    got = entries_by_player(result.items[0], "fine_grained", TWO_STATIC)
    for p in phi:
        np.testing.assert_allclose(got[p], phi[p], rtol=1e-10, atol=1e-10)


def test_sampled_is_seeded_and_unbiased() -> None:
    ds = dataset([TWO_STATIC], 1, 2)
    common = {"num_samples": 1, "estimator": "sampled", "static_baseline": {"b": [0.5, -1.0]}}

    def run(seed: int) -> np.ndarray:
        result = explain_time_series(
            ds, AsvSpec("chronological", "fine_grained", seed=seed, **common), forecast_fn(interacting_model)
        )
        assert_efficient(result)
        return np.stack([e.scores for e in result.items[0].entries])

    np.testing.assert_array_equal(run(3), run(3))
    draws = np.stack([run(seed) for seed in range(400)])
    assert any(not np.allclose(draws[0], d) for d in draws[1:])
    exact = explain_time_series(
        ds, AsvSpec("chronological", "fine_grained", num_samples=1, estimator="exact",
                    static_baseline={"b": [0.5, -1.0]}), forecast_fn(interacting_model),
    ).items[0]  # fmt: skip
    want = np.stack([e.scores for e in exact.entries])
    spread = draws.std(axis=0) / math.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - want) <= 5 * spread + 1e-9)


def test_auto_uses_exact_only_when_it_is_not_more_expensive() -> None:
    ds = dataset([SHORT], 2, 1)  # steps with 3 cells: exact needs 7 coalitions per step
    few = explain_time_series(
        ds, AsvSpec("chronological", "fine_grained", num_samples=2, static_baseline={"a": [0]}),
        forecast_fn(interacting_model),
    )  # fmt: skip
    many = explain_time_series(
        ds, AsvSpec("chronological", "fine_grained", num_samples=3, static_baseline={"a": [0]}),
        forecast_fn(interacting_model),
    )  # fmt: skip
    assert few.sampled_groups == 3 and many.sampled_groups == 0  # 2·2+1 < 7 ≤ 3·2+1
    assert_efficient(few)
    assert_efficient(many)


def test_several_items_and_chunks_give_the_same_values() -> None:
    items = [SHORT, item("z", [0.5, 1.0, 2.0, -1.0], [[1.0, 2.0, 3.0, 4.0, 5.0], [0.0] * 4], [1.0])]
    spec = AsvSpec("chronological", "fine_grained", num_samples=2, static_baseline={"a": [0], "z": [2]})
    calls: list[int] = []
    one = explain_time_series(dataset(items, 2, 1), spec, forecast_fn(interacting_model))
    chunked = explain_time_series(
        dataset(items, 2, 1), spec, forecast_fn(interacting_model, calls), max_inputs_per_call=10
    )
    assert len(calls) == 2
    assert [i.item_id for i in chunked.items] == ["a", "z"]
    for a, b in zip(one.items, chunked.items):
        np.testing.assert_array_equal(
            np.stack([e.scores for e in a.entries]), np.stack([e.scores for e in b.entries])
        )
    assert_efficient(chunked)
    assert one.model_calls == chunked.model_calls == sum(calls)
    calls.clear()
    narrow = explain_time_series(
        dataset(items, 2, 1), spec, forecast_fn(interacting_model, calls), max_mask_cells=300
    )
    assert len(calls) == 2 and narrow.model_calls == one.model_calls  # bounded by inputs × cells


def test_check_stop_is_called_before_every_forecast_call() -> None:
    class Stop(Exception):
        pass

    seen: list[int] = []

    def check() -> None:
        seen.append(1)
        if len(seen) == 2:
            raise Stop

    items = [SHORT, item("z", [0.5, 1.0], [[1.0, 2.0], [0.0, 1.0]], [1.0])]
    with pytest.raises(Stop):
        explain_time_series(
            dataset(items, 2, 1),
            AsvSpec("chronological", "timewise"),
            forecast_fn(additive_model),
            max_inputs_per_call=1,
            check_stop=check,
        )
    assert len(seen) == 2


def test_sampled_coalitions_are_evaluated_once() -> None:
    ds = dataset([SHORT], 2, 1)
    many = AsvSpec(
        "chronological", "fine_grained", num_samples=200, estimator="sampled", static_baseline={"a": [0]}
    )
    exact = AsvSpec(
        "chronological", "fine_grained", num_samples=200, estimator="exact", static_baseline={"a": [0]}
    )
    sampled = explain_time_series(ds, many, forecast_fn(interacting_model))
    assert_efficient(sampled)
    assert sampled.model_calls <= explain_time_series(ds, exact, forecast_fn(interacting_model)).model_calls


def test_static_baseline_is_required_and_checked() -> None:
    """The plan and the loader report these with the config key; the engine checks its inputs."""
    ds = dataset([TWO_STATIC], 1, 2)
    with pytest.raises(ValueError, match="no static-covariate baseline for item 'b'"):
        explain_time_series(
            ds, AsvSpec("chronological", "fine_grained", num_samples=1), forecast_fn(additive_model)
        )
    with pytest.raises(ValueError, match="baseline of item 'b' has 1 values for 2 static covariates"):
        explain_time_series(
            ds, AsvSpec("chronological", "fine_grained", num_samples=1, static_baseline={"b": [1]}),
            forecast_fn(additive_model),
        )  # fmt: skip
    # timewise keeps static covariates at their values: no baseline needed
    assert_efficient(
        explain_time_series(ds, AsvSpec("chronological", "timewise"), forecast_fn(additive_model))
    )


def test_spec_invariants() -> None:
    """The SDK's rules and messages are checked while planning (tests/test_ts_wiring.py)."""
    with pytest.raises(ValueError, match="fine_grained explanations are chronological only"):
        AsvSpec("anti_chronological", "fine_grained", num_samples=1)
    with pytest.raises(ValueError, match="fine_grained needs num_samples >= 1"):
        AsvSpec("chronological", "fine_grained")
    with pytest.raises(ValueError, match="num_samples is only used for fine_grained"):
        AsvSpec("chronological", "timewise", num_samples=3)
    with pytest.raises(ValueError, match="direction must be one of"):
        AsvSpec("forward", "timewise")


def test_bad_forecasts_are_model_errors() -> None:
    ds = dataset([SHORT], 2, 1)
    spec = AsvSpec("chronological", "timewise")
    with pytest.raises(ModelError, match="expected one forecast"):
        explain_time_series(ds, spec, lambda batch: np.zeros(len(batch)))
    with pytest.raises(ModelError, match="not a finite number"):
        explain_time_series(ds, spec, lambda batch: np.full((len(batch), H), np.nan))
