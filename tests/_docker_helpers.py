"""Session fixtures for the Docker tests: an engine client, the image built once, and containers
that the tests track themselves.

The tests look only at what they created, so they pass while anything else runs on the same
engine (other sessions' tests, other jobs' shadow endpoints):

* every container a test starts carries ``clarify-runner.test-session=<this session>`` and a
  unique name, which is also its host name;
* a processing job labels the shadow containers and networks it starts with
  ``clarify-runner.owner=<its host name>-<pid>``, so a test finds its job's shadow endpoint by
  that prefix (:meth:`JobContainers.shadows`);
* the :func:`jobs` fixture removes the test's containers and their shadow endpoints in every
  outcome (a failed assertion, a timeout, a job killed before its own cleanup);
* :func:`unrelated_shadow` keeps a foreign container and network with the shadow-endpoint label
  running for the whole session, and the tests check it survives.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _container_helpers import REPO_ROOT

IMAGE = os.environ.get("CLARIFY_RUNNER_IMAGE", "clarify-runner:latest")
MOTO_IMAGE = os.environ.get("MOTO_IMAGE", "clarify-runner-moto:latest")
SHADOW_LABEL = "clarify-runner.shadow-endpoint"
OWNER_LABEL = "clarify-runner.owner"
TEST_LABEL = "clarify-runner.test-session"
SESSION = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
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


def unique_name(prefix: str = "clarify-runner-test") -> str:
    """A container name no other test or session uses (also usable as its host name)."""
    return f"{prefix}-{secrets.token_hex(4)}"


@pytest.fixture(scope="session", name="docker_client")
def docker_client_fixture() -> Iterator[Any]:
    """Session-wide Docker SDK client (skips when no engine answers); removes what the session left."""
    client = engine()
    try:
        yield client
    finally:
        flt = {"label": f"{TEST_LABEL}={SESSION}"}
        for c in client.containers.list(all=True, filters=flt):
            with contextlib.suppress(Exception):
                c.remove(force=True)
        for n in client.networks.list(filters=flt):
            with contextlib.suppress(Exception):
                n.remove()
        client.close()


@pytest.fixture(scope="session", name="built_images")
def built_images_fixture(docker_client: Any) -> dict[str, str]:
    """Build clarify-runner and its moto image with scripts/build-image (layer cache makes reruns fast).

    ``CLARIFY_RUNNER_IMAGE`` and ``MOTO_IMAGE`` name the tags (so a test run need not overwrite
    ``clarify-runner:latest``); ``CLARIFY_RUNNER_SKIP_IMAGE_BUILD=1`` uses them as they are.
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


@pytest.fixture(scope="session", name="unrelated_shadow")
def unrelated_shadow_fixture(docker_client: Any, built_images: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A running container and a network labelled as another job's shadow endpoint, for the session.

    Its owner label names the container itself (alive), as a real job's would.
    """
    name = unique_name("clarify-runner-test-unrelated")
    labels = {SHADOW_LABEL: name, OWNER_LABEL: f"{name}-1", TEST_LABEL: SESSION}
    network = docker_client.networks.create(f"{name}-net", driver="bridge", labels=labels)
    container = docker_client.containers.run(
        built_images["image"], ["-c", "sleep 3600"], entrypoint="sh", name=name, hostname=name,
        labels=labels, network=network.name, detach=True,
    )
    try:
        yield {"container": container, "network": network}
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)
        with contextlib.suppress(Exception):
            network.remove()


def assert_still_running(unrelated: dict[str, Any]) -> None:
    """The unrelated container and network were left alone."""
    container = unrelated["container"]
    container.reload()
    assert container.status == "running"
    unrelated["network"].reload()


class JobContainers:
    """The containers one test starts, and the shadow endpoints their jobs start."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.names: list[str] = []

    def run(self, image: str, command: list[str], **kwargs: Any) -> Any:
        """``containers.run(detach=True)`` with a unique name (= host name) and the session label."""
        name = unique_name()
        self.names.append(name)
        labels = {**kwargs.pop("labels", {}), TEST_LABEL: SESSION}
        return self.client.containers.run(
            image, command, name=name, hostname=name, labels=labels, detach=True, **kwargs
        )

    def _owned(self, objects: list[Any], labels_of: Any) -> list[Any]:
        prefixes = tuple(f"{name}-" for name in self.names)
        return [o for o in objects if str(labels_of(o).get(OWNER_LABEL, "")).startswith(prefixes)]

    def shadows(self) -> list[Any]:
        """The shadow-endpoint containers (running or not) that this test's jobs started."""
        found = self.client.containers.list(all=True, filters={"label": SHADOW_LABEL})
        return self._owned(found, lambda c: c.labels)

    def shadow_networks(self) -> list[Any]:
        """The shadow-endpoint networks that this test's jobs created."""
        found = self.client.networks.list(filters={"label": SHADOW_LABEL})
        return self._owned(found, lambda n: n.attrs.get("Labels") or {})

    def cleanup(self) -> None:
        """Remove the jobs' shadow endpoints, the jobs, then the jobs' networks (in any state)."""
        networks = self.shadow_networks()
        for c in self.shadows():
            with contextlib.suppress(Exception):
                c.remove(force=True)
        for name in self.names:
            with contextlib.suppress(Exception):
                self.client.containers.get(name).remove(force=True)
        for n in networks:
            with contextlib.suppress(Exception):
                n.remove()


@pytest.fixture(name="jobs")
def jobs_fixture(docker_client: Any) -> Iterator[JobContainers]:
    """Start containers through this; they and their shadow endpoints are removed in every outcome."""
    jobs = JobContainers(docker_client)
    try:
        yield jobs
    finally:
        jobs.cleanup()
