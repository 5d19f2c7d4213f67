"""Builders of SageMaker data-capture and ground-truth files for the Model Monitor tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any


def capture_line(
    features: Sequence[Any] | str,
    output: str,
    *,
    event_id: str,
    inference_id: str | None = None,
    time: datetime | None = None,
    input_type: str = "text/csv",
    output_type: str = "text/csv; charset=utf-8",
    encoding: str = "CSV",
) -> dict[str, Any]:
    """One capture record as SageMaker writes it (CSV features joined by commas)."""
    data = features if isinstance(features, str) else ",".join(str(v) for v in features) + "\n"
    out_data = output
    in_enc = out_enc = encoding
    if encoding == "BASE64":
        data = base64.b64encode(data.encode()).decode()
        out_data = base64.b64encode(output.encode()).decode()
    elif encoding == "JSON":
        in_enc = out_enc = "JSON"
    meta: dict[str, Any] = {"eventId": event_id}
    if inference_id is not None:
        meta["inferenceId"] = inference_id
    if time is not None:
        meta["inferenceTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": input_type,
                "mode": "INPUT",
                "data": data,
                "encoding": in_enc,
            },
            "endpointOutput": {
                "observedContentType": output_type,
                "mode": "OUTPUT",
                "data": out_data,
                "encoding": out_enc,
            },
        },
        "eventMetadata": meta,
        "eventVersion": "0",
    }


def ground_truth_line(key: str, label: Any, encoding: str = "CSV") -> dict[str, Any]:
    """One ground-truth record keyed by ``key`` (the capture's inferenceId or eventId)."""
    data = label if isinstance(label, str) else json.dumps(label)
    return {
        "groundTruthData": {"data": data, "encoding": encoding},
        "eventMetadata": {"eventId": key},
        "eventVersion": "0",
    }


def hour_dir(root: Path, when: datetime, *parts: str) -> Path:
    """``root/<parts>/yyyy/mm/dd/hh`` (created)."""
    folder = root.joinpath(*parts, when.strftime("%Y/%m/%d/%H"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """Write ``records`` one JSON object per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
