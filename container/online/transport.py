"""How the explainer reaches the model: in-process (``local_endpoint``'s registry) or over HTTP.

Both give the original request's answer (:meth:`ModelEndpoint.forward`, the model's body and
``Content-Type`` verbatim) and a :class:`analyzer.model_client.transport.Transport` through
which the processing job's :class:`~analyzer.model_client.ModelClient` sends the synthetic
rows, so batching, payload limits and the per-record fallback are the job's own.
"""

from __future__ import annotations

from pathlib import Path

import requests

from analyzer.model_client.transport import (
    CUSTOM_ATTRIBUTES_HEADER,
    TARGET_MODEL_HEADER,
    HttpTransport,
    Reply,
    Transport,
    TransportError,
)
from local_endpoint.app import Settings as ServerSettings
from local_endpoint.app import infer
from local_endpoint.decode import NPY
from local_endpoint.errors import EndpointError
from local_endpoint.registry import ModelRegistry


def with_charset(media: str) -> str:
    """The ``Content-Type`` an HTTP answer of ``media`` carries (starlette adds a charset to text)."""
    if media.startswith("text/") and "charset" not in media:
        return media + "; charset=utf-8"
    return media


class InProcessTransport(Transport):
    """Calls ``local_endpoint``'s request handler directly: same decoding, model and encoding
    as over HTTP, without the HTTP hop."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self.settings = ServerSettings()
        self.description = f"in-process model {registry.model_dir}"

    def invoke(
        self,
        body: bytes,
        *,
        content_type: str,
        accept: str | None,
        custom_attributes: str | None = None,
        target_model: str | None = None,
        timeout: float = 60.0,
        replica: int = 0,
    ) -> Reply:
        """Answer one request as the model server would (any status; never raises for the model)."""
        try:
            payload, out_type = infer(self.registry, self.settings, body, content_type, accept, target_model)
        except EndpointError as exc:
            return Reply(exc.status, exc.message.encode(), {"content-type": "text/plain; charset=utf-8"})
        except Exception as exc:  # noqa: BLE001 - a model bug is an answer, as over HTTP (500)
            text = f"internal error: {type(exc).__name__}: {exc}"
            return Reply(500, text.encode(), {"content-type": "text/plain; charset=utf-8"})
        headers = {"content-type": with_charset(out_type)}
        if custom_attributes is not None:  # local_endpoint's HTTP handler echoes them too
            headers["x-amzn-sagemaker-custom-attributes"] = custom_attributes
        return Reply(200, payload, headers)

    def fast_path_types(self) -> set[str]:
        """The in-process server reads ``application/x-npy`` like the HTTP one."""
        return {NPY}


class ModelEndpoint:
    """The model behind the explainer: a model folder served in-process, or a remote URL."""

    def __init__(self, transport: Transport, description: str) -> None:
        self.transport = transport
        self.description = description

    @classmethod
    def in_process(cls, model_dir: str | Path) -> ModelEndpoint:
        """Load the model(s) of ``model_dir`` with ``local_endpoint``'s registry."""
        registry = ModelRegistry(model_dir)
        return cls(InProcessTransport(registry), f"model folder {model_dir}")

    @classmethod
    def remote(cls, url: str) -> ModelEndpoint:
        """Front the model container at ``url`` (``http://host:port``; ``/invocations`` is added)."""
        return cls(HttpTransport(url), f"model endpoint {url.rstrip('/')}")

    def forward(
        self,
        body: bytes,
        content_type: str,
        accept: str | None,
        custom_attributes: str | None,
        target_model: str | None,
    ) -> Reply:
        """Send the original request to the model; its answer comes back verbatim."""
        if isinstance(self.transport, HttpTransport):
            headers = {"Content-Type": content_type}
            if accept:
                headers["Accept"] = accept
            if custom_attributes is not None:
                headers[CUSTOM_ATTRIBUTES_HEADER] = custom_attributes
            if target_model is not None:
                headers[TARGET_MODEL_HEADER] = target_model
            url = self.transport.urls[0] + "/invocations"
            try:
                resp = self.transport._session().post(url, data=body, headers=headers, timeout=60)
            except requests.RequestException as exc:
                raise TransportError(f"the model endpoint {url} did not answer: {exc}") from None
            return Reply(resp.status_code, resp.content, {k.lower(): v for k, v in resp.headers.items()})
        return self.transport.invoke(
            body,
            content_type=content_type,
            accept=accept or "",
            custom_attributes=custom_attributes,
            target_model=target_model,
        )

    def ping(self) -> bool:
        """Whether the model answers: always for an in-process model; ``/ping`` for a remote one."""
        if isinstance(self.transport, HttpTransport):
            try:
                resp = self.transport._session().get(self.transport.urls[0] + "/ping", timeout=5)
            except requests.RequestException:
                return False
            return resp.status_code == 200
        return True

    def close(self) -> None:
        """Release connections."""
        self.transport.close()
