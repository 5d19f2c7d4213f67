"""The image under `docker run`: serve role, processing job with a Docker shadow endpoint, SIGTERM.

Needs a Docker Engine (skipped otherwise). The image is built once per session by
scripts/build-image, offline (``docker build --network=none``).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from _container_helpers import GC_MODEL_ENV, GERMAN_CREDIT_DIR, german_credit_model_dir, opt_ml_tree
from _docker_helpers import (  # noqa: F401 - fixtures
    built_images_fixture,
    docker_client_fixture,
    shadow_containers,
    shadow_networks,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SOCKET = "/var/run/docker.sock"


def _wait_for_log(container: Any, text: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = container.logs().decode("utf-8", errors="replace")
        if text in logs:
            return logs
        container.reload()
        if container.status == "exited":
            break
        time.sleep(0.5)
    pytest.fail(f"{text!r} not seen in the container log:\n{container.logs().decode()[-5000:]}")


def _job_tree(tmp_path: Path, cfg: dict[str, Any]) -> tuple[Path, Path]:
    root = opt_ml_tree(tmp_path / "opt_ml", cfg)
    models = tmp_path / "models"
    german_credit_model_dir(models / "model")
    (models / "models.json").write_text(json.dumps(
        {"german-credit-sklearn": {"image": "clarify-runner:latest", "model_data_url": "/models/model",
                                   "environment": GC_MODEL_ENV}}))
    for p in [root, *root.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    return root, models


def _run_job(client: Any, image: str, root: Path, models: Path) -> Any:
    return client.containers.run(
        image,
        ["--models-file", "/models/models.json", "--backend", "docker"],
        detach=True,
        volumes={
            str(root / "processing"): {"bind": "/opt/ml/processing", "mode": "rw"},
            str(root / "config"): {"bind": "/opt/ml/config", "mode": "ro"},
            str(root / "output"): {"bind": "/opt/ml/output", "mode": "rw"},
            str(models): {"bind": "/models", "mode": "ro"},
            SOCKET: {"bind": SOCKET, "mode": "rw"},
        },
    )


def test_image_has_no_compiler_and_no_pip_cache(docker_client: Any, built_images: dict[str, str]) -> None:
    out = docker_client.containers.run(
        built_images["image"],
        ["-c", "command -v gcc cc g++ pip || true; ls /root/.cache 2>/dev/null || true; id -un"],
        entrypoint="sh", remove=True,
    ).decode()
    assert out.split() == ["root"]


def test_serve_role_answers_as_an_unprivileged_user(
    docker_client: Any, built_images: dict[str, str], tmp_path: Path
) -> None:
    from local_endpoint.testing import train_sklearn_classifier, write_sklearn_model_dir

    model_dir = write_sklearn_model_dir(tmp_path / "model")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(model_dir, arcname="opt/ml/model")
    container = docker_client.containers.create(
        built_images["image"], ["serve"], ports={"8080/tcp": ("127.0.0.1", None)}, detach=True)
    try:
        container.put_archive("/", buf.getvalue())
        container.start()
        container.reload()
        url = f"http://127.0.0.1:{container.attrs['NetworkSettings']['Ports']['8080/tcp'][0]['HostPort']}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(url + "/ping", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, container.logs().decode()
            time.sleep(0.5)
        _, x = train_sklearn_classifier()
        resp = requests.post(url + "/invocations", data=",".join(map(str, x[0])),
                             headers={"Content-Type": "text/csv", "Accept": "application/json"}, timeout=30)
        assert resp.status_code == 200
        top = container.top(ps_args="-o pid,user")
        col = top["Titles"].index("USER")
        users = {row[col] for row in top["Processes"]}
        assert users and "root" not in users
    finally:
        container.remove(force=True)


def test_docker_run_processing_job_starts_and_removes_the_shadow_endpoint(
    docker_client: Any, built_images: dict[str, str], tmp_path: Path
) -> None:
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    root, models = _job_tree(tmp_path, cfg)
    start = time.monotonic()
    job = _run_job(docker_client, built_images["image"], root, models)
    try:
        code = job.wait(timeout=900)["StatusCode"]
        logs = job.logs().decode("utf-8", errors="replace")
    finally:
        job.remove(force=True)
    print(f"\nGerman-credit processing job in Docker: {time.monotonic() - start:.1f} s wall")
    assert code == 0, logs[-5000:]
    assert "Creating endpoint: 'sm-clarify-german-credit-sklearn-" in logs
    assert "Endpoint is in service after" in logs and "Stop using endpoint" in logs
    analysis = json.loads((root / "processing" / "output" / "analysis.json").read_text())
    assert {"pre_training_bias_metrics", "post_training_bias_metrics", "explanations"} <= set(analysis)
    assert "kernel_shap" in analysis["explanations"]
    assert (root / "processing" / "output" / "report.pdf").read_bytes()[:4] == b"%PDF"
    assert shadow_containers(docker_client) == [] and shadow_networks(docker_client) == []


def test_sigterm_mid_run_leaves_no_containers_behind(
    docker_client: Any, built_images: dict[str, str], tmp_path: Path
) -> None:
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    cfg["methods"] = {"shap": {**cfg["methods"]["shap"], "num_samples": 5000}}
    root, models = _job_tree(tmp_path, cfg)
    job = _run_job(docker_client, built_images["image"], root, models)
    try:
        _wait_for_log(job, "Endpoint is in service")
        assert len(shadow_containers(docker_client)) == 1
        job.stop(timeout=60)  # SIGTERM, SIGKILL after 60 s
        code = job.wait(timeout=120)["StatusCode"]
        logs = job.logs().decode("utf-8", errors="replace")
    finally:
        job.remove(force=True)
    assert code == 143, logs[-5000:]
    assert "Signal 15 received, cleaning up" in logs
    assert shadow_containers(docker_client) == [] and shadow_networks(docker_client) == []
    assert not (root / "processing" / "output" / "analysis.json").exists()
    assert (root / "output" / "message").read_text().startswith("Stopped")
    assert os.path.getsize(root / "output" / "message") <= 1024
