"""Forecasting-model requests and responses for time-series explanations (CC §4.2, §4.3).

Requests follow the config's templates. ``record_template`` may hold the tokens
``$start_time`` (the item's first timestamp as JSON, e.g. ``"2020-01-01 16:20:00"``),
``$target_time_series`` (array of numbers), ``$related_time_series`` (array of arrays) and
``$static_covariates`` (array). ``content_template`` holds ``$records`` (a JSON array of
rendered records: DeepAR's ``{"instances": $records}``) or ``$record`` (one record per
request: the BYOM example's ``{"instances": $record}``). Missing values are sent as ``null``.
For ``application/jsonlines`` (allowed by the SDK, format UNVERIFIED) each record is one line:
``content_template`` with ``$record`` replaced, or the rendered record when there is no
content template.

Responses: ``predictor.time_series_predictor_config.forecast`` is a JMESPath over the whole
JSON response giving one forecast (list of numbers) per request record
(``predictions[*].mean``), or one forecast for a single-record request
(``predictions.mean``); for JSON Lines it is applied to each line.

:class:`ForecastEndpoint` plugs both into :class:`~analyzer.model_client.ModelClient`, so the
client's batching (payload and time budget), retries, timeouts and per-record fallback are
used unchanged. Rows given to the client are indices into the bound
:class:`~analyzer.explain.asymmetric_shapley.CoalitionBatch`; records are rendered from
pre-formatted value tokens, only when a request is built.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jmespath
import numpy as np

from analyzer.errors import ConfigError
from analyzer.model_client.client import ModelClient
from analyzer.model_client.parse import ResponseFormatError, decode_text
from analyzer.model_client.serialize import JSON, JSONLINES
from analyzer.model_client.transport import HttpTransport, SageMakerRuntimeTransport, Transport
from analyzer.plan.model import ClientSettings

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.endpoint import EndpointHandle
    from analyzer.explain.asymmetric_shapley import CoalitionBatch, ItemGame

__all__ = ["ForecastEndpoint", "ForecastRequestEncoder", "ForecastResponseParser"]

TS_TOKENS = ("$start_time", "$target_time_series", "$related_time_series", "$static_covariates")
_TOKEN_RE = re.compile("|".join(re.escape(t) for t in TS_TOKENS))
_CONTENT_RE = re.compile(r"\$records|\$record")


def _split(template: str, pattern: re.Pattern[str]) -> list[tuple[bool, str]]:
    """``(is_token, text)`` pieces of a template."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for m in pattern.finditer(template):
        parts.append((False, template[pos : m.start()]))
        parts.append((True, m.group(0)))
        pos = m.end()
    parts.append((False, template[pos:]))
    return parts


def _number_tokens(values: np.ndarray) -> np.ndarray:
    """JSON text of each value (shortest round-trip float, ``null`` for NaN) as an object array."""
    return np.array(["null" if math.isnan(v) else repr(v) for v in values.tolist()], dtype=object)


