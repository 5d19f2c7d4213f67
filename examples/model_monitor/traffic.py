"""Step 2 of the Model Monitor demo: traffic through the capture proxy, and its ground truth.

Two windows of traffic, each 200 applications in requests of 10 records, each request with an
``X-Amzn-SageMaker-Inference-Id``: first the baseline's own records again (undrifted), then new
applications where sex 0 earns 20 less (the planted drift). Ground truth (the true outcome of
each application, one label per record of a request) goes to
``$DEMO_DIR/groundtruth/yyyy/mm/dd/hh/labels.jsonl``. The time bounds of both windows are
written to ``$DEMO_DIR/windows.env`` for the monitoring executions.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from prepare import FEATURES, applicants

PROXY = os.environ.get("PROXY_URL", "http://capture-proxy:8080").rstrip("/")
OUT = Path(os.environ.get("DEMO_DIR", "/work"))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def send(frame: pd.DataFrame, prefix: str) -> list[dict[str, object]]:
    """Send ``frame`` in requests of 10 records; return the ground-truth records."""
    truths = []
    for i in range(0, len(frame), 10):
        part = frame.iloc[i : i + 10]
        key = f"{prefix}-{i:04d}"
        req = urllib.request.Request(
            PROXY + "/invocations",
            data=part[FEATURES].to_csv(header=False, index=False).encode(),
            headers={"Content-Type": "text/csv", "Accept": "text/csv", "X-Amzn-SageMaker-Inference-Id": key},
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
        labels = "".join(f"{v}\n" for v in part["approved"])
        truths.append(
            {
                "groundTruthData": {"data": labels, "encoding": "CSV"},
                "eventMetadata": {"eventId": key},
                "eventVersion": "0",
            }
        )
    return truths


def window(frame: pd.DataFrame, prefix: str) -> tuple[str, str, list[dict[str, object]]]:
    """Send one window of traffic on whole seconds; return its bounds and its ground truth."""
    time.sleep(1.05 - datetime.now(UTC).microsecond / 1e6)  # start on a fresh second
    start = datetime.now(UTC).replace(microsecond=0)
    truths = send(frame, prefix)
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 0.05)
    return _iso(start), _iso(end), truths


def main() -> None:
    """Send both windows, write the ground truth (labelled now) and the window bounds."""
    baseline = pd.read_csv(OUT / "baseline.csv")
    u_start, u_end, u_truth = window(baseline, "undrifted")
    d_start, d_end, d_truth = window(applicants(200, seed=2, drifted=True), "drifted")
    folder = OUT / "groundtruth" / datetime.now(UTC).strftime("%Y/%m/%d/%H")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.jsonl").write_text("".join(json.dumps(t) + "\n" for t in u_truth + d_truth))
    (OUT / "windows.env").write_text(
        f"UNDRIFTED_START={u_start}\nUNDRIFTED_END={u_end}\nDRIFTED_START={d_start}\nDRIFTED_END={d_end}\n"
    )
    print(f"undrifted window {u_start} .. {u_end}, drifted window {d_start} .. {d_end}")


if __name__ == "__main__":
    main()
