"""Start-up: time from ``clarify-runner run`` process start to its first model request.

A numeric model (scikit-learn logistic regression, 10 features) is served by
``python -m local_endpoint serve``, started once and already answering before any run is
timed. Between the CLI and that endpoint sits a small recording proxy: it forwards every
request and notes when the first ``POST /invocations`` arrives. Each run is one CLI process
(``post_training_bias`` with model predictions, then SHAP of 200 records against an inline
baseline); the time is ``first /invocations seen by the proxy - subprocess spawned``, so it
includes the interpreter's start, imports, config and plan, dataset load and the
content-type negotiation with the endpoint.

Two modes, measured in the same run, alternating:

* ``ping-advertised``: the proxy passes ``/ping`` through; the local endpoint advertises on
  it which binary types it accepts and that they answer as CSV does, so the client sends no
  probe request (the current behaviour).
* ``probe-forced``: the proxy strips the advertisement of equal answers from ``/ping``; the
  client falls back to probing (one CSV and one ``application/x-npy`` request compared
  before the first real request: the behaviour before issue 22).

``--baseline-python PATH`` adds a third row: the same run with another installation's
interpreter and code (``<root>/.venv/bin/python``, run from ``<root>``; e.g. an older checkout),
to compare against the previous code as a whole (it probes: two requests before the first).

Target (issue 22): median time to first model request <= 0.5 s on a quiet 2-core machine.

Run: ``.venv/bin/python benchmarks/startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

TARGET_SECONDS = 0.5
#: ``/ping`` header by which the local endpoint says its binary answers equal its CSV answers.
EQUAL_HEADER = "x-clarify-runner-same-answer"


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Proxy:
    """Forward requests to ``upstream``; record the time of the first ``POST /invocations``."""

    def __init__(self, upstream_port: int) -> None:
        self.posts: list[float] = []
        self.strip_equal = False
        self.requests: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                if self.command == "POST" and self.path.endswith("/invocations"):
                    proxy.posts.append(time.time())
                proxy.requests.append(f"{self.command} {self.path} {self.headers.get('Content-Type', '')}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        continue
                    if proxy.strip_equal and k.lower() == EQUAL_HEADER:
                        continue
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _forward
            do_POST = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _prepare(work: Path) -> tuple[Path, Path, Path]:
    """Dataset, model folder and analysis config in ``work``."""
    import joblib
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n, m = 2000, 10
    x = rng.normal(size=(n, m)).round(4)
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    cols = [f"f{i}" for i in range(m)]
    data = work / "data.csv"
    with data.open("w") as fh:
        fh.write(",".join(["label", *cols]) + "\n")
        for yi, row in zip(y, x):
            fh.write(",".join([str(yi), *map(str, row)]) + "\n")
    model_dir = work / "model"
    model_dir.mkdir()
    joblib.dump(LogisticRegression().fit(x, y), model_dir / "model.joblib")
    config = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "label": "label",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "f2", "value_or_threshold": [0.0]}],
        "methods": {
            "post_training_bias": {"methods": ["DPPL", "DI"]},
            "shap": {
                "baseline": [[0.0] * m],
                "num_samples": 64,
                "agg_method": "mean_abs",
                "save_local_shap_values": False,
                "seed": 0,
            },
        },
        "predictor": {
            "endpoint_name": "startup-bench",
            "content_type": "text/csv",
            "accept_type": "text/csv",
            "probability": 1,
        },
    }
    cfg = work / "analysis_config.json"
    cfg.write_text(json.dumps(config))
    return data, model_dir, cfg


def _wait_ping(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the local endpoint exited before answering /ping")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the local endpoint did not answer /ping within 60 s")


def _one_run(
    python: str, proxy: _Proxy, cfg: Path, data: Path, out: Path, probes: int
) -> tuple[float, list[str]]:
    """Seconds from spawn to the first model request after ``probes`` probe requests."""
    proxy.posts = []
    proxy.requests = []
    cmd = [python, "-m", "container.cli", "run", "--config", str(cfg), "--data", str(data)]
    cmd += ["--output", str(out), "--endpoint-url", f"http://127.0.0.1:{proxy.port}"]
    cmd += ["--log-level", "WARNING"]
    # another installation runs its own code: from its project folder (``<root>/.venv/bin/python``)
    cwd = Path(python).parents[2] if python != sys.executable else None
    started = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    if len(proxy.posts) <= probes:
        raise SystemExit("the run made no model request")
    return proxy.posts[probes] - started, list(proxy.requests)


def main() -> None:
    """Print the time to first model request per mode (median of ``--runs``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-python", help="interpreter of an older installation, for a third row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        work = Path(tmp)
        data, model_dir, cfg = _prepare(work)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "local_endpoint", "serve", "--model-dir", str(model_dir)]
            + ["--port", str(port), "--host", "127.0.0.1", "--workers", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_ping(port, server)
            proxy = _Proxy(port)
            # (name, interpreter, strip the /ping advertisement, probe requests before the real one)
            modes: list[tuple[str, str, bool, int]] = [
                ("ping-advertised", sys.executable, False, 0),
                ("probe-forced", sys.executable, True, 2),
            ]
            if args.baseline_python:
                modes.append(("baseline-python", args.baseline_python, False, 2))
            times: dict[str, list[float]] = {name: [] for name, *_ in modes}
            requests: dict[str, list[str]] = {}
            _one_run(sys.executable, proxy, cfg, data, work / "warm", 0)  # warm caches (numba, .pyc)
            for i in range(args.runs):
                for name, python, strip, probes in modes:
                    proxy.strip_equal = strip
                    seconds, seen = _one_run(python, proxy, cfg, data, work / f"out-{name}-{i}", probes)
                    times[name].append(seconds)
                    requests[name] = seen
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"time from process start to first model request (median of {args.runs} runs, seconds)")
    print(f"{'mode':<18} {'median':>8} {'min':>8} {'max':>8}  first requests of the last run")
    for name, values in times.items():
        first = [" ".join(r.split(" ")[::2]) for r in requests[name][:4]]
        print(
            f"{name:<18} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}  "
            f"{'; '.join(first)}"
        )
    best = statistics.median(times["ping-advertised"])
    verdict = "met" if best <= TARGET_SECONDS else "NOT met"
    print(f"target <= {TARGET_SECONDS:.1f} s: {verdict} ({best:.3f} s; load average {_load():.1f})")


if __name__ == "__main__":
    main()
