"""The model client: batched, pipelined, fault-tolerant predictions from an endpoint.

:class:`ModelClient` splits a large array of rows into requests sized under a payload
limit and a per-request time budget, keeps several requests in flight over every endpoint
replica, retries transient failures with capped exponential backoff, falls back to
per-record requests when the model rejects a batch, and reassembles the answers in order.
An unusable answer raises :class:`analyzer.errors.ModelError` naming the endpoint's text
and the request that caused it.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from analyzer import settings as env_settings
from analyzer.endpoint import EndpointHandle
from analyzer.errors import JobStopped, ModelError, PlatformError
from analyzer.model_client.labels import pick_labels, scores_to_labels
from analyzer.model_client.parse import (
    ResponseFormatError,
    ResponseParser,
    decode_text,
    parse_csv_table,
    parse_npy,
)
from analyzer.model_client.progress import Progress
from analyzer.model_client.serialize import (
    CSV,
    JSON,
    JSONLINES,
    NPY,
    TemplateEncoder,
    encode_csv,
    encode_npy,
)
from analyzer.model_client.transport import (
    HttpTransport,
    Reply,
    SageMakerRuntimeTransport,
    Transport,
    TransportError,
)
from analyzer.plan.model import ClientSettings
from analyzer.preload import first_request_sent

logger = logging.getLogger("analyzer.model_client")

FALLBACK_MESSAGE = "Fallback to per-record prediction because of model error."
CONTENT_TYPES = (CSV, JSONLINES, JSON, NPY)
_RETRYABLE_CODES = {"ThrottlingException", "ServiceUnavailable", "InternalFailure"}


@dataclass
class ClientStats:
    """Counters: HTTP requests sent (retries included), rows predicted, seconds spent."""

    requests: int = 0
    rows: int = 0
    seconds: float = 0.0
    retries: int = 0
    fallbacks: int = 0


class RowEncoder(Protocol):
    """Turns rows into one request body; ``single_record``: one row per request (``$record``)."""

    single_record: bool

    def encode(self, rows: np.ndarray) -> bytes: ...


class ScoreParser(Protocol):
    """Reads one response body: scores ``(n, k)`` (and labels) for ``n`` request records."""

    label: Any
    score: Any  # where the scores are (index or compiled JMESPath), None: the whole answer

    def scores(self, body: bytes, n_records: int) -> np.ndarray: ...

    def labels(self, body: bytes, n_records: int) -> list[Any]: ...


class _Rejected(Exception):
    """The model answered with an error status (batch may be split per record)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"HTTP {reply.status}")
        self.reply = reply


class _TimedOut(Exception):
    """A multi-record request got no answer in time."""


class _Split(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Predict these (start, stop) parts of the chunk instead, as separate requests."""

    def __init__(self, parts: list[tuple[int, int]]) -> None:
        super().__init__(f"split into {len(parts)} parts")
        self.parts = parts


class _Aborted(Exception):
    """Another request already failed the run."""


class RowSource(Protocol):
    """What the request pipeline reads: an array of rows, or rows made on demand when sliced
    (e.g. coalition images rendered one request at a time)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice) -> np.ndarray: ...


