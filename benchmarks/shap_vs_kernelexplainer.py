"""Kernel SHAP over HTTP: shap.KernelExplainer + a plain requests client vs analyzer.explain.

One run, all three measured against the same local_endpoint server (one worker) in this run:

(a) ``shap.KernelExplainer(l1_reg=False)`` whose model function POSTs CSV made with
    ``pandas.to_csv`` through ``requests`` (chunks under the 6 MB payload limit);
(b) ``analyzer.explain.kernel_shap`` calling ``ModelClient.predict_scores``;
(c) the floor: the endpoint's own time for exactly the synthetic rows (b) sent, replayed as
    pre-encoded request bodies (the format (b)'s client used), one request at a time.

Setup: 20-feature GradientBoostingClassifier (100 trees, depth 3), 10 k-means baseline rows,
``nsamples="auto"`` (2,088 coalitions), 50 explained records, seed 0. Targets: (a)/(b) >= 10,
(b)/(c) <= 1.5. (b) and (c) are run three times, alternating, and the best of each is reported
(the machine is shared, so single timings are noisy).

Wide case (``--wide-records``, 0 skips): 100 features, 3 classes (GBC, 100 trees per class,
depth 3), 10 k-means baseline rows, ``nsamples="auto"`` (2,248 coalitions, 22,480 model rows
per record). Its floor is the model's own in-process ``predict_proba`` time for exactly the
rows (b) sent, cut into the same requests (same batch sizes); target (b)/floor <= 1.3. The
endpoint's own time for those requests is printed for reference, and the peak RSS of a fresh
process running (b) alone (VmHWM).
Run: ``.venv/bin/python benchmarks/shap_vs_kernelexplainer.py [--records 50] [--wide-records 20]``.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import requests
import shap
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier

from analyzer.explain import kernel_shap, kmeans_baseline
from analyzer.model_client import HttpTransport, ModelClient
from analyzer.model_client.serialize import encode_csv, encode_npy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers
from _model_server import save_sklearn_model, start_endpoint

MAX_BODY = int(6 * 1024 * 1024 * 0.9)
#: (b) and (c) are measured this many times, alternating; the best of each is reported.
REPEATS = 3


def naive_predict(url: str, session: requests.Session):
    """The straightforward client: pandas CSV out, pandas CSV in, chunks under 6 MB."""

    def predict(rows: np.ndarray) -> np.ndarray:
        out = []
        step = max(1, MAX_BODY // (20 * rows.shape[1]))  # ~20 bytes per full-precision value
        for start in range(0, len(rows), step):
            body = pd.DataFrame(rows[start : start + step]).to_csv(header=False, index=False)
            reply = session.post(url + "/invocations", data=body, headers={"Content-Type": "text/csv"})
            reply.raise_for_status()
            out.append(
                pd.read_csv(io.StringIO(reply.text), header=None, float_precision="round_trip").to_numpy(
                    dtype=np.float64
                )
            )
        return np.concatenate(out)

    return predict


def replay_floor(url: str, batches: list[np.ndarray], npy: bool, rows_per_request: int) -> float:
    """Seconds the endpoint takes to answer ``batches`` sent as pre-encoded bodies."""
    bodies = []
    for rows in batches:
        for start in range(0, len(rows), rows_per_request):
            chunk = rows[start : start + rows_per_request]
            bodies.append(encode_npy(chunk) if npy else encode_csv(chunk))
    content_type = "application/x-npy" if npy else "text/csv"
    session = requests.Session()
    session.post(url + "/invocations", data=bodies[0], headers={"Content-Type": content_type})
    start = time.perf_counter()
    for body in bodies:
        reply = session.post(
            url + "/invocations", data=body, headers={"Content-Type": content_type, "Accept": content_type}
        )
        reply.raise_for_status()
    return time.perf_counter() - start


def _replay_requests(url: str, batches: list[np.ndarray], sizes: list[int], npy: bool) -> float:
    """Seconds the endpoint takes for exactly (b)'s requests, pre-encoded, one at a time."""
    bodies, pieces = [], iter(sizes)
    for rows in batches:
        start = 0
        while start < len(rows):
            n = next(pieces)
            bodies.append(encode_npy(rows[start : start + n]) if npy else encode_csv(rows[start : start + n]))
            start += n
    content_type = "application/x-npy" if npy else "text/csv"
    headers = {"Content-Type": content_type, "Accept": content_type}
    session = requests.Session()
    session.post(url + "/invocations", data=bodies[0], headers=headers)
    start_time = time.perf_counter()
    for body in bodies:
        session.post(url + "/invocations", data=body, headers=headers).raise_for_status()
    return time.perf_counter() - start_time