def _json_tokens(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [json.dumps(v) for v in values]
    return out


class _ItemTokens:
    """Pre-formatted actual and baseline tokens of one item's cells."""

    def __init__(self, game: ItemGame) -> None:
        item = game.item
        self.n_target = len(item.target)
        self.start = json.dumps(item.timestamps[0])
        self.target = (_number_tokens(item.target), _number_tokens(game.target_base))
        self.related_bases = game.related_base is not None
        self.related: list[tuple[np.ndarray, np.ndarray]] = []
        for r, actual in enumerate(item.related):
            base = game.related_base[r] if game.related_base is not None else actual
            self.related.append((_number_tokens(actual), _number_tokens(base)))
        self.static_actual = _json_tokens(item.static)
        self.static_base = _json_tokens(game.static_base) if game.static_base is not None else None
        self.fixed_related = None if self.related_bases else self._related_text(None)
        self.static_offset = self.n_target + (
            sum(len(a) for a, _ in self.related) if self.related_bases else 0
        )

    def _related_text(self, mask: np.ndarray | None) -> str:
        pieces = []
        pos = self.n_target
        for actual, base in self.related:
            if mask is None:
                chosen = actual
            else:
                chosen = np.where(mask[pos : pos + len(actual)], actual, base)
                pos += len(actual)
            pieces.append("[" + ", ".join(chosen) + "]")
        return "[" + ", ".join(pieces) + "]"

    def render(self, mask: np.ndarray) -> dict[str, str]:
        """Token → JSON text for one coalition."""
        target = np.where(mask[: self.n_target], *self.target)
        related = self.fixed_related if self.fixed_related is not None else self._related_text(mask)
        if self.static_base is not None:
            stop = self.static_offset + len(self.static_base)
            static = np.where(mask[self.static_offset : stop], self.static_actual, self.static_base)
        else:
            static = self.static_actual
        return {
            "$start_time": self.start,
            "$target_time_series": "[" + ", ".join(target) + "]",
            "$related_time_series": related,
            "$static_covariates": "[" + ", ".join(static) + "]",
        }


class ForecastRequestEncoder:
    """Renders coalition rows into request bodies with the config's templates.

    Args:
        content_type: ``application/json`` or ``application/jsonlines``.
        content_template: Holds ``$records`` or ``$record`` (JSON); optional for JSON Lines.
        record_template: Holds the time-series tokens (see the module docstring).

    Raises:
        ConfigError: a template is missing or holds no usable placeholder.
    """

    def __init__(self, content_type: str, content_template: str | None, record_template: str | None) -> None:
        self.content_type = content_type
        if content_type not in (JSON, JSONLINES):
            raise ConfigError(
                "predictor.content_type: ``content_type`` must be JSON or JSONLines for time series "
                "explainability."
            )
        if not record_template:
            raise ConfigError(
                "predictor.record_template: required for time series explainability; use the tokens "
                f'{", ".join(TS_TOKENS)} (e.g. \'{{"start": $start_time, "target": $target_time_series}}\')'
            )
        if not _TOKEN_RE.search(record_template):
            raise ConfigError(
                f"predictor.record_template {record_template!r} holds none of the time-series tokens "
                f"{', '.join(TS_TOKENS)}"
            )
        if content_type == JSON and (not content_template or not _CONTENT_RE.search(content_template)):
            raise ConfigError(
                f"predictor.content_template: Invalid content_template {content_template!r}. "
                "Please include either placeholder $records or $record."
            )
        self.record_parts = _split(record_template, _TOKEN_RE)
        self.content_parts = _split(content_template, _CONTENT_RE) if content_template else None
        self.single_record = content_type == JSON and "$records" not in (content_template or "")
        self.uses_related = "$related_time_series" in record_template
        self.uses_static = "$static_covariates" in record_template
        self._batch: CoalitionBatch | None = None
        self._tokens: dict[int, _ItemTokens] = {}

    def bind(self, batch: CoalitionBatch | None) -> None:
        """Rows given to :meth:`encode` are indices into ``batch`` from now on."""
        self._batch = batch
        self._tokens = {}

    def render_record(self, row: int) -> str:
        """The record template filled for row ``row`` of the bound batch."""
        batch = self._batch
        if batch is None:
            raise RuntimeError("ForecastRequestEncoder.bind() must be called before encoding")
        g = int(batch.item_index[row])
        tokens = self._tokens.get(g)
        if tokens is None:
            tokens = self._tokens[g] = _ItemTokens(batch.games[g])
        values = tokens.render(batch.masks[row])
        return "".join(values[text] if is_token else text for is_token, text in self.record_parts)

    def _wrap(self, inner: str) -> str:
        assert self.content_parts is not None
        return "".join(inner if is_token else text for is_token, text in self.content_parts)

    def encode(self, rows: np.ndarray) -> bytes:
        """One request body for the given rows (an ``(n, 1)`` array of batch row indices)."""
        records = [self.render_record(int(r)) for r in np.asarray(rows).reshape(-1)]
        if self.content_type == JSONLINES:
            lines = [self._wrap(r) for r in records] if self.content_parts else records
            return "\n".join(lines).encode("utf-8")
        if self.single_record and len(records) != 1:
            raise ValueError("a $record content_template sends exactly one record per request")
        inner = records[0] if self.single_record else "[" + ", ".join(records) + "]"
        return self._wrap(inner).encode("utf-8")


def _forecast_row(value: Any, where: str) -> list[float]:
    if not isinstance(value, list) or not value:
        raise ResponseFormatError(f"{where} is {json.dumps(value)[:80]}, not a non-empty list of numbers")
    out = []
    for v in value:
        if v is None:
            out.append(math.nan)
        elif isinstance(v, bool) or not isinstance(v, int | float):
            raise ResponseFormatError(f"{where} holds {json.dumps(v)[:40]}, not a number")
        else:
            out.append(float(v))
    return out


class ForecastResponseParser:
    """Reads forecasts with ``time_series_predictor_config.forecast`` (a JMESPath).

    ``scores(body, n)`` returns ``(n, horizon)`` floats; a single-record answer may give the
    forecast itself (``predictions.mean``) or a one-element list of forecasts.
    """

    label = None
    score = None

    def __init__(self, accept_type: str, forecast: str) -> None:
        if accept_type not in (JSON, JSONLINES):
            raise ConfigError(
                "predictor.accept_type: ``accept_type`` must be JSON or JSONLines for time series "
                "explainability."
            )
        if not isinstance(forecast, str) or not forecast.strip():
            raise ConfigError(
                "predictor.time_series_predictor_config.forecast: Please provide a string JMESPath "
                "expression for ``forecast`` to extract the forecast result."
            )
        try:
            self._expr = jmespath.compile(forecast)
        except jmespath.exceptions.JMESPathError as exc:
            raise ConfigError(
                f"predictor.time_series_predictor_config.forecast {forecast!r} is not a valid JMESPath: {exc}"
            ) from None
        self.accept_type = accept_type
        self.forecast = forecast

    def _rows(self, found: Any, n_records: int, where: str) -> list[list[float]]:
        if isinstance(found, list) and found and all(isinstance(v, int | float) or v is None for v in found):
            if n_records != 1:
                raise ResponseFormatError(
                    f"forecast {self.forecast!r} gave one forecast for a request of {n_records} records "
                    f"{where}"
                )
            return [_forecast_row(found, f"the forecast {where}")]
        if not isinstance(found, list) or len(found) != n_records:
            got = f"{len(found)} entries" if isinstance(found, list) else json.dumps(found)[:80]
            raise ResponseFormatError(
                f"forecast {self.forecast!r} must give one forecast per request record {where}: got {got} "
                f"for {n_records} records. The records in the response payload must match the records in "
                "the request payload."
            )
        return [_forecast_row(v, f"forecast {i} {where}") for i, v in enumerate(found)]

    def scores(self, body: bytes, n_records: int) -> np.ndarray:
        """``(n_records, horizon)`` forecasts from one response body."""
        text = decode_text(body)
        try:
            if self.accept_type == JSONLINES:
                lines = [line for line in text.splitlines() if line.strip()]
                if len(lines) != n_records:
                    raise ResponseFormatError(f"{len(lines)} response lines for {n_records} request records")
                rows = [
                    r
                    for i, line in enumerate(lines)
                    for r in self._rows(self._expr.search(json.loads(line)), 1, f"in line {i + 1}")
                ]
            else:
                rows = self._rows(self._expr.search(json.loads(text)), n_records, "in the response")
        except json.JSONDecodeError as exc:
            raise ResponseFormatError(f"the response is not valid JSON: {exc}") from None
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            raise ResponseFormatError(
                f"the forecasts have different lengths {sorted(widths)} in one response"
            )
        return np.asarray(rows, dtype=np.float64)

    def labels(self, body: bytes, n_records: int) -> list[Any]:
        """Forecasting models have no labels."""
        raise ResponseFormatError("a forecasting model's response has no predicted labels")


class ForecastEndpoint:
    """A :data:`~analyzer.explain.asymmetric_shapley.ForecastFn` backed by a model endpoint.

    Args:
        transport: Where requests go (``HttpTransport`` for a local endpoint or container,
            ``SageMakerRuntimeTransport`` for a SageMaker endpoint).
        content_type, accept_type, content_template, record_template, forecast: As in the
            ``predictor`` section.
        custom_attributes, target_model: Sent with every request.
        client_options: Passed to :class:`ModelClient` (``max_payload_bytes``,
            ``request_timeout``, ``max_retries``, ``max_in_flight``, ``progress``...).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        content_type: str,
        accept_type: str | None,
        content_template: str | None,
        record_template: str | None,
        forecast: str,
        custom_attributes: str | None = None,
        target_model: str | None = None,
        **client_options: Any,
    ) -> None:
        accept_type = accept_type or content_type
        self.encoder = ForecastRequestEncoder(content_type, content_template, record_template)
        self.parser = ForecastResponseParser(accept_type, forecast)
        progress = client_options.pop("progress", None)
        settings = ClientSettings(
            content_type=content_type,
            accept_type=accept_type,
            custom_attributes=custom_attributes,
            target_model=target_model,
            use_fast_path=False,
            **client_options,
        )
        self.client = ModelClient(
            transport,
            settings,
            feature_names=["record"],
            progress=progress,
            encoder=self.encoder,
            response_parser=self.parser,
        )

    @classmethod
    def for_plan(
        cls, transport: Transport, settings: ClientSettings, forecast: str, **client_options: Any
    ) -> ForecastEndpoint:
        """Build from the plan's client settings and ``time_series_predictor_config.forecast``."""
        options: dict[str, Any] = {
            "max_payload_bytes": settings.max_payload_bytes,
            "request_timeout": settings.request_timeout,
            "max_retries": settings.max_retries,
            **client_options,
        }
        return cls(
            transport,
            content_type=settings.content_type,
            accept_type=settings.accept_type,
            content_template=settings.content_template,
            record_template=settings.record_template,
            forecast=forecast,
            custom_attributes=settings.custom_attributes,
            target_model=settings.target_model,
            **options,
        )

    @classmethod
    def for_endpoint(
        cls, endpoint: EndpointHandle, settings: ClientSettings, forecast: str
    ) -> ForecastEndpoint:
        """Build for an :class:`~analyzer.endpoint.EndpointHandle` (HTTP URLs or a SageMaker endpoint)."""
        transport: Transport
        if endpoint.urls:
            transport = HttpTransport(list(endpoint.urls))
        else:
            assert endpoint.endpoint_name is not None  # EndpointHandle guarantees one of the two
            transport = SageMakerRuntimeTransport(
                endpoint.endpoint_name, region=endpoint.region, read_timeout=settings.request_timeout
            )
        return cls.for_plan(transport, settings, forecast)

    @property
    def uses_related(self) -> bool:
        """Whether requests carry the related series."""
        return self.encoder.uses_related

    @property
    def uses_static(self) -> bool:
        """Whether requests carry the static covariates."""
        return self.encoder.uses_static

    def __call__(self, batch: CoalitionBatch) -> np.ndarray:
        """Forecasts ``(len(batch), horizon)`` for every coalition of the batch."""
        self.encoder.bind(batch)
        try:
            return self.client.predict_scores(np.arange(len(batch)).reshape(-1, 1))
        finally:
            self.encoder.bind(None)

    def close(self) -> None:
        """Stop the client's threads and close connections."""
        self.client.close()

    def __enter__(self) -> ForecastEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
