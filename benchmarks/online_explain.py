"""Latency and throughput of the online explainer (``clarify-runner serve --explainer-config``).

Model: GradientBoostingClassifier (100 trees, depth 3) on ``make_classification(6000 rows,
20 features, 10 informative, random_state=0)``, 5,000 rows for training; the explainer config
has a 10-row baseline, ``ProbabilityIndex: 1`` and the default ``NumberOfSamples``
(2 x 20 + 2048 = 2088 coalitions, i.e. 20,880 synthetic rows per explained record).

Measured in one run, in turn request by request (so the load of a shared machine weighs on all
alike), the explainer served by uvicorn in a subprocess
(model loaded in-process, no HTTP hop to the model):

* ``model, synthetic rows``: ``predict_proba`` in this process on one record's 20,880 synthetic
  rows: the time the model itself needs for one explanation (the reference);
* ``model alone, 1 record``: the same model served by ``local_endpoint``, one record over HTTP;
* ``explainer, not explained``: the explainer with ``EnableExplanations: `false```;
* ``explainer, explained``: one record explained (p50 and p99 over the requests).

Target (issue 21): explained p50 <= model time for the synthetic rows + 5 ms.
Then throughput: 8 client threads sending one-record explained requests back to back.

Run: ``.venv/bin/python benchmarks/online_explain.py [--requests N] [--workers W] [--quick]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers

from _model_server import free_port, running_endpoint, save_sklearn_model  # noqa: E402

from analyzer.explain.plan import clarify_plan  # noqa: E402

N_FEATURES = 20
N_BASELINE = 10


def _csv(rows: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows).encode()


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


class _Client:
    """A keep-alive HTTP connection posting to ``/invocations``."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> bytes:
        self.conn.request("POST", "/invocations", body, {"Content-Type": "text/csv", **(headers or {})})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:300]!r}")
        return data


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the explainer exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the explainer did not answer /ping")


def _synthetic_rows(record: np.ndarray, baseline: np.ndarray, seed: int) -> np.ndarray:
    """One record's synthetic rows as the engine builds them (coalition x baseline row)."""
    plan = clarify_plan(N_FEATURES, None, np.random.RandomState(seed))
    masks = plan.masks[: plan.n_added].astype(bool)  # True: the record's value
    rows = np.where(masks[:, None, :], record[None, None, :], baseline[None, :, :])
    return rows.reshape(-1, N_FEATURES)


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60, help="explained requests for the latency")
    parser.add_argument("--workers", type=int, default=None, help="explainer worker processes")
    parser.add_argument("--seconds", type=float, default=15.0, help="throughput run length")
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.seconds = 15, 4.0

    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = make_classification(6000, N_FEATURES, n_informative=10, random_state=0)
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(X[:5000], y[:5000])
    records, baseline = X[5000:], X[:N_BASELINE]

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_sklearn_model(model, Path(tmp) / "model")
        config = {
            "InferenceConfig": {"ProbabilityIndex": 1},
            "ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": _csv(baseline).decode()}, "Seed": 1},
        }
        config_path = Path(tmp) / "explainer.json"
        config_path.write_text(json.dumps(config))

        synthetic = _synthetic_rows(records[0], baseline, 1)
        port = free_port()
        log = Path(tmp) / "explainer.log"
        cmd = [sys.executable, "-m", "container.cli", "serve", "--explainer-config", str(config_path),
               "--model-dir", str(model_dir), "--host", "127.0.0.1", "--port", str(port)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url, proc, log)
            with running_endpoint(model_dir) as model_url:
                client, plain = _Client(url), _Client(model_url)
                for i in range(3):  # warm-up: numba kernels, the x-npy probe, model clients
                    client.post(_csv(records[i : i + 1]))
                    plain.post(_csv(records[i : i + 1]))
                    model.predict_proba(synthetic)
                # the four measures in turn, so that the load of a shared machine hits them alike
                model_times: list[float] = []
                alone: list[float] = []
                off: list[float] = []
                explained: list[float] = []
                for i in range(args.requests):
                    body = _csv(records[i % len(records) : i % len(records) + 1])
                    t0 = time.perf_counter()
                    model.predict_proba(synthetic)
                    model_times.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    plain.post(body)
                    alone.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    client.post(body, {"X-Amzn-SageMaker-Enable-Explanations": "`false`"})
                    off.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    doc = json.loads(client.post(body))
                    explained.append(time.perf_counter() - t0)
                    assert doc["explanations"]["kernel_shap"][0] is not None
            model_synthetic = statistics.median(model_times)
            extra = [e - m for e, m in zip(explained, model_times, strict=True)]

            # throughput: 8 clients, one explained record per request
            stop = time.monotonic() + args.seconds
            counts = [0] * 8
            lat: list[float] = []
            lock = threading.Lock()

            def worker(k: int) -> None:
                c = _Client(url)
                i = k
                while time.monotonic() < stop:
                    body = _csv(records[i % len(records) : i % len(records) + 1])
                    t0 = time.perf_counter()
                    c.post(body)
                    with lock:
                        lat.append(time.perf_counter() - t0)
                    counts[k] += 1
                    i += 8

            t0 = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(30)

    ms = 1e3
    p50 = _percentile(explained, 50)
    per_record = len(synthetic) // N_BASELINE
    print(f"machine: {os.cpu_count()} CPUs; explainer workers: {args.workers or 'default'}; "
          f"{len(synthetic)} synthetic rows per record ({N_BASELINE} baseline rows x {per_record})")
    rows = [
        ("model, synthetic rows (in process)", model_times),
        ("model alone, 1 record (HTTP)", alone),
        ("explainer, not explained (HTTP)", off),
        ("explainer, 1 record explained (HTTP)", explained),
    ]
    print(f"{'measure':38s} {'p50 ms':>9s} {'p99 ms':>9s}")
    for name, values in rows:
        p99 = f"{_percentile(values, 99) * ms:9.2f}" if len(values) > 1 else " " * 9
        print(f"{name:38s} {_percentile(values, 50) * ms:9.2f} {p99}")
    over = statistics.median(extra) * ms
    verdict = "met" if over <= 5.0 else "NOT met"
    print(f"explained minus model time on the synthetic rows, median over pairs = {over:.2f} ms "
          f"(target <= 5 ms: {verdict}); "
          f"ratio {p50 / model_synthetic:.2f}x")
    total = sum(counts)
    print(f"8 concurrent clients, {wall:.1f} s: {total} explained records, {total / wall:.1f} records/s; "
          f"latency p50 {_percentile(lat, 50) * ms:.1f} ms, p99 {_percentile(lat, 99) * ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
