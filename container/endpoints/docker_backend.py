"""Shadow endpoint as Docker containers of the model's image, started with ``serve``.

The containers join a private bridge network made for this endpoint. When the job itself
runs in a container (found by its hostname), it joins that network and talks to the model
containers by name; on the host, each container publishes port 8080 on 127.0.0.1. The model
artifacts are copied into ``/opt/ml/model`` with ``put_archive`` (no bind mount, so this works
from inside a container with only the Docker socket). Containers and network are removed when
the block ends, whatever happens.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import socket
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analyzer import settings
from analyzer.endpoint import EndpointHandle
from analyzer.errors import ModelError
from analyzer.extras import require
from analyzer.settings import runner_settings
from container.endpoints import registry
from container.endpoints.common import wait_for_ping
from container.endpoints.models import ModelSpec, fetch_model_data

logger = logging.getLogger(__name__)

LABEL = "clarify-runner.shadow-endpoint"
OWNER_LABEL = "clarify-runner.owner"
SERVE_IMAGE_ENV = settings.SERVE_IMAGE.name
SERVING_PORT = 8080


def owner_id() -> str:
    """Label value that marks what this process started (host name and pid)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def docker_client(timeout: int = 60) -> Any:
    """A Docker SDK client from the environment (``DOCKER_HOST`` or the default socket).

    Raises :class:`analyzer.extras.MissingExtraError` without the ``docker`` extra.
    """
    require("docker")
    import docker

    return docker.from_env(timeout=timeout)  # type: ignore[attr-defined]  # docker ships no stubs


def docker_available() -> bool:
    """Whether a Docker Engine answers on the configured socket."""
    try:
        client = docker_client(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means "no usable engine"
        return False


def own_container(client: Any) -> Any | None:
    """The container this process runs in, or ``None`` on a host."""
    import docker.errors

    if not Path("/.dockerenv").exists() and not runner_settings().in_container:
        return None
    try:
        return client.containers.get(socket.gethostname())
    except docker.errors.DockerException:
        return None


def model_tar(model_dir: Path) -> bytes:
    """A tar of ``model_dir`` as ``opt/ml/model/...``, readable by any user."""
    buf = io.BytesIO()

    def readable(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = 0o755 if info.isdir() else 0o644
        return info

    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(model_dir), arcname="opt/ml/model", filter=readable)
    return buf.getvalue()


def ensure_image(client: Any, image: str | None) -> str:
    """Return an image that is present locally: the model's, else ``$CLARIFY_RUNNER_SERVE_IMAGE``."""
    import docker.errors

    fallback = runner_settings().serve_image
    for candidate, is_fallback in ((image, False), (fallback, True)):
        if not candidate:
            continue
        try:
            client.images.get(candidate)
        except docker.errors.ImageNotFound:
            try:
                logger.info("Pulling image %s", candidate)
                client.images.pull(candidate)
            except docker.errors.DockerException as exc:
                logger.warning("Image %s is not available locally and cannot be pulled: %s", candidate, exc)
                continue
        if is_fallback and image:
            logger.warning("Serving the model with %s instead of its image %s", candidate, image)
        return candidate
    raise ModelError(
        f"model image {image!r} is not available to Docker; build or load it, or set "
        f"${SERVE_IMAGE_ENV} to an image that serves the model (e.g. clarify-runner:latest)"
    )


def _remove_container(container: Any) -> None:
    import docker.errors

    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)


def _remove_network(network: Any, me: Any | None) -> None:
    import docker.errors

    if me is not None:
        with contextlib.suppress(docker.errors.DockerException):
            network.disconnect(me, force=True)
    with contextlib.suppress(docker.errors.NotFound):
        network.remove()


