"""Throughput of the local endpoint over HTTP against ``predict_proba`` in process, same machine.

Model: GradientBoostingClassifier (100 trees, depth 3) on ``make_classification(6000 rows,
20 features, 10 informative, 4 redundant, random_state=0)``, 5,000 rows for training.
The server runs with one worker (``python -m local_endpoint serve``) on 127.0.0.1;
the client is a keep-alive ``http.client`` connection. Request bodies are encoded before
the timed loop (client encode time is reported in its own column); the response is
decoded inside it, CSV with ``clarify_common.numeric_csv`` as clarify-runner's model client does.
Medians over several calls; in each repetition the in-process call, the CSV request and the
x-npy request run in turn, so the load of a shared machine
weighs on all three alike.

Column "CSV 4-dp ratio": the same rows rounded to 4 decimals (what real data sets look
like; about 8 bytes per value instead of 19), CSV over HTTP against in process on those rows.

Run: ``.venv/bin/python benchmarks/endpoint_throughput.py [--quick]``.
Targets (rows/request ≥ 10,000): CSV ≥ 0.5× and x-npy ≥ 0.8× the in-process rows/s;
fixed cost per request (1-row HTTP time minus 1-row in-process time) ≤ 2 ms.
"""

from __future__ import annotations

import argparse
import http.client
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers

from _model_server import running_endpoint, save_sklearn_model  # noqa: E402

from clarify_common.numeric_csv import parse_numeric_csv  # noqa: E402

BATCHES = (1, 100, 10_000, 100_000)


def _interleaved_medians(fns: list[Callable[[], object]], reps: int) -> list[float]:
    """Median seconds of each function, calling them in turn each repetition.

    Interleaving makes the load of the shared machine hit every column alike.
    """
    for fn in fns:
        fn()  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(reps):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _csv_body(X: np.ndarray) -> bytes:
    table = pa.Table.from_arrays(
        [pa.array(X[:, j]) for j in range(X.shape[1])], names=[str(j) for j in range(X.shape[1])]
    )
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def _npy_body(X: np.ndarray) -> bytes:
    sink = io.BytesIO()
    np.save(sink, X, allow_pickle=False)
    return sink.getvalue()


def _post(conn: http.client.HTTPConnection, body: bytes, content_type: str) -> bytes:
    conn.request(
        "POST", "/invocations", body=body, headers={"Content-Type": content_type, "Accept": content_type}
    )
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
    return data


def _decode_csv_response(data: bytes) -> np.ndarray:
    """What clarify-runner's model client does with a numeric CSV response."""
    table = parse_numeric_csv(data)
    if table is None:
        raise RuntimeError(f"not a numeric CSV response: {data[:200]!r}")
    return table