_PEAK_CHILD = """
import sys, numpy as np
from analyzer.explain import kernel_shap
from analyzer.model_client import HttpTransport, ModelClient
def rss(key):
    return float(next(x for x in open("/proc/self/status") if x.startswith(key)).split()[1]) / 1024
records, baseline = np.load(sys.argv[1]), np.load(sys.argv[2])
kernel_shap(records[:1], baseline, lambda rows: np.zeros((len(rows), 3)), seed=0)
with ModelClient(HttpTransport(sys.argv[3]), feature_names=[str(j) for j in range(records.shape[1])],
                 progress=False) as client:
    client.predict_scores(records[:2])
    before = rss("VmRSS")
    kernel_shap(records, baseline, client.predict_scores, seed=0)
    print(before, rss("VmHWM"))
"""


def peak_rss(url: str, records: np.ndarray, baseline: np.ndarray) -> tuple[float, float]:
    """(RSS before, peak RSS) in MB of a fresh process running (b) alone (nothing else kept)."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(Path(tmp) / "records.npy"), str(Path(tmp) / "baseline.npy")]
        np.save(paths[0], records)
        np.save(paths[1], baseline)
        root = str(Path(__file__).resolve().parents[1])
        out = subprocess.run(
            [sys.executable, "-c", _PEAK_CHILD, *paths, url],
            check=True,
            capture_output=True,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": root},
        )
    before, peak = (float(v) for v in out.stdout.split()[-2:])
    return before, peak


def wide_case(n_rec: int, n_shap: int) -> None:
    """M=100, 3 classes: (a) shap + requests, (b) ours, floor = the model in process on (b)'s requests."""
    X, y = make_classification(
        4000, 100, n_informative=30, n_redundant=10, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    model = GradientBoostingClassifier(random_state=0).fit(X[:3000], y[:3000])
    baseline = kmeans_baseline(pd.DataFrame(X[:3000]), 10, seed=0).to_numpy(dtype=np.float64)
    records = X[3000 : 3000 + n_rec]
    names = [f"f{j}" for j in range(100)]
    kernel_shap(records[:1], baseline, lambda rows: np.zeros((len(rows), 3)), seed=0)  # JIT load

    with tempfile.TemporaryDirectory() as tmp:
        save_sklearn_model(model, Path(tmp) / "model")
        ep = start_endpoint(Path(tmp) / "model", workers=1)
        try:
            session = requests.Session()
            explainer = shap.KernelExplainer(naive_predict(ep.url, session), baseline)
            np.random.seed(0)
            t0 = time.perf_counter()
            ref = explainer.shap_values(records[:n_shap], nsamples="auto", l1_reg=False, silent=True)
            t_shap = time.perf_counter() - t0

            times_ours: list[float] = []
            times_floor: list[float] = []
            times_endpoint: list[float] = []
            for _ in range(REPEATS):
                batches: list[np.ndarray] = []
                sizes: list[int] = []
                with ModelClient(HttpTransport(ep.url), feature_names=names, progress=False) as client:
                    send = client._predict_chunk

                    def counted(encoded, n, mode, replica, send=send, sizes=sizes):  # type: ignore[no-untyped-def]
                        sizes.append(n)
                        return send(encoded, n, mode, replica)

                    client._predict_chunk = counted  # type: ignore[method-assign]

                    def predict(
                        rows: np.ndarray, client: ModelClient = client, batches=batches
                    ) -> np.ndarray:
                        batches.append(rows)
                        return client.predict_scores(rows)

                    t0 = time.perf_counter()
                    result = kernel_shap(records, baseline, predict, seed=0)
                    times_ours.append(time.perf_counter() - t0)
                    npy = client._fast_path()
                # the floor: the model in this process on the same requests (same rows, same sizes)
                pieces = iter(sizes)
                floor = 0.0
                for rows in batches:
                    start = 0
                    while start < len(rows):
                        n = next(pieces)
                        chunk = rows[start : start + n]
                        t0 = time.perf_counter()
                        model.predict_proba(chunk)
                        floor += time.perf_counter() - t0
                        start += n
                times_floor.append(floor)
                times_endpoint.append(_replay_requests(ep.url, batches, sizes, npy))
            n_calls = len(batches)
            del batches
            rss_before, rss_peak = peak_rss(ep.url, records, baseline)
        finally:
            ep.stop()

    diff = float(np.abs(result.local[:n_shap] - np.asarray(ref)).max())
    a = t_shap / n_shap * 1e3
    b, c = min(times_ours) / n_rec * 1e3, min(times_floor) / n_rec * 1e3
    e = min(times_endpoint) / n_rec * 1e3
    print()
    print("Wide case: 100 features, 3 classes, GBC (100 trees per class, depth 3) behind local_endpoint")
    print(
        f"(1 worker), 10 k-means baseline rows, nsamples=auto (2,248 coalitions); {n_rec} records "
        f"((a) on {n_shap}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"model rows sent by (b): {result.model_rows} in {n_calls} calls, {len(sizes)} requests "
        f"(median {int(np.median(sizes))} rows), format {'application/x-npy' if npy else 'text/csv'}; "
        f"max |(b)-(a)| = {diff:.3g}"
    )
    print(
        "floor = the model's own in-process predict_proba time for exactly the rows (b) sent, "
        "cut into (b)'s requests (same batch sizes), summed"
    )
    print()
    print("| path | ms / explained record |")
    print("|---|---|")
    print(f"| (a) shap.KernelExplainer + requests/pandas CSV client | {a:.1f} |")
    print(f"| (b) analyzer.explain.kernel_shap + ModelClient | {b:.1f} |")
    print(f"| floor: model in process, same rows and batch sizes | {c:.1f} |")
    print(f"| (for reference) the endpoint alone on (b)'s requests, pre-encoded | {e:.1f} |")
    runs = ", ".join(f"{o / f:.2f}" for o, f in zip(times_ours, times_floor, strict=True))
    print(f"(b)/floor per run: {runs}; endpoint alone / floor: {e / c:.2f}x")
    print(
        f"peak RSS of a process running (b) alone: {rss_peak:.0f} MB "
        f"({rss_peak - rss_before:.0f} MB over its {rss_before:.0f} MB after imports and a warm-up call)"
    )
    print(f"(a)/(b) = {a / b:.1f}x   (b)/floor = {b / c:.2f}x best vs best (target <= 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--shap-records", type=int, default=None, help="records for (a); default --records")
    parser.add_argument("--wide-records", type=int, default=20, help="M=100 case; 0 skips")
    parser.add_argument("--wide-shap-records", type=int, default=3, help="records for (a) in the M=100 case")
    parser.add_argument("--skip-narrow", action="store_true", help="only the M=100 case")
    args = parser.parse_args()
    if args.skip_narrow:
        wide_case(args.wide_records, args.wide_shap_records)
        return
    n_rec = args.records
    n_shap = args.shap_records or n_rec

    X, y = make_classification(6000, 20, n_informative=10, n_redundant=4, random_state=0)
    model = GradientBoostingClassifier(random_state=0).fit(X[:5000], y[:5000])
    baseline = kmeans_baseline(pd.DataFrame(X[:5000]), 10, seed=0).to_numpy(dtype=np.float64)
    records = X[5000 : 5000 + n_rec]
    names = [f"f{j}" for j in range(20)]
    # one-time JIT load of the compiled sampler (numba, cached on disk), outside the timings
    kernel_shap(records[:1], baseline, lambda rows: np.zeros((len(rows), 2)), seed=0)

    with tempfile.TemporaryDirectory() as tmp:
        save_sklearn_model(model, Path(tmp) / "model")
        ep = start_endpoint(Path(tmp) / "model", workers=1)
        try:
            url = ep.url
            # (a) shap + naive client
            session = requests.Session()
            explainer = shap.KernelExplainer(naive_predict(url, session), baseline)
            np.random.seed(0)
            t0 = time.perf_counter()
            ref = explainer.shap_values(records[:n_shap], nsamples="auto", l1_reg=False, silent=True)
            t_shap = time.perf_counter() - t0

            # (b) ours through ModelClient and (c) the floor, alternating, best of REPEATS each
            times_ours: list[float] = []
            times_floor: list[float] = []
            for _ in range(REPEATS):
                batches: list[np.ndarray] = []
                with ModelClient(HttpTransport(url), feature_names=names, progress=False) as client:

                    def predict(
                        rows: np.ndarray, client: ModelClient = client, batches=batches
                    ) -> np.ndarray:
                        batches.append(rows)
                        return client.predict_scores(rows)

                    t0 = time.perf_counter()
                    result = kernel_shap(records, baseline, predict, seed=0)
                    times_ours.append(time.perf_counter() - t0)
                    npy = client._fast_path()
                    requests_sent = client.stats.requests
                rows_per_request = max(1, int(np.ceil(result.model_rows / max(requests_sent - 2, 1))))
                times_floor.append(replay_floor(url, batches, npy, rows_per_request))
            t_ours, t_floor = min(times_ours), min(times_floor)
        finally:
            ep.stop()

    diff = float(np.abs(result.local[:n_shap] - ref).max())
    a, b, c = (t_shap / n_shap * 1e3, t_ours / n_rec * 1e3, t_floor / n_rec * 1e3)
    print("20-feature GBC behind local_endpoint (1 worker), 10 k-means baseline rows, nsamples=auto,")
    print(
        f"{n_rec} records ((a) on {n_shap}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"model rows sent by (b): {result.model_rows} in {len(batches)} calls, "
        f"{requests_sent} HTTP requests, "
        f"format {'application/x-npy' if npy else 'text/csv'}; max |(b)-(a)| = {diff:.3g}"
    )
    print()
    print("| path | ms / explained record |")
    print("|---|---|")
    print(f"| (a) shap.KernelExplainer + requests/pandas CSV client | {a:.1f} |")
    print(f"| (b) analyzer.explain.kernel_shap + ModelClient | {b:.1f} |")
    print(f"| (c) floor: endpoint time for (b)'s rows | {c:.1f} |")
    runs_b = ", ".join(f"{t / n_rec * 1e3:.1f}" for t in times_ours)
    runs_c = ", ".join(f"{t / n_rec * 1e3:.1f}" for t in times_floor)
    print(f"(b) runs: {runs_b} ms/record; (c) runs: {runs_c} ms/record (best of each reported)")
    print()
    paired = sorted(o / f for o, f in zip(times_ours, times_floor, strict=True))
    print(f"(a)/(b) = {a / b:.1f}x (target >= 10)   (b)/(c) = {b / c:.2f}x best vs best (target <= 1.5)")
    print(
        f"(b)/(c) per alternating pair: {', '.join(f'{r:.2f}' for r in paired)}; "
        f"median {paired[len(paired) // 2]:.2f}"
    )
    if args.wide_records:
        wide_case(args.wide_records, args.wide_shap_records)


if __name__ == "__main__":
    main()
