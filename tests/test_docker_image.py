"""The image under `docker run`: serve role, processing job with a Docker shadow endpoint, SIGTERM.

Needs a Docker Engine (skipped otherwise). The image is built once per session by
scripts/build-image, offline (``docker build --network=none``). The tests look only at the
containers they start (see ``_docker_helpers``) and run beside an unrelated container labelled
as another job's shadow endpoint, which must survive them.
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
    SESSION,
    TEST_LABEL,
    JobContainers,
    assert_still_running,
    built_images_fixture,
    docker_client_fixture,
    jobs_fixture,
    unique_name,
    unrelated_shadow_fixture,
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


def _job_tree(tmp_path: Path, cfg: dict[str, Any], image: str) -> tuple[Path, Path]:
    root = opt_ml_tree(tmp_path / "opt_ml", cfg)
    models = tmp_path / "models"
    german_credit_model_dir(models / "model")
    (models / "models.json").write_text(json.dumps(
        {"german-credit-sklearn": {"image": image, "model_data_url": "/models/model",
                                   "environment": GC_MODEL_ENV}}))
    for p in [root, *root.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    return root, models


def _run_job(jobs: JobContainers, image: str, root: Path, models: Path) -> Any:
    return jobs.run(
        image,
        ["--models-file", "/models/models.json", "--backend", "docker"],
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
    from _model_server import train_sklearn_classifier, write_sklearn_model_dir

    model_dir = write_sklearn_model_dir(tmp_path / "model")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(model_dir, arcname="opt/ml/model")
    container = docker_client.containers.create(
        built_images["image"], ["serve"], ports={"8080/tcp": ("127.0.0.1", None)}, detach=True,
        name=unique_name(), labels={TEST_LABEL: SESSION})
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


def test_numba_kernels_load_from_the_shipped_cache_as_root_and_as_the_serve_user(
    docker_client: Any, built_images: dict[str, str]
) -> None:
    """A fresh container compiles nothing: docker/warm_caches.py --check fails on a cache miss."""
    out = docker_client.containers.run(
        built_images["image"], ["/opt/clarify-runner/warm_caches.py", "--check"], entrypoint="python",
        remove=True,
    ).decode()
    assert "clarify_common.csv_kernel loads from the cache as clarify" in out
    assert "analyzer.explain.sampling loads from the cache as root" in out


def test_docker_run_processing_job_starts_and_removes_the_shadow_endpoint(
    docker_client: Any, built_images: dict[str, str], jobs: JobContainers, unrelated_shadow: dict[str, Any],
    tmp_path: Path,
) -> None:
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    root, models = _job_tree(tmp_path, cfg, built_images["image"])
    start = time.monotonic()
    job = _run_job(jobs, built_images["image"], root, models)
    code = job.wait(timeout=900)["StatusCode"]
    logs = job.logs().decode("utf-8", errors="replace")
    print(f"\nGerman-credit processing job in Docker: {time.monotonic() - start:.1f} s wall")
    assert code == 0, logs[-5000:]
    assert "Creating endpoint: 'sm-clarify-german-credit-sklearn-" in logs
    assert "Endpoint is in service after" in logs and "Stop using endpoint" in logs
    analysis = json.loads((root / "processing" / "output" / "analysis.json").read_text())
    assert {"pre_training_bias_metrics", "post_training_bias_metrics", "explanations"} <= set(analysis)
    assert "kernel_shap" in analysis["explanations"]
    assert (root / "processing" / "output" / "report.pdf").read_bytes()[:4] == b"%PDF"
    assert jobs.shadows() == [] and jobs.shadow_networks() == []
    assert_still_running(unrelated_shadow)


def test_sigterm_mid_run_leaves_no_containers_behind(
    docker_client: Any, built_images: dict[str, str], jobs: JobContainers, unrelated_shadow: dict[str, Any],
    tmp_path: Path,
) -> None:
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    cfg["methods"] = {"shap": {**cfg["methods"]["shap"], "num_samples": 5000}}
    root, models = _job_tree(tmp_path, cfg, built_images["image"])
    job = _run_job(jobs, built_images["image"], root, models)
    _wait_for_log(job, "Endpoint is in service")
    assert len(jobs.shadows()) == 1 and len(jobs.shadow_networks()) == 1
    job.stop(timeout=60)  # SIGTERM, SIGKILL after 60 s
    code = job.wait(timeout=120)["StatusCode"]
    logs = job.logs().decode("utf-8", errors="replace")
    assert code == 143, logs[-5000:]
    assert "Signal 15 received, cleaning up" in logs
    assert jobs.shadows() == [] and jobs.shadow_networks() == []
    assert not (root / "processing" / "output" / "analysis.json").exists()
    assert (root / "output" / "message").read_text().startswith("Stopped")
    assert os.path.getsize(root / "output" / "message") <= 1024
    assert_still_running(unrelated_shadow)


def test_a_failing_test_leaves_nothing_behind(
    docker_client: Any, built_images: dict[str, str], unrelated_shadow: dict[str, Any], tmp_path: Path
) -> None:
    """What the ``jobs`` fixture does when a test fails mid-run: the job is SIGKILLed (no cleanup of
    its own), and the fixture's teardown still removes it and its shadow endpoint."""
    cfg = json.loads((GERMAN_CREDIT_DIR / "analysis_config.json").read_text())
    cfg["methods"] = {"shap": {**cfg["methods"]["shap"], "num_samples": 5000}}
    root, models = _job_tree(tmp_path, cfg, built_images["image"])
    jobs = JobContainers(docker_client)
    try:
        job = _run_job(jobs, built_images["image"], root, models)
        _wait_for_log(job, "Endpoint is in service")
        job.kill()  # SIGKILL: the job cannot remove its shadow endpoint
        job.wait(timeout=60)
        assert len(jobs.shadows()) == 1  # left behind, as after a crashed test
    finally:
        jobs.cleanup()
    assert jobs.shadows() == [] and jobs.shadow_networks() == []
    assert [n for n in jobs.names if docker_client.containers.list(all=True, filters={"name": n})] == []
    assert_still_running(unrelated_shadow)
