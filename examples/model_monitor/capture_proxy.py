"""A small data-capture proxy: SageMaker's endpoint data capture in front of any model container.

``POST /invocations`` is forwarded to ``$ENDPOINT_URL`` and the request/response pair is
appended, in SageMaker's data-capture format, to
``$CAPTURE_DIR/<ENDPOINT_NAME>/<VARIANT>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl`` (one file per
proxy and hour). The ``X-Amzn-SageMaker-Inference-Id`` header becomes
``eventMetadata.inferenceId``, as ``InvokeEndpoint(InferenceId=...)`` does. CSV and JSON bodies
are captured as text (encoding ``CSV``/``JSON``), anything else base64-encoded.
Standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ENDPOINT_URL = os.environ.get("ENDPOINT_URL", "http://endpoint:8080").rstrip("/")
CAPTURE_DIR = Path(os.environ.get("CAPTURE_DIR", "/work/capture"))
ENDPOINT_NAME = os.environ.get("ENDPOINT_NAME", "credit-endpoint")
VARIANT = os.environ.get("VARIANT", "AllTraffic")
_LOCK = threading.Lock()
_FILES: dict[str, Path] = {}


def _payload(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/csv", "application/json", "application/jsonlines"):
        encoding = "CSV" if kind == "text/csv" else "JSON"
        data = body.decode("utf-8")
    else:
        encoding, data = "BASE64", base64.b64encode(body).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def _capture_file(now: datetime) -> Path:
    hour = now.strftime("%Y/%m/%d/%H")
    with _LOCK:
        if hour not in _FILES:
            folder = CAPTURE_DIR / ENDPOINT_NAME / VARIANT / hour
            folder.mkdir(parents=True, exist_ok=True)
            _FILES[hour] = (
                folder / f"{now.strftime('%M-%S')}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            )
        return _FILES[hour]


def capture(
    request: bytes, request_type: str, response: bytes, response_type: str, inference_id: str | None
) -> None:
    """Append one capture record for this request/response pair."""
    now = datetime.now(UTC)
    meta = {"eventId": str(uuid.uuid4())}
    if inference_id:
        meta["inferenceId"] = inference_id
    meta["inferenceTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {
        "captureData": {
            "endpointInput": _payload(request, request_type, "INPUT"),
            "endpointOutput": _payload(response, response_type, "OUTPUT"),
        },
        "eventMetadata": meta,
        "eventVersion": "0",
    }
    path = _capture_file(now)
    line = json.dumps(record) + "\n"
    with _LOCK, path.open("a", encoding="utf-8") as fh:
        fh.write(line)


class Handler(BaseHTTPRequestHandler):
    """Forwards ``/ping`` and ``/invocations``; captures every successful invocation."""

    def _forward(self, method: str, body: bytes | None) -> tuple[int, bytes, str]:
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
        req = urllib.request.Request(ENDPOINT_URL + self.path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers.get("Content-Type", "text/plain")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._reply(*self._forward("GET", None))

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, answer, answer_type = self._forward("POST", body)
        if status == 200 and self.path.rstrip("/").endswith("invocations"):
            capture(
                body,
                self.headers.get("Content-Type", "text/csv"),
                answer,
                answer_type,
                self.headers.get("X-Amzn-SageMaker-Inference-Id"),
            )
        self._reply(status, answer, answer_type)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    """Serve on ``$PORT`` (default 8080)."""
    port = int(os.environ.get("PORT", "8080"))
    print(f"capture proxy on :{port} -> {ENDPOINT_URL}, capturing into {CAPTURE_DIR}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
