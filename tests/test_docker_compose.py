"""`docker compose up job`: moto + init (CreateModel) + the processing job, end to end.

Needs a Docker Engine and docker compose (v2 plugin or docker-compose v1); skipped otherwise.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from typing import Any

import boto3
import pytest
from _container_helpers import REPO_ROOT, all_keys
from _docker_helpers import (  # noqa: F401 - fixtures
    OWNER_LABEL,
    SHADOW_LABEL,
    assert_still_running,
    built_images_fixture,
    docker_client_fixture,
    unrelated_shadow_fixture,
)
from conftest import free_port

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _compose() -> list[str]:
    if shutil.which("docker"):
        if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def _owned_by(client: Any, hostname: str) -> list[Any]:
    """Shadow-endpoint containers and networks started by the job whose host name is ``hostname``."""
    flt = {"label": SHADOW_LABEL}
    found = [(c, c.labels) for c in client.containers.list(all=True, filters=flt)]
    found += [(n, n.attrs.get("Labels") or {}) for n in client.networks.list(filters=flt)]
    return [o for o, labels in found if str(labels.get(OWNER_LABEL, "")).startswith(f"{hostname}-")]


def test_compose_up_leaves_analysis_and_report_in_the_emulated_bucket(
    docker_client: Any, built_images: dict[str, str], unrelated_shadow: dict[str, Any]
) -> None:
    compose = _compose()
    project = f"clarifytest{secrets.token_hex(3)}"
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port), "CLARIFY_RUNNER_IMAGE": built_images["image"],
           "MOTO_IMAGE": built_images["moto"]}
    base = [*compose, "-p", project, "-f", str(REPO_ROOT / "docker-compose.yml")]
    start = time.monotonic()
    job_hostname = None
    try:
        up = subprocess.run([*base, "up", "--no-build", "job"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=1200)
        print(f"\ndocker compose up job: {time.monotonic() - start:.1f} s wall")
        labels = [f"com.docker.compose.project={project}", "com.docker.compose.service=job"]
        (job,) = docker_client.containers.list(all=True, filters={"label": labels})
        job_hostname = job.attrs["Config"]["Hostname"]
        state = job.attrs["State"]
        logs = job.logs().decode("utf-8", errors="replace")
        assert state["ExitCode"] == 0, f"{up.stdout[-3000:]}\n{up.stderr[-3000:]}\n{logs[-4000:]}"
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        keys = all_keys(s3, "clarify-runner-demo", "output/")
        assert {"output/analysis.json", "output/report.pdf", "output/explanations_shap/out.csv"} <= set(keys)
        assert "Creating endpoint: 'sm-clarify-german-credit-sklearn-" in logs
        assert _owned_by(docker_client, job_hostname) == []
        assert_still_running(unrelated_shadow)
    finally:
        if job_hostname is not None:  # a job that died before its cleanup left its endpoint
            for leftover in _owned_by(docker_client, job_hostname):
                leftover.remove(**({"force": True} if hasattr(leftover, "stop") else {}))
        subprocess.run([*base, "down", "-v", "--remove-orphans"], cwd=REPO_ROOT, env=env,
                       capture_output=True, timeout=300)
