"""Prediction → response body (pure functions, no I/O).

What is returned is chosen by ``SAGEMAKER_INFERENCE_OUTPUT`` (the XGBoost container's
selectable-inference keys, comma-separated, in output order): ``predicted_label``,
``labels``, ``probability``, ``probabilities``, ``raw_score``, ``raw_scores``,
``predicted_score``. Without it, XGBoost and LightGBM models answer as SageMaker's XGBoost
container and built-in LightGBM algorithm do (one number per record for binary objectives,
P(1) for ``binary:logistic``; every class probability for multi-class probabilities; see
``Prediction.default_keys``); a scikit-learn classifier returns every class probability
(``p0,p1`` for a binary model, so Clarify's ``probability: 1`` selects the positive class),
a classifier without ``predict_proba`` its label, and a regressor its score.

Encodings (one response row per request record, always):

* ``text/csv`` — one line per record. A single selected key is written flat
  (``0.2,0.8``); with several keys, list values are one quoted cell each, as the XGBoost
  container does (``1,0.8,"[0.2, 0.8]"``).
* ``application/json`` — default: a JSON list with one entry per record (a list of
  probabilities, or a scalar); with ``SAGEMAKER_INFERENCE_OUTPUT``:
  ``{"predictions": [{key: value, ...}, ...]}``.
* ``application/jsonlines`` — the same entries, one JSON value per line.
* ``application/x-npy`` — ``numpy.save`` of a 2-D float64 array ``(n_records, n_outputs)``
  (the selected numeric values side by side).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from clarify_common.numeric_csv import write_csv_table
from local_endpoint.decode import CSV, JSON, JSONLINES, NPY
from local_endpoint.errors import ModelFailure, NotAcceptable
from local_endpoint.models import Prediction

OUTPUT_ENV = "SAGEMAKER_INFERENCE_OUTPUT"
OUTPUT_KEYS = (
    "predicted_label",
    "labels",
    "probability",
    "probabilities",
    "raw_score",
    "raw_scores",
    "predicted_score",
)
ACCEPTS = (CSV, JSON, JSONLINES, NPY)


def parse_output_keys(value: str | None) -> tuple[str, ...] | None:
    """Parse a ``SAGEMAKER_INFERENCE_OUTPUT`` value; ``None`` when unset (the default output)."""
    if value is None or not value.strip():
        return None
    keys = tuple(k.strip().lower() for k in value.split(",") if k.strip())
    bad = [k for k in keys if k not in OUTPUT_KEYS]
    if bad:
        raise ValueError(f"{OUTPUT_ENV}: unknown key(s) {', '.join(bad)}; allowed: {', '.join(OUTPUT_KEYS)}")
    return keys


def _positive_or_max(pred: Prediction) -> np.ndarray:
    proba = pred.probabilities
    assert proba is not None
    return proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)


def select(pred: Prediction, keys: Sequence[str] | None) -> list[tuple[str, np.ndarray]]:
    """The selected outputs as ``(key, values)``; values are ``(n,)`` or ``(n, k)`` arrays.

    Without ``keys``: the flavour's first-party default (``pred.default_keys``), else every
    class probability, else the label, else the score.
    """
    if keys is None:
        keys = pred.default_keys
    if keys is None:
        if pred.probabilities is not None:
            keys = ("probabilities",)
        elif pred.predicted_label is not None:
            keys = ("predicted_label",)
        else:
            keys = ("predicted_score",)
    out: list[tuple[str, np.ndarray]] = []
    for key in keys:
        value: np.ndarray | None
        if key == "predicted_label":
            value = pred.predicted_label
        elif key == "labels":
            value = None if pred.labels is None else np.tile(pred.labels, (pred.n, 1))
        elif key in ("probabilities", "raw_scores"):
            value = pred.probabilities
        elif key in ("probability", "raw_score"):
            value = None if pred.probabilities is None else _positive_or_max(pred)
        else:  # predicted_score
            value = (
                pred.score
                if pred.score is not None
                else (None if pred.probabilities is None else _positive_or_max(pred))
            )
        if value is None:
            raise ModelFailure(f"{OUTPUT_ENV} asks for {key!r}, which this model does not produce")
        if len(value) != pred.n:
            raise ModelFailure(f"the model returned {len(value)} rows for {pred.n} records")
        out.append((key, value))
    return out


def _jsonable(value: np.ndarray) -> list:
    return value.tolist()


def _csv_flat(columns: list[np.ndarray]) -> bytes:
    arrays = []
    for col in columns:
        if col.ndim == 1:
            arrays.append(pa.array(col))
        else:
            arrays.extend(pa.array(col[:, j]) for j in range(col.shape[1]))
    table = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
    return write_csv_table(table)


def _csv_cell(value: object) -> str:
    if isinstance(value, list):
        return '"' + json.dumps(value).replace('"', '""') + '"'
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value
    return repr(value) if isinstance(value, float) else str(value)


def encode(selected: list[tuple[str, np.ndarray]], accept: str, explicit: bool) -> bytes:
    """Encode selected outputs as ``accept``; ``explicit`` is True when the keys came from the env."""
    if accept == NPY:
        cols = [v.reshape(len(v), -1) for _, v in selected]
        try:
            matrix = np.hstack(cols).astype(np.float64)
        except (ValueError, TypeError):
            raise NotAcceptable("application/x-npy can only carry numeric outputs") from None
        sink = io.BytesIO()
        np.save(sink, matrix, allow_pickle=False)
        return sink.getvalue()
    if accept == CSV:
        if len(selected) == 1 or all(v.ndim == 1 for _, v in selected):
            return _csv_flat([v for _, v in selected])
        lists = [_jsonable(v) for _, v in selected]
        lines = [",".join(_csv_cell(c) for c in row) for row in zip(*lists)]
        return ("\n".join(lines) + "\n").encode()
    if explicit:
        names = [k for k, _ in selected]
        lists = [_jsonable(v) for _, v in selected]
        entries: list = [dict(zip(names, row)) for row in zip(*lists)]
    else:
        entries = _jsonable(selected[0][1])
    if accept == JSON:
        doc = {"predictions": entries} if explicit else entries
        return json.dumps(doc).encode()
    if accept == JSONLINES:
        return ("\n".join(json.dumps(e) for e in entries) + "\n").encode()
    raise NotAcceptable(f"unsupported Accept {accept!r}; supported: {', '.join(ACCEPTS)}")


def choose_accept(accept_header: str | None, content_type: str, default: str | None) -> str:
    """Pick the response type: the first supported entry of ``Accept``.

    A missing or ``*/*`` Accept gives ``default`` (``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``)
    or else the request's own content type, when that can be produced.
    """
    fallback = default or (content_type if content_type in ACCEPTS else CSV)
    if not accept_header:
        return fallback
    for part in accept_header.split(","):
        kind = part.split(";", 1)[0].strip().lower()
        if kind in ("*/*", "", "application/*", "text/*"):
            return fallback
        if kind in ("application/json-lines", "application/x-jsonlines"):
            return JSONLINES
        if kind in ACCEPTS:
            return kind
    raise NotAcceptable(f"unsupported Accept {accept_header!r}; supported: {', '.join(ACCEPTS)}")
