"""One explained invocation: the model's predictions plus Kernel SHAP values per record.

:meth:`OnlineExplainer.invoke` forwards the request to the model, splits its answer per
record, evaluates ``EnableExplanations`` (the request header beats the config) on each record's
deserialized output (a CSV record as a JSON array, a JSON Lines record as an object), and
explains the selected records with the processing job's engine
(:func:`analyzer.explain.kernel_shap`) through the job's model client: the synthetic rows go to
the model in requests bounded by ``MaxRecordCount`` and ``MaxPayloadInMB``. For the same
records, baseline, ``Seed`` and ``NumberOfSamples`` the values equal the processing job's.

The answer is the API's (``application/json``)::

    {"version": "1.0",
     "predictions": {"content_type": <model's Content-Type>, "data": <model's body>},
     "label_headers": [...],                       # only when LabelHeaders is configured
     "explanations": {} | {"kernel_shap": [null | [{"feature_header"?: ..., "attributions":
                                                    [{"attribution": [per score]}]}, ...], ...]}}
"""

from __future__ import annotations

import csv
import json
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jmespath
import numpy as np

from analyzer.errors import ConfigError, ModelError
from analyzer.explain import kernel_shap
from analyzer.explain.plan import resolve_num_samples
from analyzer.model_client import ModelClient
from analyzer.model_client.parse import ResponseFormatError, ResponseParser, parse_csv_table
from analyzer.model_client.serialize import CSV, JSONLINES
from analyzer.model_client.transport import Reply, TransportError
from analyzer.plan.model import ClientSettings
from container.online.config import ExplainerSettings, compile_enable_explanations
from container.online.transport import InProcessTransport, ModelEndpoint

logger = logging.getLogger("clarify_runner.online")

ENABLE_EXPLANATIONS_HEADER = "x-amzn-sagemaker-enable-explanations"
#: Request and model-output types the explainer reads (the API's).
SUPPORTED_TYPES = (CSV, JSONLINES)
#: InvokeEndpoint's time limit; the model client's request timeout.
INVOKE_TIMEOUT_SECONDS = 60.0
#: Synthetic rows one invocation may need (records x baseline rows x samples); more is refused
#: with a 400 rather than left to run into the 60 s limit.
MAX_SYNTHETIC_ROWS = 5_000_000
_MB = 1024 * 1024


class ExplainerRequestError(Exception):
    """The request cannot be explained (HTTP 400): the message says why and what to change."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelInvocationError(Exception):
    """The model answered the original request with an error: its status and body are passed on."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"HTTP {reply.status}")
        self.reply = reply


@dataclass
class ExplainerResponse:
    """The explainer's answer: a JSON body and the headers to send with it."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def media_type(value: str | None) -> str:
    """``text/csv`` from ``text/csv; charset=utf-8`` (lower case; empty for none)."""
    return (value or "").split(";", 1)[0].strip().lower()


# --- records -------------------------------------------------------------------------------
def _csv_rows(text: str, what: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ExplainerRequestError(f"the {what} has no records")
    return [row for row in csv.reader(lines)]


def _number(token: str) -> int | float | None:
    text = token.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _jsonl_docs(text: str, what: str) -> list[Any]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ExplainerRequestError(f"the {what} has no records")
    docs = []
    for i, line in enumerate(lines):
        try:
            docs.append(json.loads(line))
        except ValueError as exc:
            raise ExplainerRequestError(f"line {i + 1} of the {what} is not JSON: {exc}") from None
    return docs


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"{exc.reason} at byte {exc.start}"
        raise ExplainerRequestError(f"the {what} is not UTF-8 text ({where})") from None


def read_records(body: bytes, content_type: str, features_attribute: Any, what: str) -> list[list[Any]]:
    """Feature values of each record of a CSV or JSON Lines body (CSV cells as text)."""
    text = _decode(body, what)
    if content_type == CSV:
        return [list(row) for row in _csv_rows(text, what)]
    records = []
    for i, doc in enumerate(_jsonl_docs(text, what)):
        values = features_attribute.search(doc) if features_attribute is not None else doc
        if not isinstance(values, list):
            hint = (
                f"InferenceConfig.FeaturesAttribute {features_attribute.expression!r} found {values!r:.100}"
                if features_attribute is not None
                else "set InferenceConfig.FeaturesAttribute to the JMESPath of the features list"
            )
            raise ExplainerRequestError(f"record {i + 1} of the {what} is not a list of features: {hint}")
        records.append(values)
    return records


def feature_matrix(records: Sequence[Sequence[Any]], baseline: Sequence[Sequence[Any]]) -> tuple[
    np.ndarray, np.ndarray
]:
    """Records and baseline as the SHAP engine takes them: float64 when every value is a number
    (as the processing job reads an all-numeric dataset), else object (numbers stay numbers)."""
    def cell(value: Any) -> Any:
        if isinstance(value, str):
            number = _number(value)
            return value if number is None else number
        return value

    rows = [[cell(v) for v in r] for r in (*records, *baseline)]
    numeric = all(
        isinstance(v, int | float) and not isinstance(v, bool) for r in rows for v in r
    )
    if numeric:
        table = np.array(rows, dtype=np.float64)
    else:
        table = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
        for i, r in enumerate(rows):
            table[i, :] = r
    return table[: len(records)], table[len(records) :]


def _output_records(reply: Reply, n_records: int) -> list[Any]:
    """The model's answer per record: a CSV record as a JSON array, a JSON Lines record as is."""
    kind = media_type(reply.headers.get("content-type"))
    text = _decode(reply.body, "model response")
    if kind == CSV:
        try:
            table = parse_csv_table(text, n_records, reply.body)
        except ResponseFormatError as exc:
            raise ExplainerRequestError(f"cannot split the model response per record: {exc}") from None
        out = []
        for row in table.tolist():
            out.append([_number(v) if isinstance(v, str) and _number(v) is not None else v for v in row])
        return out
    if kind == JSONLINES:
        docs = _jsonl_docs(text, "model response")
        if len(docs) != n_records:
            raise ExplainerRequestError(
                f"the model answered {len(docs)} JSON Lines records for {n_records} request records"
            )
        return docs
    raise ExplainerRequestError(
        f"the model answered {kind or 'no Content-Type'}; EnableExplanations is evaluated on "
        f"{' or '.join(SUPPORTED_TYPES)} model output"
    )


