"""What a job leaves behind when it is killed (SIGKILL, a crash, a lost host), and its removal.

Every shadow endpoint carries its job's identity (:func:`job_identity`): Docker containers and
networks as labels, ``local_endpoint`` subprocesses as the ``CLARIFY_RUNNER_JOB_ID`` variable
of their environment (read here from ``/proc/<pid>/environ``, never from our own environment).
A thing is an *orphan* when the job named in it is gone: on this host, no process with that
pid and start time; on another host (a job that ran in a container), no running container of
that host name. :func:`remove_orphans` (``clarify-runner cleanup``, and every job before it
starts a shadow endpoint) removes orphans and nothing else: things without the identity
labels, and things whose job is alive, are left alone.

Subprocess endpoints also die with their job on Linux (``PR_SET_PDEATHSIG``), so they are
orphaned only when that could not be set.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Docker labels of a job's identity (besides ``clarify-runner.owner``, kept as it was).
JOB_ID_LABEL = "clarify-runner.job-id"
HOST_LABEL = "clarify-runner.job-host"
PID_LABEL = "clarify-runner.job-pid"
START_LABEL = "clarify-runner.job-start"
#: The variable that marks a ``local_endpoint`` subprocess with its job's id.
JOB_ID_VARIABLE = "CLARIFY_RUNNER_JOB_ID"
#: Prefix of a job's staging folder; the pid follows, then a random part.
STAGING_PREFIX = ".clarify-runner-staging-"

__all__ = [
    "JOB_ID_LABEL",
    "JOB_ID_VARIABLE",
    "JobIdentity",
    "job_identity",
    "remove_orphans",
    "staging_prefix",
]


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (``/proc/<pid>/stat``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class JobIdentity:
    """A job: host name, pid and process start time (a pid alone can be reused)."""

    host: str
    pid: int
    start: str

    @property
    def job_id(self) -> str:
        """``<host>-<pid>-<start>``."""
        return f"{self.host}-{self.pid}-{self.start}"

    def labels(self) -> dict[str, str]:
        """The Docker labels of this identity."""
        return {JOB_ID_LABEL: self.job_id, HOST_LABEL: self.host, PID_LABEL: str(self.pid),
                START_LABEL: self.start}

    def alive(self, docker_client: Any = None) -> bool:
        """Whether the job still runs (unknown counts as alive: never remove on a guess)."""
        if self.host == socket.gethostname():
            return _start_time(self.pid) == self.start
        if docker_client is None:
            return True
        import docker.errors

        try:
            return docker_client.containers.get(self.host).status in ("running", "restarting", "paused")
        except docker.errors.NotFound:
            return False
        except docker.errors.DockerException:
            return True


def job_identity(pid: int | None = None) -> JobIdentity:
    """The identity of process ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return JobIdentity(socket.gethostname(), pid, _start_time(pid) or "0")


def parse_job_id(text: str) -> JobIdentity | None:
    """A :class:`JobIdentity` from ``<host>-<pid>-<start>`` (``None`` when malformed)."""
    host, _, rest = text.rpartition("-")
    host, _, pid = host.rpartition("-")
    if not host or not pid.isdigit() or not rest.isdigit():
        return None
    return JobIdentity(host, int(pid), rest)


def staging_prefix() -> str:
    """Prefix of this job's staging folder: ``.clarify-runner-staging-<pid>-<start>-``."""
    me = job_identity()
    return f"{STAGING_PREFIX}{me.pid}-{me.start}-"


def _remove_stale_staging(folder: Path) -> list[str]:
    """Staging folders in ``folder`` left by a job of this host that is gone."""
    import shutil

    removed = []
    with contextlib.suppress(OSError):
        for path in folder.glob(STAGING_PREFIX + "*"):
            parts = path.name[len(STAGING_PREFIX):].split("-")
            if len(parts) < 3 or not parts[0].isdigit():
                continue
            owner = JobIdentity(socket.gethostname(), int(parts[0]), parts[1])
            if path.is_dir() and not owner.alive():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(f"staging folder {path}")
    return removed


def _orphan_processes() -> list[tuple[int, str]]:
    """(pid, job id) of every ``local_endpoint`` process whose job is gone."""
    found = []
    marker = f"{JOB_ID_VARIABLE}=".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(marker):
                owner = parse_job_id(item[len(marker):].decode(errors="replace"))
                if owner is not None and not owner.alive():
                    found.append((int(entry.name), owner.job_id))
                break
    return found


def _remove_orphan_processes() -> list[str]:
    removed = []
    for pid, job in _orphan_processes():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
            removed.append(f"local endpoint process {pid} of job {job}")
    return removed


def _remove_orphan_containers(client: Any, extra_filter: dict[str, str] | None = None) -> list[str]:
    import docker.errors

    removed = []
    labels = [JOB_ID_LABEL, *(f"{k}={v}" for k, v in (extra_filter or {}).items())]
    flt = {"label": labels}
    orphans: set[str] = set()
    for c in client.containers.list(all=True, filters=flt):
        owner = parse_job_id(str(c.labels.get(JOB_ID_LABEL, "")))
        if owner is None or owner.alive(client):
            continue
        orphans.add(owner.job_id)
        with contextlib.suppress(docker.errors.NotFound):
            c.remove(force=True)
            removed.append(f"docker container {c.name} of job {owner.job_id}")
    for n in client.networks.list(filters=flt):
        n_labels = n.attrs.get("Labels") or {}
        owner = parse_job_id(str(n_labels.get(JOB_ID_LABEL, "")))
        if owner is None or (owner.job_id not in orphans and owner.alive(client)):
            continue
        with contextlib.suppress(docker.errors.DockerException):
            n.remove()
            removed.append(f"docker network {n.name} of job {owner.job_id}")
    return removed


def remove_orphans(
    *,
    docker_client: Any = None,
    output_dir: Path | None = None,
    processes: bool = True,
    extra_filter: dict[str, str] | None = None,
) -> list[str]:
    """Remove what killed jobs left behind; returns a description of each thing removed.

    Args:
        docker_client: Also remove orphan containers and networks of this engine.
        output_dir: Also remove staging folders of dead jobs in this output folder.
        processes: Also stop orphan ``local_endpoint`` subprocesses of this host.
        extra_filter: Only containers with these labels too (tests: their own label).
    """
    removed: list[str] = []
    if processes:
        removed += _remove_orphan_processes()
    if docker_client is not None:
        removed += _remove_orphan_containers(docker_client, extra_filter)
    if output_dir is not None:
        removed += _remove_stale_staging(output_dir)
    for what in removed:
        logger.info("Removed %s (its job is gone)", what)
    return removed
