"""Session fixtures for the Docker tests: an engine client and the image built once, offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _container_helpers import REPO_ROOT

IMAGE = os.environ.get("CLARIFY_RUNNER_IMAGE", "clarify-runner:latest")
MOTO_IMAGE = os.environ.get("MOTO_IMAGE", "clarify-runner-moto:latest")
SHADOW_LABEL = "clarify-runner.shadow-endpoint"
_BUILT: list[bool] = []


def engine() -> Any:
    """A Docker SDK client, or skip the test when no engine answers."""
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except Exception as exc:  # noqa: BLE001 - any failure means no engine
        pytest.skip(f"no Docker Engine answers on the default socket ({type(exc).__name__}: {exc})")


def _can_build_base(client: Any) -> str | None:
    for name in ("python:3.11-slim-bookworm", "clarify-runner-base:bookworm"):
        try:
            client.images.get(name)
            return None
        except Exception:  # noqa: BLE001 - not present
            pass
    if shutil.which("debootstrap") is None:
        return "no base image and no debootstrap to build one (apt-get install debootstrap)"
    return None


@pytest.fixture(scope="session", name="docker_client")
def docker_client_fixture() -> Iterator[Any]:
    """Session-wide Docker SDK client (skips when no engine answers)."""
    client = engine()
    yield client
    client.close()


@pytest.fixture(scope="session", name="built_images")
def built_images_fixture(docker_client: Any) -> dict[str, str]:
    """Build clarify-runner and its moto image with scripts/build-image (layer cache makes reruns fast).

    ``CLARIFY_RUNNER_SKIP_IMAGE_BUILD=1`` uses already built images as they are.
    """
    if not _BUILT and os.environ.get("CLARIFY_RUNNER_SKIP_IMAGE_BUILD") != "1":
        reason = _can_build_base(docker_client)
        if reason:
            pytest.skip(reason)
        start = time.monotonic()
        proc = subprocess.run(["scripts/build-image"], cwd=REPO_ROOT, capture_output=True, text=True,
                              env={**os.environ, "IMAGE": IMAGE, "MOTO_IMAGE": MOTO_IMAGE})
        if proc.returncode != 0:
            pytest.fail(f"scripts/build-image failed:\n{proc.stderr[-6000:]}")
        print(f"\nscripts/build-image took {time.monotonic() - start:.0f} s")
    _BUILT.append(True)  # each test module imports this fixture: build once per session
    for name in (IMAGE, MOTO_IMAGE):
        docker_client.images.get(name)
    return {"image": IMAGE, "moto": MOTO_IMAGE}


def shadow_containers(client: Any) -> list[Any]:
    """Every container (running or not) that some shadow endpoint left behind."""
    return client.containers.list(all=True, filters={"label": SHADOW_LABEL})


def shadow_networks(client: Any) -> list[Any]:
    """Every network a shadow endpoint left behind."""
    return client.networks.list(filters={"label": SHADOW_LABEL})
