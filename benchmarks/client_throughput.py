"""Rows/s the model client pushes through local_endpoint vs the endpoint's own throughput.

One run (three interleaved rounds, medians reported). A 20-feature classifier is served
by ``local_endpoint`` (one worker, 127.0.0.1).
The reference posts payloads that were encoded before the clock started (same rows, same
rows per request, same two requests in flight) and only checks the status; the client
run is ``ModelClient.predict_scores`` end to end: sizing, encoding, sending, decoding and
reassembling. Both for the binary fast path (``application/x-npy``) and for CSV.

    .venv/bin/python benchmarks/client_throughput.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

from analyzer.model_client import HttpTransport, ModelClient
from analyzer.model_client.serialize import encode_csv, encode_npy
from analyzer.plan import ClientSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers
from _model_server import save_sklearn_model, start_endpoint

N_FEATURES = 20
ROUNDS = 3


def synthetic_rows(n: int, seed: int = 0) -> np.ndarray:
    """SHAP-like rows: each cell is the explained row's value or one of 10 background values."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N_FEATURES)
    background = rng.normal(size=(10, N_FEATURES))
    rows = background[rng.integers(0, 10, size=n)]
    mask = rng.random((n, N_FEATURES)) < 0.5
    rows[mask] = np.broadcast_to(x, rows.shape)[mask]
    return rows


def reference(url: str, bodies: list[bytes], content_type: str, in_flight: int) -> float:
    """Seconds to post pre-encoded ``bodies`` with ``in_flight`` concurrent requests."""
    local = {}

    def post(body: bytes) -> None:
        import threading

        session = local.setdefault(threading.get_ident(), requests.Session())
        resp = session.post(url + "/invocations", data=body,
                            headers={"Content-Type": content_type, "Accept": content_type})
        resp.raise_for_status()
        _ = resp.content

    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(post, bodies[:in_flight]))  # connections and sessions, not timed
        t0 = time.perf_counter()
        list(pool.map(post, bodies))
        return time.perf_counter() - t0


def main() -> None:
    """Run the benchmark once and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X_train = rng.normal(size=(2000, N_FEATURES))
    y_train = (X_train[:, :3].sum(axis=1) > 0).astype(int)
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    rows = synthetic_rows(args.rows)
    names = [f"f{j}" for j in range(N_FEATURES)]

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_sklearn_model(model, Path(tmp) / "model")
        ep = start_endpoint(model_dir)
        try:
            table = []
            for label, fast in (("x-npy fast path", True), ("text/csv", False)):
                client = ModelClient(HttpTransport(ep.url), ClientSettings(use_fast_path=fast),
                                     feature_names=names, progress=False)
                before = client.stats.requests
                scores = client.predict_scores(rows)  # warm-up (and fast-path probe)
                assert np.allclose(scores, model.predict_proba(rows), rtol=1e-9)
                n_requests = client.stats.requests - before - (2 if fast else 0)
                chunk = -(-len(rows) // n_requests)
                parts = [rows[i:i + chunk] for i in range(0, len(rows), chunk)]
                if fast:
                    bodies, ctype = [encode_npy(p) for p in parts], "application/x-npy"
                else:
                    bodies, ctype = [encode_csv(p) for p in parts], "text/csv"
                ref_times, client_times = [], []
                for _ in range(ROUNDS):  # interleaved, so both see the same machine load
                    ref_times.append(reference(ep.url, bodies, ctype, client.max_in_flight))
                    t0 = time.perf_counter()
                    client.predict_scores(rows)
                    client_times.append(time.perf_counter() - t0)
                client.close()
                ref_s, client_s = float(np.median(ref_times)), float(np.median(client_times))
                table.append((label, len(parts), chunk, len(rows) / ref_s, len(rows) / client_s))
        finally:
            ep.stop()

    print(f"rows={len(rows)} features={N_FEATURES} model=LogisticRegression endpoint=local_endpoint "
          "(1 worker) loopback, 2 requests in flight, median of 3 interleaved rounds")
    print(f"| {'format':<16} | requests | rows/request | endpoint on pre-encoded rows/s "
          "| client rows/s | client / endpoint |")
    print("|---|---|---|---|---|---|")
    for label, n_req, chunk, ref, cli in table:
        print(f"| {label:<16} | {n_req} | {chunk} | {ref:,.0f} | {cli:,.0f} | {cli / ref:.2f}x |")


if __name__ == "__main__":
    main()
