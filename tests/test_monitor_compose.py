"""The Model Monitor compose demo end to end (issue 20, point 6): planted drift found, none when undrifted.

``examples/model_monitor/docker-compose.yml`` runs, with the clarify-runner image only: the model
behind ``local_endpoint``, the capture proxy writing SageMaker data capture, traffic with inference
ids and ground truth, the baselining job, and two monitoring executions.

Needs a Docker Engine and docker compose (v2 plugin or docker-compose v1); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _container_helpers import REPO_ROOT
from _docker_helpers import built_images_fixture, docker_client_fixture  # noqa: F401 - fixtures
from test_docker_compose import _compose

pytestmark = [pytest.mark.docker, pytest.mark.slow]

EXAMPLE = REPO_ROOT / "examples" / "model_monitor"


def test_compose_demo_finds_the_planted_drift_and_nothing_else(
    docker_client: Any, built_images: dict[str, str], tmp_path: Path
) -> None:
    compose = _compose()
    project = f"clarifymonitor{secrets.token_hex(3)}"
    demo = tmp_path / "demo"
    demo.mkdir()
    env = {**os.environ, "DEMO_DIR": str(demo), "CLARIFY_RUNNER_IMAGE": built_images["image"]}
    base = [*compose, "-p", project, "-f", str(EXAMPLE / "docker-compose.yml")]
    try:
        up = subprocess.run(
            [*base, "up", "--no-build", "monitor-undrifted", "monitor-drifted"],
            cwd=EXAMPLE,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        logs = up.stdout[-6000:] + up.stderr[-3000:]
        undrifted, drifted = demo / "monitor" / "undrifted", demo / "monitor" / "drifted"
        assert (undrifted / "analysis.json").exists(), logs
        assert (drifted / "analysis.json").exists(), logs
        assert not (undrifted / "constraint_violations.json").exists(), logs
        violations = json.loads((drifted / "constraint_violations.json").read_text())["violations"]
        by_name = {v["metric_name"]: v for v in violations}
        assert {"DPPL", "DI", "DPL"} <= set(by_name), violations
        assert (
            by_name["DPPL"]["facet"] == "sex"
            and by_name["DPPL"]["constraint_check_type"] == "bias_drift_check"
        )
        # the captures are SageMaker's layout, written by the proxy
        captured = list((demo / "capture" / "credit-endpoint" / "AllTraffic").rglob("*.jsonl"))
        record = json.loads(captured[0].read_text().splitlines()[0])
        assert record["eventMetadata"]["inferenceId"].startswith("undrifted-")
        assert record["captureData"]["endpointInput"]["encoding"] == "CSV"
        metrics = (drifted / "metrics" / "metrics.jsonl").read_text()
        assert '"bias_metric_DPPL"' in metrics and '"credit-endpoint"' in metrics
    finally:
        subprocess.run(
            [*base, "down", "-v", "--remove-orphans"], cwd=EXAMPLE, env=env, capture_output=True, timeout=300
        )
        # the containers wrote as root into the bind mount
        subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "-v",
                f"{demo}:/work",
                "--entrypoint",
                "sh",
                built_images["image"],
                "-c",
                "chmod -R a+rwX /work",
            ],
            capture_output=True,
            timeout=120,
        )
