"""Transports: how one request body reaches a model endpoint.

Two transports answer the same small interface (:class:`Transport`):

* :class:`HttpTransport` posts to ``<url>/invocations`` of one or more container replicas
  with pooled ``requests`` sessions (one per thread and replica);
* :class:`SageMakerRuntimeTransport` calls ``sagemaker-runtime`` ``InvokeEndpoint`` through
  boto3 (honours ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``), with botocore's own retries off so
  that the model client's retry policy applies exactly once.

A transport never retries; it reports what happened as a :class:`Reply` (any HTTP status)
or raises :class:`TransportError` (no HTTP answer: refused, dropped, timed out).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests
import urllib3

FAST_PATH_HEADER = "X-Clarify-Runner-Accept"
SAME_ANSWER_HEADER = "X-Clarify-Runner-Same-Answer"
CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
TARGET_MODEL_HEADER = "X-Amzn-SageMaker-Target-Model"


@dataclass
class Reply:
    """An HTTP answer: status code, body and (lower-cased) headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def text(self, limit: int = 500) -> str:
        """The body as text for error messages (lossy, truncated)."""
        text = self.body.decode("utf-8", errors="replace")
        return text if len(text) <= limit else text[:limit] + "..."


class TransportError(Exception):
    """No HTTP answer was received (connection refused or dropped, timeout).

    ``unreachable``: no connection could be made at all (refused, unknown host, connect
    timeout): the network or the endpoint is down, as opposed to a model server that
    accepted the request and then failed to answer.
    """

    def __init__(self, message: str, *, timeout: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.unreachable = unreachable


def _cannot_connect(exc: requests.RequestException) -> bool:
    """Whether ``requests`` failed before a connection was made (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _media_types(value: str | None) -> set[str]:
    return {t.strip().lower() for t in (value or "").split(",") if t.strip()}


@dataclass
class Advertised:
    """What an endpoint advertises in its ``/ping`` headers (clarify-runner's local endpoint).

    ``fast_path``: binary request types it accepts (``X-Clarify-Runner-Accept``).
    ``same_answer``: request types whose answers equal the binary format's for the same numeric
    rows (``X-Clarify-Runner-Same-Answer``), so the client needs no probe to switch.
    """

    fast_path: set[str] = field(default_factory=set)
    same_answer: set[str] = field(default_factory=set)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Advertised:
        """Read the two headers (case-insensitive mapping, as ``requests`` gives it)."""
        return cls(_media_types(headers.get(FAST_PATH_HEADER)), _media_types(headers.get(SAME_ANSWER_HEADER)))


class Transport:
    """Interface of a transport. ``n_replicas`` requests may go to distinct replicas."""

    n_replicas: int = 1
    description: str = ""

    def invoke(
        self,
        body: bytes,
        *,
        content_type: str,
        accept: str,
        custom_attributes: str | None = None,
        target_model: str | None = None,
        timeout: float = 60.0,
        replica: int = 0,
    ) -> Reply:
        """Send one request and return the answer (raise :class:`TransportError` if none)."""
        raise NotImplementedError

    def fast_path_types(self) -> set[str]:
        """Binary request types the endpoint advertises (``application/x-npy``), else empty."""
        return self.advertised().fast_path

    def advertised(self) -> Advertised:
        """What the endpoint's ``/ping`` advertises (nothing, unless the transport can ask)."""
        return Advertised()

    def close(self) -> None:
        """Release pooled connections."""


class HttpTransport(Transport):
    """POST to ``<url>/invocations`` of container replicas over pooled HTTP sessions.

    Args:
        urls: Base URLs (``http://host:port``) of the replicas; requests go round-robin.
        pool_size: Connections kept per replica and thread.
    """

    def __init__(self, urls: str | list[str] | tuple[str, ...], *, pool_size: int = 4) -> None:
        if isinstance(urls, str):
            urls = [urls]
        self.urls = [u.rstrip("/") for u in urls]
        if not self.urls:
            raise ValueError("HttpTransport needs at least one URL")
        self.n_replicas = len(self.urls)
        self.description = ", ".join(self.urls)
        self._pool_size = pool_size
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=self.n_replicas, pool_maxsize=self._pool_size, max_retries=0
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def invoke(
        self,
        body: bytes,
        *,
        content_type: str,
        accept: str,
        custom_attributes: str | None = None,
        target_model: str | None = None,
        timeout: float = 60.0,
        replica: int = 0,
    ) -> Reply:
        """POST ``body`` to ``<url>/invocations`` of replica ``replica % n_replicas``."""
        url = self.urls[replica % self.n_replicas] + "/invocations"
        headers = {"Content-Type": content_type, "Accept": accept}
        if custom_attributes is not None:
            headers[CUSTOM_ATTRIBUTES_HEADER] = custom_attributes
        if target_model is not None:
            headers[TARGET_MODEL_HEADER] = target_model
        try:
            resp = self._session().post(url, data=body, headers=headers, timeout=timeout)
            content = resp.content
        except requests.RequestException as exc:
            if _cannot_connect(exc):
                raise TransportError(f"cannot connect to {url}: {exc}", unreachable=True) from None
            if isinstance(exc, requests.Timeout):
                message = f"no answer from {url} within {timeout:g} s ({exc})"
                raise TransportError(message, timeout=True) from None
            raise TransportError(f"connection to {url} failed: {exc}") from None
        return Reply(resp.status_code, content, {k.lower(): v for k, v in resp.headers.items()})

    def advertised(self) -> Advertised:
        """What every replica advertises on ``/ping`` (one GET per replica; common part)."""
        fast: set[str] | None = None
        same: set[str] | None = None
        for url in self.urls:
            try:
                resp = self._session().get(url + "/ping", timeout=5)
            except requests.RequestException:
                return Advertised()
            if resp.status_code != 200:
                return Advertised()
            here = Advertised.from_headers(resp.headers)
            fast = here.fast_path if fast is None else fast & here.fast_path
            same = here.same_answer if same is None else same & here.same_answer
        return Advertised(fast or set(), same or set())

    def close(self) -> None:
        """Close every pooled session."""
        with self._lock:
            for s in self._sessions:
                s.close()
            self._sessions.clear()
        self._local = threading.local()


class SageMakerRuntimeTransport(Transport):
    """Invoke a named endpoint with boto3 ``sagemaker-runtime`` ``InvokeEndpoint``.

    Args:
        endpoint_name: The SageMaker endpoint.
        region: AWS region (default: boto3's).
        client: A ready ``sagemaker-runtime`` client (tests); built with retries off otherwise.
        endpoint_url: Override the service URL (default: boto3's, which honours
            ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``).
        max_connections: Size of botocore's connection pool.
    """

    def __init__(
        self,
        endpoint_name: str,
        *,
        region: str | None = None,
        client=None,
        endpoint_url: str | None = None,
        max_connections: int = 10,
        read_timeout: float = 70.0,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.description = f"SageMaker endpoint {endpoint_name}"
        if client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                max_pool_connections=max_connections,
                read_timeout=read_timeout,
                connect_timeout=10,
            )
            client = boto3.client(
                "sagemaker-runtime", region_name=region, endpoint_url=endpoint_url, config=config
            )
        self._client = client

    def invoke(
        self,
        body: bytes,
        *,
        content_type: str,
        accept: str,
        custom_attributes: str | None = None,
        target_model: str | None = None,
        timeout: float = 60.0,
        replica: int = 0,
    ) -> Reply:
        """Call ``InvokeEndpoint``; service errors come back as a :class:`Reply` with their status."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            ReadTimeoutError,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )

        kwargs = {
            "EndpointName": self.endpoint_name,
            "Body": body,
            "ContentType": content_type,
            "Accept": accept,
        }
        if custom_attributes is not None:
            kwargs["CustomAttributes"] = custom_attributes
        if target_model is not None:
            kwargs["TargetModel"] = target_model
        try:
            resp = self._client.invoke_endpoint(**kwargs)
            content = resp["Body"].read()
        except ClientError as exc:
            err = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            message = err.get("Message", "")
            original = exc.response.get("OriginalMessage")
            if original:
                message = f"{message} (original message: {original})"
            text = f"{err.get('Code', 'Error')}: {message}"
            return Reply(int(status), text.encode("utf-8"), {"x-error-code": err.get("Code", "")})
        except EndpointConnectionError as exc:
            raise TransportError(f"cannot connect to {self.description}: {exc}", unreachable=True) from None
        except ReadTimeoutError as exc:
            raise TransportError(f"{self.description} did not answer in time: {exc}", timeout=True) from None
        except (BotoConnectionError, BotoCoreError) as exc:
            raise TransportError(f"connection to {self.description} failed: {exc}") from None
        headers = {"content-type": resp.get("ContentType", "")}
        if "CustomAttributes" in resp:
            headers["x-amzn-sagemaker-custom-attributes"] = resp["CustomAttributes"]
        return Reply(200, content, headers)
