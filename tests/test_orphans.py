"""Clean stops and no orphans: what a killed job leaves behind is removed by the next one (or by
``clarify-runner cleanup``), and never what belongs to a job that is still running."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _container_helpers import GC_MODEL_ENV, REPO_ROOT, german_credit_model_dir, pre_training_config

from container.cli import main
from container.orphans import (
    JOB_ID_LABEL,
    JOB_ID_VARIABLE,
    JobIdentity,
    job_identity,
    parse_job_id,
    remove_orphans,
)

GERMAN_CREDIT_CSV = REPO_ROOT / "examples" / "german_credit" / "german_credit.csv"
#: A job of this host that is gone: this pid, but not this process's start time.
DEAD_JOB = JobIdentity(socket.gethostname(), os.getpid(), "1")


def _wait_gone(proc: subprocess.Popen, seconds: float) -> bool:
    try:
        proc.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_job_identity_round_trips_and_knows_who_is_alive() -> None:
    me = job_identity()
    assert parse_job_id(me.job_id) == me
    assert me.alive() and not DEAD_JOB.alive()
    assert parse_job_id("not-an-id") is None


def test_orphan_local_endpoints_are_stopped_and_live_ones_kept() -> None:
    def sleeper(owner: JobIdentity) -> subprocess.Popen:
        env = {**os.environ, JOB_ID_VARIABLE: owner.job_id}
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)

    orphan, live = sleeper(DEAD_JOB), sleeper(job_identity())
    try:
        time.sleep(0.3)  # the environment is readable once the child has exec'd
        removed = remove_orphans()
        assert f"local endpoint process {orphan.pid} of job {DEAD_JOB.job_id}" in removed
        assert _wait_gone(orphan, 10)
        assert live.poll() is None
    finally:
        for p in (orphan, live):
            p.kill()
            p.wait()


@pytest.mark.slow
def test_a_killed_jobs_subprocess_endpoint_dies_with_it(tmp_path: Path) -> None:
    """SIGKILL leaves no time for cleanup: the endpoint stops by itself (PR_SET_PDEATHSIG)."""
    model = german_credit_model_dir(tmp_path / "model")
    script = (
        "import sys, time\n"
        "from container.endpoints.models import ModelSpec\n"
        "from container.endpoints.subprocess_backend import open_subprocess_endpoint\n"
        f"spec = ModelSpec('gc', None, {str(model)!r}, {GC_MODEL_ENV!r})\n"
        "with open_subprocess_endpoint('gc', spec):\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(120)\n"
    )
    job = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                           env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert job.stdout is not None and job.stdout.readline().strip() == "ready"
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(job.pid)], capture_output=True,
                                  text=True).stdout.split()
        assert children
        job.kill()
        job.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
            time.sleep(0.2)
        assert not any(Path(f"/proc/{c}/cmdline").exists() and Path(f"/proc/{c}/cmdline").read_bytes()
                       for c in children)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()


def test_a_successful_run_leaves_only_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "explanations_shap").mkdir(parents=True)
    (out / "explanations_shap" / "out.csv").write_text("stale")
    for name in ("report.html", "report.pdf", "report.ipynb", "analysis.json"):
        (out / name).write_text("stale")
    me = job_identity()
    killed = out / f".clarify-runner-staging-{me.pid}-1-abc123"  # a killed job's staging folder
    killed.mkdir()
    (killed / "analysis.json").write_text("{}")
    mine = out / "notes.txt"  # not a clarify-runner output: kept
    mine.write_text("keep")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(pre_training_config()))
    assert main(["run", "--config", str(config), "--data", str(GERMAN_CREDIT_CSV), "--output", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["analysis.json", "notes.txt"]
    assert json.loads((out / "analysis.json").read_text())["pre_training_bias_metrics"]


def test_cleanup_command_reports_what_it_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    killed = out / f".clarify-runner-staging-{os.getpid()}-1-zz"
    killed.mkdir(parents=True)
    assert main(["cleanup", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"removed staging folder {killed}\n" in printed
    assert not killed.exists()


@pytest.mark.docker
def test_orphan_docker_endpoints_are_removed_and_live_ones_kept() -> None:
    """Only this test's containers (a per-test label) are looked at."""
    try:
        import docker

        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - no engine
        pytest.skip(f"no Docker Engine: {exc}")
    image = next((i for i in ("clarify-runner-base:bookworm", "clarify-runner:latest")
                  if _has_image(client, i)), None)
    if image is None:
        pytest.skip("no local image to run a sleeping container")
    test_label = {"clarify-runner.test-orphans": secrets.token_hex(4)}
    created = []
    try:
        for owner in (DEAD_JOB, job_identity()):
            created.append(client.containers.run(
                image, ["sleep", "300"], detach=True, labels={**owner.labels(), **test_label},
                name=f"clarify-runner-orphan-test-{secrets.token_hex(4)}",
            ))
        orphan, live = created
        removed = remove_orphans(docker_client=client, processes=False, extra_filter=test_label)
        assert removed == [f"docker container {orphan.name} of job {DEAD_JOB.job_id}"]
        own = {"label": [f"{k}={v}" for k, v in test_label.items()]}
        remaining = client.containers.list(all=True, filters=own)
        assert [c.name for c in remaining] == [live.name]
        assert live.labels[JOB_ID_LABEL] == job_identity().job_id
    finally:
        for c in created:
            try:
                c.remove(force=True)
            except Exception:  # noqa: BLE001, S110 - already removed by the test
                pass
        client.close()


def _has_image(client, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_during_model_calls_is_clean_and_fast(tmp_path: Path, signum: int, code: int) -> None:
    """`run` stopped while requests hang on a stalled endpoint: exit 128+N within seconds (not
    after the request timeout), the message written, no staging folder or result left."""
    from _model_client_helpers import FakeServer

    release = threading.Event()
    arrived = threading.Event()

    def stall(req, index):
        arrived.set()
        release.wait(60)
        return 200, "\n".join("0.5" for _ in req.body.decode().splitlines())

    server = FakeServer(stall)
    cfg = pre_training_config()
    cfg["methods"] = {"post_training_bias": {"methods": ["DPPL"]}}
    cfg["predictor"] = {"model_name": "m", "instance_type": "local", "initial_instance_count": 1,
                        "content_type": "text/csv", "probability": 0}
    config = tmp_path / "config.json"
    config.write_text(json.dumps(cfg))
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "output").mkdir(parents=True)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CLARIFY_RUNNER_OPT_ML": str(opt_ml),
           "CLARIFY_RUNNER_REQUEST_TIMEOUT": "50"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "container.cli", "run", "--config", str(config), "--data",
         str(GERMAN_CREDIT_CSV), "--output", str(out), "--endpoint-url", server.url],
        env=env, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
    )
    try:
        assert arrived.wait(60), "the job never called the endpoint"
        time.sleep(0.3)
        stopped = time.monotonic()
        proc.send_signal(signum)
        assert proc.stderr is not None
        log = proc.stderr.read()
        assert proc.wait(30) == code, log
        assert time.monotonic() - stopped < 10, log  # not the 50 s request timeout
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.stop()
    assert f"Signal {int(signum)} received, cleaning up" in log
    assert (opt_ml / "output" / "message").read_text() == (
        f"Stopped: Signal {int(signum)} received; the job was stopped and wrote no results"
    )
    assert list(out.iterdir()) == []
