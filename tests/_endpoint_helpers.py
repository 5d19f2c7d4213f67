"""Helpers shared by the local endpoint's server tests: request encoders, response decoders."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import requests

from local_endpoint.decode import decode_csv

CONTENT_TYPES = ("text/csv", "application/json", "application/jsonlines", "application/x-npy")


def encode_records(X: np.ndarray, content_type: str) -> bytes:
    """Encode a 2-D float array as a request body of ``content_type``."""
    if content_type == "text/csv":
        return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in X).encode()
    if content_type == "application/json":
        return json.dumps({"instances": X.tolist()}).encode()
    if content_type == "application/jsonlines":
        return "".join(json.dumps({"features": row}) + "\n" for row in X.tolist()).encode()
    sink = io.BytesIO()
    np.save(sink, np.asarray(X, dtype=np.float64), allow_pickle=False)
    return sink.getvalue()


def decode_rows(body: bytes, accept: str) -> np.ndarray:
    """Decode a default-output response (one row of numbers per record) into a 2-D array."""
    if accept == "text/csv":
        return np.array([[float(v) for v in row] for row in csv.reader(io.StringIO(body.decode()))])
    if accept == "application/json":
        return np.array(json.loads(body), dtype=float)
    if accept == "application/jsonlines":
        return np.array([json.loads(line) for line in body.decode().splitlines()], dtype=float)
    return np.load(io.BytesIO(body), allow_pickle=False)


def invoke(url: str, body: bytes, content_type: str = "text/csv", accept: str | None = None, **headers: str):
    """POST ``body`` to ``<url>/invocations``; extra headers as keyword arguments (``_`` → ``-``)."""
    hdrs = {"Content-Type": content_type}
    if accept is not None:
        hdrs["Accept"] = accept
    hdrs.update({k.replace("_", "-"): v for k, v in headers.items()})
    return requests.post(url + "/invocations", data=body, headers=hdrs, timeout=30)


def german_credit_records(csv_path: Path) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """German credit features as the endpoint decodes them (object array), labels, string columns."""
    lines = csv_path.read_text().splitlines()[1:]
    y = np.array([int(line.split(",", 1)[0]) for line in lines])
    body = "".join(line.split(",", 1)[1] + "\n" for line in lines).encode()
    X = decode_csv(body)
    categorical = [j for j in range(X.shape[1]) if isinstance(X[0, j], str)]
    return X, y, categorical


def records_to_csv(X: np.ndarray) -> bytes:
    """CSV body of an object array (strings quoted when needed)."""
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    for row in X:
        writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return sink.getvalue().encode()