def main() -> None:
    """Train, serve, measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()

    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = make_classification(n_samples=6000, n_features=20, n_informative=10, n_redundant=4, random_state=0)
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(X[:5000], y[:5000])
    rng = np.random.default_rng(0)
    rows = X[5000:][rng.integers(0, 1000, size=max(BATCHES))]  # data rows, resampled to 100,000

    with tempfile.TemporaryDirectory() as tmp:
        folder = save_sklearn_model(model, Path(tmp) / "model", fmt="joblib")
        env = {"MAX_CONTENT_LENGTH": str(200 * 1024 * 1024)}
        with running_endpoint(folder, env=env) as url:
            u = urlparse(url)
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
            print(f"endpoint {url}, 1 worker; GBC 100 trees depth 3, 20 features; medians")
            header = (
                "| rows/request | in-process rows/s | CSV rows/s | CSV ratio | x-npy rows/s | x-npy ratio "
                "| CSV 4-dp ratio | in-process ms | CSV ms | x-npy ms | CSV body MB | client CSV encode ms |"
            )
            print(header)
            print("|" + "---|" * (header.count("|") - 1))
            fixed = {}
            ratios: dict[int, tuple[float, float]] = {}
            for n in BATCHES:
                reps = {1: 300, 100: 100, 10_000: 10, 100_000: 3}[n]
                r = _measure(
                    conn, model, np.ascontiguousarray(rows[:n]), max(3, reps // 5) if args.quick else reps
                )
                if n == 1:
                    fixed = {"csv": r["csv"] - r["model"], "npy": r["npy"] - r["model"]}
                ratios[n] = (r["model"] / r["csv"], r["model"] / r["npy"])
                print(
                    f"| {n:,} | {n / r['model']:,.0f} | {n / r['csv']:,.0f} | {r['model'] / r['csv']:.2f} "
                    f"| {n / r['npy']:,.0f} | {r['model'] / r['npy']:.2f} "
                    f"| {r['model_4dp'] / r['csv_4dp']:.2f} "
                    f"| {r['model'] * 1e3:.2f} | {r['csv'] * 1e3:.2f} | {r['npy'] * 1e3:.2f} "
                    f"| {r['csv_mb']:.2f} | {r['encode'] * 1e3:.2f} |"
                )
            conn.close()
            print(
                "fixed cost per request (1-row HTTP minus 1-row in-process): "
                f"CSV {fixed['csv'] * 1e3:.2f} ms, x-npy {fixed['npy'] * 1e3:.2f} ms"
            )
            print(_verdict(ratios, fixed))


def _verdict(ratios: dict[int, tuple[float, float]], fixed: dict[str, float]) -> str:
    """One line: each target of the issue, met or missed, with the worst measured value."""
    large = [n for n in ratios if n >= 10_000]
    csv = min(ratios[n][0] for n in large)
    npy = min(ratios[n][1] for n in large)
    worst_fixed = max(fixed.values())
    checks = [
        (f"CSV >= 0.5x at 10,000+ rows (worst {csv:.2f})", csv >= 0.5),
        (f"x-npy >= 0.8x at 10,000+ rows (worst {npy:.2f})", npy >= 0.8),
        (f"fixed cost <= 2 ms (worst {worst_fixed * 1e3:.2f} ms)", worst_fixed <= 0.002),
    ]
    return "targets: " + "; ".join(f"{text}: {'met' if ok else 'MISSED'}" for text, ok in checks)


def _measure(conn: http.client.HTTPConnection, model, Xn: np.ndarray, reps: int) -> dict[str, float]:
    """Seconds per call: in process, CSV and x-npy over HTTP, and CSV of the rows rounded to 4 dp."""
    t0 = time.perf_counter()
    csv_body = _csv_body(Xn)
    encode = time.perf_counter() - t0
    npy_body = _npy_body(Xn)
    X4 = np.round(Xn, 4)  # typical real data: a few significant digits, not 17
    csv4_body = _csv_body(X4)
    expected = model.predict_proba(Xn)
    np.testing.assert_allclose(_decode_csv_response(_post(conn, csv_body, "text/csv")), expected, rtol=1e-12)
    np.testing.assert_array_equal(np.load(io.BytesIO(_post(conn, npy_body, "application/x-npy"))), expected)
    t_model, t_csv, t_npy, t_model4, t_csv4 = _interleaved_medians(
        [
            lambda: model.predict_proba(Xn),
            lambda: _decode_csv_response(_post(conn, csv_body, "text/csv")),
            lambda: np.load(io.BytesIO(_post(conn, npy_body, "application/x-npy"))),
            lambda: model.predict_proba(X4),
            lambda: _decode_csv_response(_post(conn, csv4_body, "text/csv")),
        ],
        reps,
    )
    return {
        "model": t_model,
        "csv": t_csv,
        "npy": t_npy,
        "model_4dp": t_model4,
        "csv_4dp": t_csv4,
        "csv_mb": len(csv_body) / 1e6,
        "encode": encode,
    }


if __name__ == "__main__":
    main()
