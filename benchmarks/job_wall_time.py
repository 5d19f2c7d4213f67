"""Wall time of the German-credit processing job under ``docker run``, phase by phase.

One run of ``examples/german_credit/`` (pre- and post-training bias, Kernel SHAP, PDP and the
report) in the processing-job image, as SageMaker runs it: the config and data mounted under
``/opt/ml/processing``, the shadow endpoint started as a sibling container through the Docker
socket (``--backend docker``, the model served by the same image's ``serve`` role). The image
must already be built (``scripts/build-image``); the model is trained on the host first (not
timed).

Phases come from the job's own log timestamps (the real Clarify container's lines):

====================  =================================================================
container start       ``docker run`` called -> the job's first log line
endpoint ready        "Spinning up shadow endpoint" -> "Endpoint is in service"
bias                  first "Calculating ... bias metrics" -> "Calculating SHAP values"
SHAP                  "Calculating SHAP values" -> "Calculating partial dependence plots"
PDP                   "Calculating partial dependence plots" -> "Stop using endpoint"
report                "Collected analyses" -> the last "Report ... generated successfully"
whole job             ``docker run`` called -> ``docker run`` returned
====================  =================================================================

Targets (issue 13, quiet 2-core machine): endpoint ready <= 3 s, report <= 3 s, whole job <= 15 s.

Run: ``.venv/bin/python benchmarks/job_wall_time.py IMAGE`` (e.g. ``clarify-runner:latest``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "german_credit"
# The model is a skops file; the server loads its tree type only when trusted.
MODEL_ENV = {"CLARIFY_RUNNER_SKOPS_TRUSTED": "sklearn.tree._tree.Tree"}
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (.*)$")
#: (phase, start marker, end marker, target seconds or None); markers match the log text.
PHASES: list[tuple[str, str, str, float | None]] = [
    ("endpoint ready", "Spinning up shadow endpoint", "Endpoint is in service", 3.0),
    ("bias", r"Calculating (pre|post)-training bias metrics", "Calculating SHAP values", None),
    ("SHAP", "Calculating SHAP values", "Calculating partial dependence plots", None),
    ("PDP", "Calculating partial dependence plots", "Stop using endpoint", None),
    ("report", "Collected analyses", r"Report .* generated successfully", 3.0),
]
WHOLE_JOB_TARGET = 15.0


def _prepare(work: Path, image: str) -> tuple[Path, Path]:
    """The /opt/ml tree and the models folder (model trained on the host, models.json)."""
    opt = work / "opt_ml"
    for sub in ("processing/input/config", "processing/input/data", "processing/output", "output", "config"):
        (opt / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "analysis_config.json", opt / "processing/input/config/analysis_config.json")
    shutil.copy(EXAMPLE / "german_credit.csv", opt / "processing/input/data/german_credit.csv")
    resources = {"current_host": "algo-1", "hosts": ["algo-1"]}
    (opt / "config/resourceconfig.json").write_text(json.dumps(resources))
    models = work / "models"
    subprocess.run(
        [sys.executable, str(EXAMPLE / "train_model.py"), "--model-dir", str(models / "model")],
        check=True,
        capture_output=True,
    )
    spec = {"image": image, "model_data_url": "/models/model", "environment": MODEL_ENV}
    (models / "models.json").write_text(json.dumps({"german-credit-sklearn": spec}))
    for p in [work, *work.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)  # the job runs as root; the model server as clarify
    return opt, models


def _events(log: str) -> list[tuple[float, str]]:
    """``(UTC epoch seconds, text)`` of each timestamped log line (the container's clock is UTC)."""
    out = []
    for line in log.splitlines():
        m = LINE.match(line)
        if m:
            stamp = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
            out.append((stamp.timestamp(), m.group(2)))
    return out


def _first(events: list[tuple[float, str]], pattern: str, after: float = 0.0) -> float | None:
    return next((t for t, text in events if t >= after and re.search(pattern, text)), None)


def _last(events: list[tuple[float, str]], pattern: str) -> float | None:
    return next((t for t, text in reversed(events) if re.search(pattern, text)), None)


def phase_table(log: str, started: float, finished: float) -> list[tuple[str, float | None, float | None]]:
    """``(phase, seconds or None when a marker is missing, target)`` for each phase and the whole job."""
    events = _events(log)
    rows: list[tuple[str, float | None, float | None]] = []
    first = events[0][0] if events else None
    rows.append(("container start", None if first is None else first - started, None))
    for name, start_marker, end_marker, target in PHASES:
        begin = _first(events, start_marker)
        end = _last(events, end_marker) if name == "report" else (
            None if begin is None else _first(events, end_marker, begin)
        )
        rows.append((name, None if begin is None or end is None else end - begin, target))
    rows.append(("whole job", finished - started, WHOLE_JOB_TARGET))
    return rows


def main() -> int:
    """Run the job once, print the per-phase table and the targets; exit 1 if the job failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="the processing-job image, already built (e.g. clarify-runner:latest)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (outputs, log)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="clarify-runner-job-wall-time-"))
    try:
        opt, models = _prepare(work, args.image)
        name = f"clarify-runner-bench-{int(time.time())}"
        cmd = [
            "docker", "run", "--rm", "--name", name, "--hostname", name,
            "-v", f"{opt / 'processing'}:/opt/ml/processing",
            "-v", f"{opt / 'config'}:/opt/ml/config:ro",
            "-v", f"{opt / 'output'}:/opt/ml/output",
            "-v", f"{models}:/models:ro",
            "-v", "/var/run/docker.sock:/var/run/docker.sock",
            args.image, "--models-file", "/models/models.json", "--backend", "docker",
        ]  # fmt: skip
        started = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        finished = time.time()
        log = proc.stdout + proc.stderr
        (work / "job.log").write_text(log)
        if proc.returncode != 0:
            print(log[-4000:], file=sys.stderr)
            print(f"the job failed with exit code {proc.returncode}", file=sys.stderr)
            return 1
        inspect = ["docker", "image", "inspect", "--format", "{{.Size}}", args.image]
        size = int(subprocess.run(inspect, capture_output=True, text=True).stdout.strip()) / 1e6
        print(f"German-credit processing job, {args.image} ({size:.0f} MB), one run under docker run")
        print("| phase | seconds | target |")
        print("|---|---|---|")
        verdicts = []
        for phase, seconds, target in phase_table(log, started, finished):
            shown = "marker missing" if seconds is None else f"{seconds:.1f}"
            print(f"| {phase} | {shown} | {'' if target is None else f'<= {target:g} s'} |")
            if target is not None:
                ok = seconds is not None and seconds <= target
                verdicts.append(f"{phase} <= {target:g} s: {'met' if ok else 'MISSED'}")
        print("targets: " + "; ".join(verdicts))
        if args.keep:
            print(f"outputs and job.log in {work}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