def _synthetic_accept(accept: str | None, kind: str) -> str:
    """The ``Accept`` of the synthetic requests: the request's, else (``*/*``, none) its content type."""
    wanted = media_type(accept)
    return wanted if wanted in SUPPORTED_TYPES else kind


def _constant(expression: Any) -> bool | None:
    """True/False when the compiled expression is a boolean literal, else None."""
    parsed = getattr(expression, "parsed", None)
    if isinstance(parsed, dict) and parsed.get("type") == "literal" and isinstance(parsed.get("value"), bool):
        return bool(parsed["value"])
    return None


# --- the explainer -------------------------------------------------------------------------
class OnlineExplainer:
    """Explains invocations of one model with one ``ClarifyExplainerConfig``.

    Args:
        settings: The validated config (:func:`container.online.config.load_explainer_config`).
        model: Where the model is (:class:`ModelEndpoint`).
        baseline_text: The baseline records' text (``ShapBaseline``, or the body at
            ``ShapBaselineUri``, read by the caller).
        max_synthetic_rows: Refuse invocations that need more synthetic rows than this.
    """

    def __init__(
        self,
        settings: ExplainerSettings,
        model: ModelEndpoint,
        baseline_text: str,
        *,
        max_synthetic_rows: int = MAX_SYNTHETIC_ROWS,
    ) -> None:
        self.settings = settings
        self.model = model
        self.max_synthetic_rows = max_synthetic_rows
        inf = settings.inference
        self.features_attribute = jmespath.compile(inf.FeaturesAttribute) if inf.FeaturesAttribute else None
        mime = media_type(settings.shap.ShapBaselineConfig.MimeType)
        try:
            self.baseline = read_records(
                baseline_text.encode(), mime, self.features_attribute, "SHAP baseline"
            )
        except ExplainerRequestError as exc:
            raise ConfigError(f"ShapBaselineConfig: {exc.message}") from None
        widths = {len(r) for r in self.baseline}
        if len(widths) != 1:
            raise ConfigError(
                f"ShapBaselineConfig: the baseline records have different lengths: {sorted(widths)}"
            )
        self.n_features = widths.pop()
        headers = inf.FeatureHeaders
        if headers is not None and len(headers) != self.n_features:
            raise ConfigError(
                f"InferenceConfig.FeatureHeaders has {len(headers)} names but the SHAP baseline records have "
                f"{self.n_features} features"
            )
        self.feature_types, self.text_columns = self._feature_types()
        self._segmenter: Any = None
        if self.text_columns:
            from analyzer.explain.text.segment import Segmenter
            from analyzer.extras import require

            require("text", "Online text explanations (ShapConfig.TextConfig)")
            text = settings.shap.TextConfig
            assert text is not None  # checked by _feature_types
            self._segmenter = Segmenter(text.Granularity, text.Language)
        self._text_lock = threading.Lock()
        self._forwarder = ThreadPoolExecutor(max_workers=8, thread_name_prefix="explainer-forward")
        self._clients: dict[tuple[Any, ...], list[ModelClient]] = {}
        self._lock = threading.Lock()

    def _feature_types(self) -> tuple[list[str] | None, tuple[int, ...]]:
        """``feature_type`` of each feature (None: not an NLP problem) and the text columns.

        ``FeatureTypes`` when given, else inferred from the baseline: a value that is not a
        number marks a text feature (only with ``TextConfig``).
        """
        inf = self.settings.inference
        text_config = self.settings.shap.TextConfig
        if inf.FeatureTypes is not None:
            types: list[str] = [str(t) for t in inf.FeatureTypes]
            if len(types) != self.n_features:
                raise ConfigError(
                    f"InferenceConfig.FeatureTypes has {len(types)} types but the SHAP baseline records "
                    f"have {self.n_features} features"
                )
        elif text_config is not None:
            first = self.baseline[0]
            types = [
                "text" if isinstance(v, str) and _number(v) is None else "numerical" for v in first
            ]
        else:
            return None, ()
        columns = tuple(j for j, t in enumerate(types) if t == "text")
        if not columns:
            raise ConfigError(
                "ShapConfig.TextConfig is set but no feature is text: give InferenceConfig.FeatureTypes "
                "with a 'text' entry, or a baseline whose text features hold the replacement string"
            )
        return types, columns

    # --- model clients: one per concurrent request and request shape, reused -----------------
    def _client_settings(self, content_type: str, accept: str, custom: str | None, target: str | None) -> (
        ClientSettings
    ):
        inf = self.settings.inference
        probability = inf.ProbabilityIndex if inf.ProbabilityIndex is not None else inf.ProbabilityAttribute
        return ClientSettings(
            content_type=content_type,
            accept_type=accept,
            content_template=inf.ContentTemplate,
            label=inf.LabelIndex if inf.LabelIndex is not None else inf.LabelAttribute,
            probability=probability,
            custom_attributes=custom,
            target_model=target,
            max_payload_bytes=inf.MaxPayloadInMB * _MB,
            request_timeout=INVOKE_TIMEOUT_SECONDS,
            max_retries=0,
            max_rows_per_request=inf.MaxRecordCount,
            # in-process, requests in parallel only contend for the same cores and the GIL:
            # one request of all the rows is faster than two halves side by side
            max_in_flight=1 if isinstance(self.model.transport, InProcessTransport) else None,
        )

    @contextmanager
    def _client(self, content_type: str, accept: str, custom: str | None, target: str | None) -> Iterator[
        ModelClient
    ]:
        key = (content_type, accept, custom, target)
        with self._lock:
            idle = self._clients.setdefault(key, [])
            client = idle.pop() if idle else None
        if client is None:
            try:
                client = ModelClient(
                    self.model.transport,
                    self._client_settings(content_type, accept, custom, target),
                    feature_names=self.feature_names,
                    progress=False,
                )
            except ValueError as exc:
                message = str(exc).replace("predictor.content_template", "InferenceConfig.ContentTemplate")
                raise ExplainerRequestError(message) from None
        try:
            yield client
        finally:
            with self._lock:
                self._clients[key].append(client)

    @property
    def feature_names(self) -> list[str]:
        """``FeatureHeaders``, else ``feature_0``, ``feature_1``, ..."""
        headers = self.settings.inference.FeatureHeaders
        return list(headers) if headers is not None else [f"feature_{j}" for j in range(self.n_features)]

    def close(self) -> None:
        """Stop the model clients and close the model's connections."""
        with self._lock:
            clients = [c for idle in self._clients.values() for c in idle]
            self._clients.clear()
        for c in clients:
            c.close()
        self._forwarder.shutdown(wait=True)
        self.model.close()

    # --- one invocation -----------------------------------------------------------------------
    def invoke(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        *,
        enable_explanations: str | None = None,
        custom_attributes: str | None = None,
        target_model: str | None = None,
    ) -> ExplainerResponse:
        """Predict and explain one request.

        Raises:
            ExplainerRequestError: a bad request or an unusable model output (HTTP 400).
            ModelInvocationError: the model failed the original request.
            ModelError: the model failed on the synthetic rows.
        """
        kind = media_type(content_type)
        if kind not in SUPPORTED_TYPES:
            raise ExplainerRequestError(
                f"ContentType {content_type or '(none)'!r} is not supported by the explainer; use "
                f"{' or '.join(SUPPORTED_TYPES)}"
            )
        expression = self.settings.enable_expression
        if enable_explanations is not None:
            if not 1 <= len(enable_explanations) <= 64:
                raise ExplainerRequestError(
                    f"EnableExplanations must have 1 to 64 characters, got {len(enable_explanations)}"
                )
            try:
                expression = compile_enable_explanations(enable_explanations)
            except ValueError as exc:
                raise ExplainerRequestError(str(exc)) from None
        forward_args = (body, content_type or kind, accept, custom_attributes, target_model)
        explain_args = (body, kind, accept, expression, custom_attributes, target_model)
        if _constant(expression) is True:
            # every record is explained whatever the model answers: the original request goes
            # to the model while the explanation runs
            pending = self._forwarder.submit(self._forward, *forward_args)
            try:
                explanations = self._explanations(*explain_args, pending.result)
            except Exception:
                pending.result()  # a failed model call is the error to report
                raise
            reply = pending.result()
        else:
            reply = self._forward(*forward_args)
            explanations = self._explanations(*explain_args, lambda: reply)
        doc: dict[str, Any] = {
            "version": "1.0",
            "predictions": {
                "content_type": reply.headers.get("content-type", ""),
                "data": _decode(reply.body, "model response"),
            },
        }
        label_headers = self._label_headers(body, kind, reply)
        if label_headers is not None:
            doc["label_headers"] = label_headers
        doc["explanations"] = explanations
        headers = {}
        custom = reply.headers.get("x-amzn-sagemaker-custom-attributes")
        if custom is not None:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom
        return ExplainerResponse(json.dumps(doc).encode(), headers)

    def _label_headers(self, body: bytes, kind: str, reply: Reply) -> list[Any] | None:
        """``LabelHeaders``, else the labels the model answers at ``LabelIndex``/``LabelAttribute``
        when they are a list per record (e.g. ``"['cat','dog']","[0.1,0.9]"``)."""
        inf = self.settings.inference
        if inf.LabelHeaders is not None:
            return list(inf.LabelHeaders)
        locator = inf.LabelIndex if inf.LabelIndex is not None else inf.LabelAttribute
        out_kind = media_type(reply.headers.get("content-type"))
        if locator is None or out_kind not in SUPPORTED_TYPES:
            return None
        n_records = len(read_records(body, kind, self.features_attribute, "request"))
        try:
            labels = ResponseParser(out_kind, locator, None, "label").labels(reply.body, n_records)
        except (ResponseFormatError, ValueError) as exc:
            raise ExplainerRequestError(f"cannot read the labels of the model response: {exc}") from None
        first = labels[0] if labels else None
        return list(first) if isinstance(first, list) else None

    def _forward(
        self, body: bytes, content_type: str, accept: str | None, custom: str | None, target: str | None
    ) -> Reply:
        """The model's answer to the original request (a non-2xx answer raises)."""
        try:
            reply = self.model.forward(body, content_type, accept, custom, target)
        except TransportError as exc:
            raise ModelError(str(exc)) from None
        if not 200 <= reply.status < 300:
            raise ModelInvocationError(reply)
        return reply

    def _explanations(
        self,
        body: bytes,
        kind: str,
        accept: str | None,
        expression: Any,
        custom: str | None,
        target: str | None,
        model_reply: Callable[[], Reply],
    ) -> dict[str, Any]:
        constant = _constant(expression)
        if constant is False:
            return {}
        records = read_records(body, kind, self.features_attribute, "request")
        if constant is True:
            selected = list(range(len(records)))
        else:
            selected = []
            for i, output in enumerate(_output_records(model_reply(), len(records))):
                try:
                    value = expression.search(output)
                except jmespath.exceptions.JMESPathError as exc:
                    raise ExplainerRequestError(
                        f"EnableExplanations {expression.expression!r} failed on record {i + 1}'s output "
                        f"{output!r:.100}: {exc}"
                    ) from None
                if not isinstance(value, bool):
                    raise ExplainerRequestError(
                        f"EnableExplanations {expression.expression!r} gave {value!r:.100} for record "
                        f"{i + 1} "
                        f"(model output {json.dumps(output)[:100]}); it must give true or false"
                    )
                if value:
                    selected.append(i)
        if not selected:
            return {}
        for i in selected:
            if len(records[i]) != self.n_features:
                raise ExplainerRequestError(
                    f"record {i + 1} has {len(records[i])} features but the SHAP baseline has "
                    f"{self.n_features}"
                )
        shap = self.settings.shap
        if self.text_columns:
            return self._text_explanations(
                [records[i] for i in selected], selected, len(records), kind, accept, custom, target
            )
        samples = resolve_num_samples(self.n_features, shap.NumberOfSamples)
        synthetic = len(selected) * len(self.baseline) * max(samples, 0)
        if synthetic > self.max_synthetic_rows:
            raise ExplainerRequestError(
                f"explaining {len(selected)} record(s) needs {synthetic} synthetic rows "
                f"({len(self.baseline)} baseline rows x {samples} samples each), more than the limit "
                f"of {self.max_synthetic_rows}; "
                "send fewer records, or use a smaller NumberOfSamples or baseline"
            )
        rows, baseline = feature_matrix([records[i] for i in selected], self.baseline)
        with self._client(kind, _synthetic_accept(accept, kind), custom, target) as client:
            result = kernel_shap(
                rows,
                baseline,
                client.predict_scores,
                num_samples=shap.NumberOfSamples,
                seed=shap.Seed,
                use_logit=shap.UseLogit,
            )
        headers = self.settings.inference.FeatureHeaders
        per_record: list[Any] = [None] * len(records)
        for pos, rid in enumerate(selected):
            features = []
            for j in range(self.n_features):
                entry: dict[str, Any] = {}
                if headers is not None:
                    entry["feature_header"] = headers[j]
                entry["attributions"] = [{"attribution": [float(v) for v in result.local[pos, j, :]]}]
                features.append(entry)
            per_record[rid] = features
        return {"kernel_shap": per_record}

    def _text_explanations(
        self,
        records: list[list[Any]],
        selected: list[int],
        n_records: int,
        kind: str,
        accept: str | None,
        custom: str | None,
        target: str | None,
    ) -> dict[str, Any]:
        """NLP: text units are the players (:func:`analyzer.explain.text.explain_text`)."""
        from analyzer.explain.text.engine import TextShapSpec, explain_text

        shap = self.settings.shap
        text_config = shap.TextConfig
        assert text_config is not None and self.feature_types is not None
        keep = set(self.text_columns)

        def cells(row: Sequence[Any]) -> list[Any]:
            return [v if j in keep or not isinstance(v, str) or _number(v) is None else _number(v)
                    for j, v in enumerate(row)]

        rows = np.empty((len(records), self.n_features), dtype=object)
        for i, r in enumerate(records):
            rows[i, :] = cells(r)
        baseline = np.empty((len(self.baseline), self.n_features), dtype=object)
        for i, r in enumerate(self.baseline):
            baseline[i, :] = cells(r)
        spec = TextShapSpec(
            granularity=text_config.Granularity,
            language=text_config.Language,
            text_columns=self.text_columns,
            num_samples=shap.NumberOfSamples,
            seed=shap.Seed,
            use_logit=shap.UseLogit,
        )
        synthetic_accept = _synthetic_accept(accept, kind)
        with self._client(kind, synthetic_accept, custom, target) as client, self._text_lock:
            try:
                result = explain_text(rows, baseline, client.predict_scores, spec, segmenter=self._segmenter)
            except ConfigError as exc:
                raise ExplainerRequestError(str(exc)) from None
        headers = self.settings.inference.FeatureHeaders
        text_pos = {col: i for i, col in enumerate(result.text_columns)}
        feat_pos = {col: i for i, col in enumerate(result.feature_columns)}
        per_record: list[Any] = [None] * n_records
        for rec, rid in zip(result.records, selected, strict=True):
            features = []
            for j in range(self.n_features):
                entry: dict[str, Any] = {}
                if headers is not None:
                    entry["feature_header"] = headers[j]
                entry["feature_type"] = self.feature_types[j]
                if j in text_pos:
                    i = text_pos[j]
                    entry["attributions"] = [
                        {
                            "attribution": [float(v) for v in values],
                            "description": {"partial_text": unit.text, "start_idx": unit.start_idx},
                        }
                        for unit, values in zip(rec.units[i], rec.text_values[i], strict=True)
                    ]
                else:
                    values = rec.feature_values[feat_pos[j]]
                    entry["attributions"] = [{"attribution": [float(v) for v in values]}]
                features.append(entry)
            per_record[rid] = features
        return {"kernel_shap": per_record}
