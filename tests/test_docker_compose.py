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
    built_images_fixture,
    docker_client_fixture,
    shadow_containers,
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


def test_compose_up_leaves_analysis_and_report_in_the_emulated_bucket(
    docker_client: Any, built_images: dict[str, str]
) -> None:
    compose = _compose()
    project = f"clarifytest{secrets.token_hex(3)}"
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port), "CLARIFY_RUNNER_IMAGE": built_images["image"],
           "MOTO_IMAGE": built_images["moto"]}
    base = [*compose, "-p", project, "-f", str(REPO_ROOT / "docker-compose.yml")]
    start = time.monotonic()
    try:
        up = subprocess.run([*base, "up", "--no-build", "job"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=1200)
        print(f"\ndocker compose up job: {time.monotonic() - start:.1f} s wall")
        labels = [f"com.docker.compose.project={project}", "com.docker.compose.service=job"]
        (job,) = docker_client.containers.list(all=True, filters={"label": labels})
        state = job.attrs["State"]
        logs = job.logs().decode("utf-8", errors="replace")
        assert state["ExitCode"] == 0, f"{up.stdout[-3000:]}\n{up.stderr[-3000:]}\n{logs[-4000:]}"
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        keys = all_keys(s3, "clarify-runner-demo", "output/")
        assert {"output/analysis.json", "output/report.pdf", "output/explanations_shap/out.csv"} <= set(keys)
        assert "Creating endpoint: 'sm-clarify-german-credit-sklearn-" in logs
        assert shadow_containers(docker_client) == []
    finally:
        subprocess.run([*base, "down", "-v", "--remove-orphans"], cwd=REPO_ROOT, env=env,
                       capture_output=True, timeout=300)
