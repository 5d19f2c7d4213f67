"""Time-series explanations: ms per item and the share of the time spent in the model.

100 items of 100 time steps with 2 related series (known 10 steps into the future) and a
10-step forecast; the forecasting example's model (``examples/forecasting``) behind
``local_endpoint`` (1 worker, 127.0.0.1), DeepAR-style ``{"instances": $records}`` requests.
For ``timewise`` and for ``fine_grained`` (``num_samples`` 9) it reports:

* ms per item of :func:`explain_time_series` end to end (planning, request encoding, HTTP,
  response parsing, attribution);
* model time: the wall-clock time during which at least one request is at the endpoint,
  and its share of the total (target: ≥ 70 %);
* the reference measured in the same run: the very same request bodies posted again
  (pre-encoded, same requests in flight) — the time any explainer making these model calls
  needs at least — and the explainer's total as a multiple of it;
* the endpoint's own processing time (``Server-Timing``: read, parse, predict, encode), summed
  over requests — above 100 % of the total when requests overlap at the endpoint.

    .venv/bin/python benchmarks/timeseries_asv.py [--items 100] [--steps 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import requests

from analyzer.datasets.time_series import SeriesItem, TimeSeriesDataset
from analyzer.explain.asymmetric_shapley import AsvSpec, explain_time_series
from analyzer.model_client import HttpTransport, Reply
from analyzer.model_client.forecast import ForecastEndpoint
from local_endpoint.forecasting import save_forecaster

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers
from _model_server import start_endpoint

ROOT = Path(__file__).resolve().parents[1]
HORIZON = 10
RELATED = ("temperature", "promotion")
CONTENT = '{"instances": $records}'
RECORD = '{"start": $start_time, "target": $target_time_series, "dynamic_feat": $related_time_series}'


def _example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "forecasting" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TimedTransport(HttpTransport):
    """Records when each request is in flight, its body and the endpoint's Server-Timing total."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.intervals: list[tuple[float, float]] = []
            self.bodies: list[bytes] = []
            self.server_s = 0.0

    def invoke(self, body: bytes, **kwargs: Any) -> Reply:
        t0 = time.perf_counter()
        reply = super().invoke(body, **kwargs)
        t1 = time.perf_counter()
        timing = reply.headers.get("server-timing", "")
        server = sum(float(p.split("dur=")[1]) for p in timing.split(",") if "dur=" in p) / 1e3
        with self.lock:
            self.intervals.append((t0, t1))
            self.bodies.append(body)
            self.server_s += server
        return reply


def busy_time(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of the intervals (time with at least one request in flight)."""
    total, end = 0.0, -np.inf
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def replay(url: str, bodies: list[bytes], in_flight: int) -> float:
    """Seconds to post the same bodies again, pre-encoded, with ``in_flight`` concurrent requests."""
    local = threading.local()

    def post(body: bytes) -> None:
        session = getattr(local, "s", None) or requests.Session()
        local.s = session
        resp = session.post(
            url + "/invocations",
            data=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        resp.raise_for_status()
        _ = resp.content

    with ThreadPoolExecutor(in_flight) as pool:
        t0 = time.perf_counter()
        list(pool.map(post, bodies))
        return time.perf_counter() - t0


def dataset(rows: list[dict[str, Any]]) -> TimeSeriesDataset:
    by_item: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_item.setdefault(r["item_id"], []).append(r)
    items = []
    for item_id, mine in by_item.items():
        target = np.array([r["sales"] for r in mine if r["sales"] is not None], dtype=float)
        related = tuple(np.array([r[name] for r in mine], dtype=float) for name in RELATED)
        items.append(SeriesItem(item_id, tuple(r["timestamp"] for r in mine), target, related, ()))
    return TimeSeriesDataset(tuple(items), "item_id", "timestamp", "sales", RELATED, ())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    gen, train = _example("generate_data"), _example("train_model")
    common = {"related": RELATED, "static": (), "horizon": HORIZON}
    rows = gen.generate(item_ids=[f"i{k}" for k in range(args.items)], steps=args.steps + HORIZON, **common)
    model = train.train(
        rows[: 20 * (args.steps + HORIZON)], target_lags=14, related_past=7, related_future=10, **common
    )
    data = dataset(rows)
    specs = {
        "timewise": AsvSpec("chronological", "timewise"),
        "fine_grained": AsvSpec("chronological", "fine_grained", num_samples=9),
    }
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        ep = start_endpoint(save_forecaster(model, Path(tmp) / "model"))
        try:
            transport = TimedTransport(ep.url)
            endpoint = ForecastEndpoint(
                transport,
                content_type="application/json",
                accept_type="application/json",
                content_template=CONTENT,
                record_template=RECORD,
                forecast="predictions[*].mean",
                progress=False,
            )
            explain_time_series(
                dataset(rows[: 2 * (args.steps + HORIZON)]), specs["timewise"], endpoint
            )  # warm-up
            for name, spec in specs.items():
                runs = []
                for _ in range(args.rounds):  # explainer and replay interleaved: same machine load
                    transport.reset()
                    t0 = time.perf_counter()
                    result = explain_time_series(data, spec, endpoint)
                    total = time.perf_counter() - t0
                    assert max(i.efficiency_gap for i in result.items) < 1e-6
                    busy, server, bodies = (
                        busy_time(transport.intervals),
                        transport.server_s,
                        transport.bodies,
                    )
                    runs.append((total, busy, server, replay(ep.url, bodies, endpoint.client.max_in_flight)))
                total, busy, server, ref = (float(np.median(col)) for col in zip(*runs))
                results.append((name, result.model_calls, len(bodies), total, busy, server, ref))
            endpoint.close()
        finally:
            ep.stop()

    print(
        f"{args.items} items x {args.steps} steps, 2 related series, horizon {HORIZON}; example forecaster "
        f"on local_endpoint (1 worker), loopback; median of {args.rounds} rounds"
    )
    print(
        "| granularity | model inputs | requests | ms per item | model time share | replay of the same "
        "requests (ms/item) | explainer / replay | endpoint processing, summed / total |"
    )
    print("|---|---|---|---|---|---|---|---|")
    worst = 1.0
    for name, inputs, n_req, total, busy, server, ref in results:
        share = busy / total
        worst = min(worst, share)
        print(
            f"| {name} | {inputs:,} | {n_req} | {1e3 * total / args.items:.1f} | {100 * share:.0f} % "
            f"| {1e3 * ref / args.items:.1f} | {total / ref:.2f}x | {100 * server / total:.0f} % |"
        )
    verdict = "met" if worst >= 0.70 else "MISSED"
    print(f"target model time >= 70 % of the total: {verdict} (lowest share {100 * worst:.0f} %)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