def _label_array(labels: list[Any]) -> np.ndarray:
    """Labels as int64 when all are whole numbers, float64 when all numeric, else object."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in labels)
    if numeric:
        arr = np.array(labels, dtype=np.float64)
        if np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        return arr
    return np.array(labels, dtype=object)


def _excerpt(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


class ModelClient:
    """Predict scores and labels for rows of features through a model endpoint.

    Args:
        transport: :class:`HttpTransport` or :class:`SageMakerRuntimeTransport`.
        settings: Everything resolved by the analysis plan (content and accept types,
            templates, locators, label headers, limits); see
            :class:`analyzer.plan.model.ClientSettings`. Default: CSV in, CSV out.
        feature_names: Names of the feature columns, in row order.
        progress: Progress bar (True), log lines (False), decide from the terminal (None).
        encoder, response_parser: Replace the template encoder / response parser (JSON and
            JSON Lines requests of other shapes, e.g. time-series forecasts); batching,
            retries and timeouts stay the client's.

    The client applies no default of its own: a setting it needs comes from ``settings``.
    """

    #: Request MIME types this client encodes, and what it encodes (for the error message).
    content_types: tuple[str, ...] = CONTENT_TYPES
    data_kind = "tabular data"

    def __init__(
        self,
        transport: Transport,
        settings: ClientSettings | None = None,
        *,
        feature_names: Sequence[str],
        progress: bool | None = None,
        encoder: RowEncoder | None = None,
        response_parser: ScoreParser | None = None,
    ) -> None:
        settings = settings or ClientSettings()
        if settings.content_type not in self.content_types:
            raise ValueError(
                f"content_type {settings.content_type!r} is not supported for {self.data_kind}; use one of "
                f"{', '.join(self.content_types)}"
            )
        self.settings = settings
        self.transport = transport
        self.feature_names = [str(n) for n in feature_names]
        self.content_type = settings.content_type
        self.accept_type = settings.response_type
        self.parser: ScoreParser = response_parser if response_parser is not None else ResponseParser(
            self.accept_type,
            settings.label,
            settings.score_locator,
            "probability" if settings.probability is not None else "label",
        )
        self.label_headers = list(settings.label_headers) if settings.label_headers is not None else None
        self.custom_attributes = settings.custom_attributes
        self.target_model = settings.target_model
        self.max_payload_bytes = settings.max_payload_bytes
        self.max_in_flight = max(1, settings.max_in_flight or 2 * max(1, transport.n_replicas))
        self.request_timeout = settings.request_timeout
        self.max_retries = settings.max_retries
        self.progress = progress
        self.retry_backoff = settings.retry_backoff
        self.max_backoff = settings.max_backoff
        self.time_budget = settings.time_budget if settings.time_budget else self.request_timeout / 4
        self.max_rows_per_request = settings.max_rows_per_request
        self.deadline = settings.deadline
        self._deadline_at = time.monotonic() + settings.deadline if settings.deadline else None
        self._stall_since: float | None = None  # first timeout with no answer since
        self.use_fast_path = settings.use_fast_path
        self.stats = ClientStats()
        self._template: RowEncoder | None = encoder
        if encoder is None and self.content_type in (JSONLINES, JSON):
            self._template = TemplateEncoder(
                self.content_type, self.feature_names, settings.content_template, settings.record_template
            )
        self._single_record = bool(self._template and self._template.single_record)
        self._per_record = False
        self._row_cap: int | None = None  # lowered after timeouts
        self._time_cap: int | None = None  # rows per request that fit the time budget
        self._fast: bool | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._abort = threading.Event()
        self._lock = threading.Lock()
        self._replica = 0

    # --- construction for an endpoint ----------------------------------------------
    @classmethod
    def for_endpoint(
        cls,
        endpoint: EndpointHandle,
        settings: ClientSettings,
        *,
        feature_names: Sequence[str],
        progress: bool | None = None,
    ) -> ModelClient:
        """A client for an :class:`EndpointHandle`: HTTP to its URLs, or the runtime API for its name."""
        transport: Transport
        if endpoint.urls:
            transport = HttpTransport(list(endpoint.urls))
        else:
            assert endpoint.endpoint_name is not None  # EndpointHandle guarantees one of the two
            transport = SageMakerRuntimeTransport(
                endpoint.endpoint_name, region=endpoint.region, read_timeout=settings.request_timeout
            )
        return cls(transport, settings, feature_names=feature_names, progress=progress)

    # --- public API ------------------------------------------------------------------
    def predict_scores(self, rows: np.ndarray) -> np.ndarray:
        """Scores for every row: float64 (n, k), in row order.

        Args:
            rows: (n, M) array in ``feature_names`` order (object or numeric dtype).

        Raises:
            ModelError: the endpoint failed or answered something unusable.
        """
        rows = self._check_rows(rows)
        parts = self._run(rows, "scores")
        if not parts:
            return np.empty((0, 0), dtype=np.float64)
        widths = {p.shape[1] for p in parts}
        if len(widths) != 1:
            raise ModelError(
                f"The model endpoint returned different numbers of scores per record across "
                f"requests: {sorted(widths)}"
            )
        scores = np.concatenate(parts, axis=0)
        self._check_finite(rows, scores)
        return scores

    def _check_finite(self, rows: np.ndarray, values: np.ndarray, shown_values: Any = None) -> None:
        """Raise :class:`ModelError` naming the rows whose predictions are NaN, null or infinite.

        Never let one through: a NaN score would count as label 0 in bias metrics and give
        blank rows in ``out.csv``.
        """
        if values.dtype.kind not in "fc":
            return
        finite = np.isfinite(values) if values.ndim == 1 else np.isfinite(values).all(axis=1)
        if finite.all():
            return
        bad = np.flatnonzero(~finite)
        first = int(bad[0])
        shown = ", ".join(str(int(i)) for i in bad[:10]) + (", ..." if len(bad) > 10 else "")
        row = np.asarray(rows[first]).tolist()
        features = ", ".join(f"{n}={v!r}" for n, v in zip(self.feature_names, row, strict=False))
        got = np.asarray(values[first]).tolist() if shown_values is None else shown_values[first]
        raise ModelError(
            f"The model endpoint ({self.transport.description}) returned a non-finite prediction "
            f"(NaN, null or infinity) for {len(bad)} of {len(values)} record(s): row(s) {shown} "
            f"(0-based, in the order sent); row {first} ({features}) got {got!r}. A NaN would count "
            "as label 0 in bias metrics and leave blank SHAP values: fix the model, or remove the "
            "records it cannot score"
        )

    def predict_labels(
        self, rows: np.ndarray, probability_threshold: float | None = None
    ) -> np.ndarray:
        """Predicted labels for every row (n,).

        Uses the ``label`` locator when configured (with ``probability`` to choose among
        all class labels); otherwise scores: one score → ``score > threshold`` gives 1
        else 0; several scores → arg-max mapped through ``label_headers``.
        """
        rows = self._check_rows(rows)
        if self.parser.label is None:
            scores = self.predict_scores(rows)
            if scores.size == 0:
                return np.empty(0)
            return scores_to_labels(scores, probability_threshold, self.label_headers)
        parts = self._run(rows, "labels")
        labels: list[Any] = [v for p in parts for v in p]
        missing = [v is None or (isinstance(v, str) and not v.strip()) for v in labels]
        if any(missing):  # an empty or null label is as unusable as a NaN score
            self._check_finite(rows, np.array([np.nan if m else 0.0 for m in missing]), labels)
        array = _label_array(labels)
        self._check_finite(rows, array)
        return array

    def log_summary(self) -> None:
        """Log Clarify's throughput line for the requests made so far."""
        s = self.stats
        rate = s.requests / s.seconds if s.seconds > 0 else 0.0
        logger.info(
            "Model endpoint delivered %.5f requests per second and a total of %d requests "
            "over %.2f seconds",
            rate,
            s.requests,
            s.seconds,
        )

    def close(self) -> None:
        """Stop worker threads and close the transport's connections."""
        if self._pool is not None:
            # after a failure or a stop, requests still in flight are abandoned, not awaited
            self._pool.shutdown(wait=not self._abort.is_set(), cancel_futures=True)
            self._pool = None
        self.transport.close()

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- orchestration ---------------------------------------------------------------
    def _check_rows(self, rows: Any) -> np.ndarray:
        rows = np.asarray(rows)
        if rows.ndim == 1 and len(self.feature_names) == 1:
            rows = rows.reshape(-1, 1)
        if rows.ndim != 2 or rows.shape[1] != len(self.feature_names):
            raise ValueError(
                f"rows must have shape (n, {len(self.feature_names)}) for features "
                f"{self.feature_names}, got {rows.shape}"
            )
        return rows

    def _fast_path(self) -> bool:
        return bool(self._fast)

    def _decide_fast_path(self, sample: np.ndarray) -> None:
        """Use ``application/x-npy`` only if the endpoint advertises it, the response is read
        as CSV columns, and either the endpoint's ``/ping`` says the configured request type
        answers the same as the binary one, or a probe of a few numeric rows shows it does."""
        ok = (
            self.use_fast_path
            and self.accept_type == CSV
            and not self._single_record
            and all(
                loc is None or isinstance(loc, int)
                for loc in (self.parser.label, self.parser.score)
            )
        )
        if not ok:
            self._fast = False
            return
        try:
            numeric = sample.astype(np.float64)
        except (TypeError, ValueError):
            # not numeric (e.g. text): decided again with the next call's rows, without asking
            # the endpoint (a /ping per call otherwise)
            self._fast = None
            return
        advertised = self.transport.advertised()
        if NPY not in advertised.fast_path:
            self._fast = False
            return
        if self.content_type in advertised.same_answer:
            # the endpoint says both formats reach its model as the same rows: no probe needed
            self._fast = True
            logger.info("The endpoint advertises application/x-npy: using the binary fast path")
            return
        self._fast = False
        try:
            plain_body, plain_type, _, _ = self._encode_configured(sample)
            csv_reply, _ = self._send(plain_body, plain_type, CSV, len(sample), 0)
            npy_reply, _ = self._send(encode_npy(numeric), NPY, NPY, len(sample), 1)
            table = parse_csv_table(decode_text(csv_reply.body), len(sample), csv_reply.body)
            binary = parse_npy(npy_reply.body, len(sample))
        except (_Rejected, _TimedOut, ResponseFormatError, ModelError) as exc:
            logger.info("Not using the application/x-npy fast path: the probe failed (%s)", exc)
            return
        if table.dtype == np.float64 and table.shape == binary.shape and np.allclose(
            table, binary, rtol=1e-6, atol=1e-12, equal_nan=True
        ):
            self._fast = True
            logger.info("The endpoint accepts application/x-npy: using the binary fast path")
        else:
            logger.info(
                "Not using the application/x-npy fast path: its answer differs from the CSV one"
            )

    def _bytes_per_row(self, rows: RowSource) -> float:
        if self._fast_path() and rows.dtype.kind in "fiub":
            return 8.0 * rows.shape[1]
        step = max(1, len(rows) // 64)
        sample = rows[:1] if self._single_record else rows[::step][:64]
        body = self._encode(sample)[0]
        return (len(body) + 1) / max(1, len(sample))

    def _batch_rows(self, total: int, remaining: int, bytes_per_row: float) -> int:
        if self._single_record or self._per_record:
            return 1
        size = int(self.max_payload_bytes * 0.9 / max(bytes_per_row * 1.15, 1.0))
        if self._time_cap:
            size = min(size, self._time_cap)
        if self._row_cap:
            size = min(size, self._row_cap)
        if self.max_rows_per_request:
            size = min(size, self.max_rows_per_request)
        # equal requests over the whole call; at least one per slot when there is plenty
        count = math.ceil(total / max(size, 1))
        if total >= 2000 * self.max_in_flight:
            count = max(count, self.max_in_flight)
        return max(1, min(math.ceil(total / count), remaining))

    def _next_replica(self) -> int:
        with self._lock:
            self._replica += 1
            return self._replica

    def _run(self, rows: RowSource, mode: str) -> list[Any]:
        """Predict ``rows`` in pipelined requests; returns per-request results in row order.

        The calling thread encodes requests (one ahead of those in flight, so a worker
        sends again as soon as its answer is in); worker threads send and parse. A request
        that must be split (payload too large, timed out, model error) is queued again as
        parts, ahead of new work, so that the per-record fallback is pipelined too.
        Memory stays bounded: at most ``max_in_flight + 1`` encoded requests exist.
        """
        n = len(rows)
        if n == 0:
            return []
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="model-client")
        self._abort.clear()
        if self._fast is None:
            self._decide_fast_path(rows[:8])
        bytes_per_row = self._bytes_per_row(rows)
        results: dict[int, Any] = {}
        pending: dict[Future, tuple[int, int]] = {}
        redo: deque[tuple[int, int]] = deque()
        progress = Progress(n, self.progress)
        start_time = time.monotonic()
        pos = 0
        ready: tuple[int, int, tuple[bytes, str, str, bool]] | None = None

        def prepare() -> tuple[int, int, tuple[bytes, str, str, bool]] | None:
            nonlocal pos
            while redo or pos < n:
                if redo:
                    start, stop = redo.popleft()
                else:
                    start, stop = pos, pos + self._batch_rows(n, n - pos, bytes_per_row)
                    pos = stop
                encoded = self._encode_checked(rows[start:stop])
                if encoded is not None:
                    return start, stop, encoded
                half = start + (stop - start) // 2
                redo.extendleft([(half, stop), (start, half)])
            return None

        try:
            while True:
                while len(pending) < self.max_in_flight:
                    work = ready or prepare()
                    ready = None
                    if work is None:
                        break
                    start, stop, encoded = work
                    fut = self._pool.submit(
                        self._predict_chunk, encoded, stop - start, mode, self._next_replica()
                    )
                    pending[fut] = (start, stop)
                    first_request_sent()
                if not pending:
                    break
                if ready is None:
                    ready = prepare()  # encode the next request while these are in flight
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: pending[f][0]):
                    start, stop = pending.pop(fut)
                    try:
                        results[start] = fut.result()
                    except _Split as split:
                        if ready is not None:  # keep order: the split parts go first
                            redo.appendleft((ready[0], ready[1]))
                            ready = None
                        redo.extendleft(reversed([(start + a, start + b) for a, b in split.parts]))
                        continue
                    progress.update(stop - start)
        except BaseException as exc:
            self._abort.set()
            for fut in pending:
                fut.cancel()
            if not isinstance(exc, JobStopped | KeyboardInterrupt):
                wait(pending)  # a stop does not wait for requests in flight (up to the timeout)
            raise
        finally:
            progress.close()
            with self._lock:
                self.stats.seconds += time.monotonic() - start_time
        return [results[k] for k in sorted(results)]

    # --- one chunk -------------------------------------------------------------------
    def _encode(self, rows: np.ndarray) -> tuple[bytes, str, str, bool]:
        """Return (body, content_type, accept, fast) for a chunk of rows."""
        if self._fast_path():
            try:
                numeric = rows if rows.dtype.kind in "fiub" else rows.astype(np.float64)
            except (TypeError, ValueError):
                numeric = None
            if numeric is not None:
                return encode_npy(numeric), NPY, NPY, True
        return self._encode_configured(rows)

    def _encode_configured(self, rows: np.ndarray) -> tuple[bytes, str, str, bool]:
        """Encode with the configured ``content_type`` (no fast path)."""
        if self.content_type == CSV:
            body = encode_csv(rows)
        elif self.content_type == NPY:
            try:
                body = encode_npy(rows)
            except (TypeError, ValueError) as exc:
                raise ModelError(
                    f"predictor.content_type application/x-npy needs numeric features: {exc}"
                ) from None
        else:
            assert self._template is not None
            body = self._template.encode(rows)
        return body, self.content_type, self.accept_type, False

    def _encode_checked(self, rows: np.ndarray) -> tuple[bytes, str, str, bool] | None:
        """Encode a chunk; None when it exceeds the payload limit and must be halved."""
        n = len(rows)
        encoded = self._encode(rows)
        size = len(encoded[0])
        if size <= self.max_payload_bytes:
            return encoded
        if n == 1:
            raise ModelError(
                f"One record needs a {size}-byte request, more than the maximum payload of "
                f"{self.max_payload_bytes} bytes"
            )
        half = n // 2
        with self._lock:
            self._row_cap = min(self._row_cap or half, half)
        logger.info("Prediction batch size is reduced to %d to fit max payload size limit.", half)
        return None

    def _predict_chunk(
        self, encoded: tuple[bytes, str, str, bool], n: int, mode: str, replica: int
    ) -> Any:
        """Send one encoded request (with retries) and parse its answer."""
        if self._abort.is_set():
            raise _Aborted()
        body, content_type, accept, fast = encoded
        try:
            reply, elapsed = self._send(body, content_type, accept, n, replica)
        except _TimedOut:
            half = max(1, n // 2)
            with self._lock:
                self._row_cap = min(self._row_cap or half, half)
            logger.warning(
                "A request of %d records timed out after %g s; prediction batch size is reduced "
                "to %d.", n, self.request_timeout, half
            )
            # one record first: if even that gets no answer, the endpoint is stalled (fail
            # now, not after halving down to one record); if it answers, the halves follow
            parts = [(0, 1), (1, half), (half, n)] if half > 1 else [(0, half), (half, n)]
            raise _Split(parts) from None
        except _Rejected as exc:
            if fast and exc.reply.status == 406:
                # advertised on /ping, but this model's answers are not numeric: back to the
                # configured format for this request and every later one
                with self._lock:
                    self._fast = False
                logger.info("Not using the application/x-npy fast path: %s", exc.reply.text(200))
                raise _Split([(0, n)]) from None
            if exc.reply.status == 413 and n > 1:
                half = n // 2
                with self._lock:
                    self._row_cap = min(self._row_cap or half, half)
                logger.info(
                    "Prediction batch size is reduced to %d to fit max payload size limit.", half
                )
                raise _Split([(0, half), (half, n)]) from None
            if n == 1:
                raise ModelError(self._describe_failure(
                    f"the endpoint answered HTTP {exc.reply.status}: {exc.reply.text()}",
                    body, content_type, n)) from None
            logger.warning(
                "%s (HTTP %d for a request of %d records: %s)",
                FALLBACK_MESSAGE, exc.reply.status, n, exc.reply.text(200),
            )
            with self._lock:
                self._per_record = True
                self.stats.fallbacks += 1
            raise _Split([(i, i + 1) for i in range(n)]) from None
        with self._lock:
            self.stats.rows += n
            if elapsed > self.time_budget:  # too slow: fewer rows per request from now on
                cap = max(1, int(n * self.time_budget / elapsed))
                self._time_cap = min(self._time_cap or cap, cap)
        try:
            return self._parse(reply.body, n, mode, fast)
        except ResponseFormatError as exc:
            raise ModelError(self._describe_failure(
                f"{exc}; response body: {_excerpt(reply.body)}", body, content_type, n)) from None

    def _parse(self, body: bytes, n: int, mode: str, fast: bool) -> Any:
        if mode == "scores":
            if fast:
                return parse_npy(body, n, self.parser.score)
            return self.parser.scores(body, n)
        if fast:
            labels = parse_npy(body, n, self.parser.label)[:, 0].tolist()
            return labels
        labels = self.parser.labels(body, n)
        if any(isinstance(v, list) for v in labels):
            scores = self.parser.scores(body, n) if self.settings.probability is not None else None
            labels = pick_labels(labels, scores)
        return labels

    def _describe_failure(self, reason: str, body: bytes, content_type: str, n: int) -> str:
        return (
            f"The model endpoint ({self.transport.description}) failed on a request of {n} "
            f"record(s) ({content_type}, {len(body)} bytes): {reason}. "
            f"Request body starts: {_excerpt(body, 200)}"
        )

    def _request_timeout(self, body: bytes, content_type: str, n: int, now: float) -> float:
        """The timeout of a request sent ``now``: the request timeout, cut to the deadline."""
        if self._deadline_at is None:
            return self.request_timeout
        remaining = self._deadline_at - now
        if remaining <= 0:
            raise ModelError(self._deadline_message(body, content_type, n))
        return min(self.request_timeout, remaining)

    def _deadline_message(self, body: bytes, content_type: str, n: int) -> str:
        return self._describe_failure(
            f"the model calls of this job took longer than the deadline of {self.deadline:g} s "
            f"(${env_settings.MODEL_DEADLINE.name})", body, content_type, n)

    def _timed_out(self, sent: float, timeout: float, body: bytes, content_type: str, n: int) -> None:
        """Record a request sent at ``sent`` that got no answer within ``timeout`` seconds.

        Raises :class:`ModelError` when the endpoint is stalled: this one-record request was
        sent after an earlier request had timed out and nothing has answered since (a timed
        out batch is split with one record first, so an endpoint that never answers fails
        the job within about twice the request timeout), or when the job's deadline cut the
        timeout short.
        """
        now = time.monotonic()
        if self._deadline_at is not None and now >= self._deadline_at - 1e-3:
            raise ModelError(self._deadline_message(body, content_type, n))
        with self._lock:
            stalled = n == 1 and self._stall_since is not None and sent >= self._stall_since
            if self._stall_since is None:
                self._stall_since = now
        if stalled:
            raise ModelError(self._describe_failure(
                f"no answer within the request timeout of {timeout:g} s "
                f"(${env_settings.REQUEST_TIMEOUT.name}), twice in a row with no answer in between: "
                "the endpoint is stalled, or too slow for this request",
                body, content_type, n))

    def _send(
        self, body: bytes, content_type: str, accept: str, n: int, replica: int
    ) -> tuple[Reply, float]:
        """Send with retries. Returns (reply, seconds) for a 2xx answer."""
        attempt = 0
        while True:
            if self._abort.is_set():
                raise _Aborted()
            t0 = time.monotonic()
            timeout = self._request_timeout(body, content_type, n, t0)
            reply: Reply | None = None
            failure: str
            unreachable = False
            try:
                reply = self.transport.invoke(
                    body,
                    content_type=content_type,
                    accept=accept,
                    custom_attributes=self.custom_attributes,
                    target_model=self.target_model,
                    timeout=timeout,
                    replica=replica + attempt,
                )
            except TransportError as exc:
                with self._lock:
                    self.stats.requests += 1
                if exc.timeout:
                    self._timed_out(t0, timeout, body, content_type, n)
                    if n > 1:
                        raise _TimedOut() from None
                failure = str(exc)
                unreachable = exc.unreachable
            else:
                elapsed = time.monotonic() - t0
                with self._lock:
                    self.stats.requests += 1
                    self._stall_since = None  # the endpoint answers
                if 200 <= reply.status < 300:
                    return reply, elapsed
                code = reply.headers.get("x-error-code", "")
                retryable = reply.status == 429 or reply.status >= 500 or code in _RETRYABLE_CODES
                if not retryable:
                    raise _Rejected(reply)
                failure = f"HTTP {reply.status}: {reply.text()}"
            attempt += 1
            if attempt > self.max_retries:
                if reply is not None and reply.status == 500:
                    raise _Rejected(reply)
                if unreachable:  # no HTTP answer at all: the network or the endpoint is down
                    raise PlatformError(self._describe_failure(
                        f"the endpoint cannot be reached (gave up after {attempt} attempts); last error: "
                        f"{failure}", body, content_type, n))
                raise ModelError(self._describe_failure(
                    f"gave up after {attempt} attempts; last error: {failure}",
                    body, content_type, n))
            with self._lock:
                self.stats.retries += 1
            delay = min(self.max_backoff, self.retry_backoff * 2 ** (attempt - 1))
            logger.info("Retrying a request of %d records in %.2f s after: %s", n, delay, failure)
            if self._abort.wait(delay * (0.5 + random.random() / 2)):
                raise _Aborted()
