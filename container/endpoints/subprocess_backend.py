"""Shadow endpoint as ``python -m local_endpoint serve`` subprocesses on 127.0.0.1 (no Docker)."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from analyzer.endpoint import EndpointHandle
from container.endpoints import registry
from container.endpoints.common import wait_for_ping
from container.endpoints.models import ModelSpec, fetch_model_data

logger = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM when the job dies, even by SIGKILL (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except Exception:  # noqa: BLE001 - not Linux: the job id in the environment still finds it
        pass


def _stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def open_subprocess_endpoint(
    name: str, spec: ModelSpec, *, count: int = 1, stop_event: threading.Event | None = None
) -> Iterator[EndpointHandle]:
    """Serve ``spec``'s artifacts with ``count`` local_endpoint subprocesses; yield their URLs.

    The model image is not used: local_endpoint serves scikit-learn, XGBoost and LightGBM
    artifacts itself. The processes are stopped (SIGTERM, then SIGKILL) when the block ends.
    """
    from container.orphans import JOB_ID_VARIABLE, job_identity, remove_orphans

    try:  # local endpoints that killed jobs left running (only those whose job is gone)
        remove_orphans()
    except OSError as exc:
        logger.warning("Could not look for orphan local endpoints: %s", exc)
    with tempfile.TemporaryDirectory(prefix="clarify-runner-model-") as tmp:
        model_dir = fetch_model_data(spec.model_data_url, tmp)
        env = {**os.environ, **spec.environment}
        env[JOB_ID_VARIABLE] = job_identity().job_id  # marks the process as this job's
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])
        )
        procs: list[tuple[subprocess.Popen[bytes], Path, int]] = []
        ports: list[int] = []
        try:
            for i in range(count):
                port = _free_port()
                log_path = Path(tmp) / f"endpoint-{i + 1}.log"
                cmd = [sys.executable, "-m", "local_endpoint", "serve", "--model-dir", str(model_dir),
                       "--port", str(port), "--host", "127.0.0.1", "--workers", "1"]
                with open(log_path, "wb") as log:
                    proc = subprocess.Popen(
                        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
                    )
                what = f"local endpoint process {proc.pid} ({name})"
                token = registry.register(what, functools.partial(_stop, proc))
                procs.append((proc, log_path, token))
                ports.append(port)
            urls = tuple(f"http://127.0.0.1:{port}" for port in ports)

            def alive() -> str | None:
                for p, log_path, _ in procs:
                    if p.poll() is not None:
                        return log_path.read_text(errors="replace")[-4000:]
                return None

            def logs() -> str:
                return "\n".join(p.read_text(errors="replace")[-4000:] for _, p, _ in procs)

            seconds = wait_for_ping(
                urls, what=f"local endpoint {name}", stop_event=stop_event, alive=alive, logs=logs
            )
            logger.info("Endpoint is in service after %d seconds", round(seconds))
            try:
                yield EndpointHandle(urls=urls, description=f"{name} ({count} local_endpoint process(es))")
            except Exception:
                # the log goes with the temporary folder: keep its end for the diagnosis
                logger.warning("The endpoint's log ends:\n%s", "\n".join(logs().splitlines()[-30:]))
                raise
        finally:
            logger.info("Stop using endpoint: %s", name)
            for proc, _, token in procs:
                _stop(proc)
                registry.done(token)