def remove_leftovers(client: Any | None = None, owner: str | None = None) -> int:
    """Remove every container and network labelled as started by ``owner`` (this process)."""
    import docker.errors

    owner = owner or owner_id()
    try:
        client = client or docker_client(timeout=10)
        flt = {"label": f"{OWNER_LABEL}={owner}"}
        containers = client.containers.list(all=True, filters=flt)
        for c in containers:
            _remove_container(c)
        for n in client.networks.list(filters=flt):
            with contextlib.suppress(docker.errors.DockerException):
                n.remove()
        return len(containers)
    except docker.errors.DockerException:
        return 0


def _host_port(container: Any) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{SERVING_PORT}/tcp") or []
    if not bindings:
        raise ModelError(f"container {container.name} published no port for {SERVING_PORT}")
    return int(bindings[0]["HostPort"])


def _logs(container: Any) -> str:
    try:
        return container.logs(tail=60).decode("utf-8", errors="replace")
    except Exception:  # noqa: BLE001 - diagnostics only
        return "(no logs)"


@contextlib.contextmanager
def open_docker_endpoint(
    name: str, spec: ModelSpec, *, count: int = 1, stop_event: threading.Event | None = None
) -> Iterator[EndpointHandle]:
    """Run ``count`` containers of ``spec.image`` with ``serve``; yield their base URLs."""
    from container.orphans import job_identity, remove_orphans

    client = docker_client()
    try:  # what killed jobs left on this engine (only things whose job is gone)
        remove_orphans(docker_client=client, processes=False)
    except Exception as exc:  # noqa: BLE001 - best effort, never fails the job
        logger.warning("Could not look for orphan shadow endpoints: %s", exc)
    image = ensure_image(client, spec.image)
    labels = {LABEL: name, OWNER_LABEL: owner_id(), **job_identity().labels()}
    me = own_container(client)
    network = None
    containers: list[Any] = []
    tokens: list[int] = []

    def logs() -> str:
        return "\n".join(_logs(c) for c in containers)

    with tempfile.TemporaryDirectory(prefix="clarify-runner-model-") as tmp:
        try:
            model_dir = fetch_model_data(spec.model_data_url, tmp)
            archive = model_tar(model_dir)
            network = client.networks.create(f"{name}-net", driver="bridge", labels=labels)
            net = network
            tokens.append(registry.register(f"docker network {net.name}", lambda: _remove_network(net, me)))
            if me is not None:
                network.connect(me)
            for i in range(count):
                cname = name if count == 1 else f"{name}-{i + 1}"
                container = client.containers.create(
                    image,
                    command=["serve"],
                    name=cname,
                    environment=spec.environment,
                    labels=labels,
                    network=network.name,
                    ports=None if me is not None else {f"{SERVING_PORT}/tcp": ("127.0.0.1", None)},
                    detach=True,
                )
                containers.append(container)
                tokens.append(
                    registry.register(
                        f"docker container {cname}", functools.partial(_remove_container, container)
                    )
                )
                container.put_archive("/", archive)
                container.start()
            if me is not None:
                urls = tuple(f"http://{c.name}:{SERVING_PORT}" for c in containers)
            else:
                urls = tuple(f"http://127.0.0.1:{_host_port(c)}" for c in containers)

            def alive() -> str | None:
                for c in containers:
                    c.reload()
                    if c.status in ("exited", "dead"):
                        return f"container {c.name} {c.status}:\n{_logs(c)}"
                return None

            seconds = wait_for_ping(
                urls, what=f"shadow endpoint {name}", stop_event=stop_event, alive=alive, logs=logs
            )
            logger.info("Endpoint is in service after %d seconds", round(seconds))
            yield EndpointHandle(urls=urls, description=f"{name} ({count} container(s) of {image})")
        except Exception:
            # the containers are removed below: keep the end of their log for the diagnosis
            if containers:
                logger.warning("The endpoint containers' log ends:\n%s", logs())
            raise
        finally:
            logger.info("Stop using endpoint: %s", name)
            logger.info("Deleting endpoint with name: %s", name)
            for c in containers:
                _remove_container(c)
            if network is not None:
                _remove_network(network, me)
            for t in tokens:
                registry.done(t)
            client.close()
