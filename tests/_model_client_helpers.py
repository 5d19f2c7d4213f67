"""Fake model servers for the model-client tests: tiny threaded http.server apps on
127.0.0.1 that answer through a Python function, and can misbehave on purpose."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


@dataclass
class Request:
    """One request the fake server received."""

    path: str
    headers: dict[str, str]
    body: bytes


class Drop(Exception):
    """Raise from a handler to close the connection without answering."""


@dataclass
class FakeServer:
    """A running fake server; ``handler(request, index) -> (status, body[, headers])``."""

    handler: Callable[[Request, int], tuple]
    ping_headers: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # /ping
                self.send_response(200)
                for k, v in fake.ping_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                req = Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length))
                with lock:
                    fake.requests.append(req)
                    index = len(fake.requests) - 1
                try:
                    answer = fake.handler(req, index)
                except Drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, body = answer[0], answer[1]
                headers = answer[2] if len(answer) > 2 else {}
                if isinstance(body, str):
                    body = body.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:  # dropped on purpose
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def csv_rows(body: bytes) -> list[list[float]]:
    """Parse a numeric CSV request body."""
    return [[float(x) for x in line.split(",")] for line in body.decode().splitlines() if line]


def sum_model(req: Request, index: int) -> tuple[int, str]:
    """A CSV model answering the sum of each row's features, one line per record."""
    return 200, "\n".join(repr(sum(r)) for r in csv_rows(req.body))


def numeric_rows(n: int, m: int, seed: int = 0) -> np.ndarray:
    """Random float rows for tests."""
    return np.random.default_rng(seed).normal(size=(n, m)).round(3)


def npy_bytes(array: np.ndarray) -> bytes:
    """``numpy.save`` of an array, as bytes."""
    import io

    buf = io.BytesIO()
    np.save(buf, np.asarray(array, dtype=np.float64), allow_pickle=False)
    return buf.getvalue()


def sum_model_npy_aware(req: Request, index: int) -> tuple[int, bytes]:
    """Like :func:`sum_model`, but answers ``application/x-npy`` requests in kind."""
    import io

    if req.headers.get("content-type") == "application/x-npy":
        rows = np.load(io.BytesIO(req.body), allow_pickle=False)
        return 200, npy_bytes(rows.sum(axis=1, keepdims=True))
    if all(_is_number(x) for line in req.body.decode().splitlines() for x in line.split(",")):
        return sum_model(req, index)
    return 200, "\n".join("1.0" for line in req.body.decode().splitlines() if line)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
