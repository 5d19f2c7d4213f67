"""The ``forecaster`` flavour: a scikit-learn regressor over lags that answers DeepAR-style JSON.

A model folder holding ``forecaster.json`` is served as a forecasting model::

    {"format": "clarify-runner-lag-forecaster", "version": 1, "regressor": "regressor.skops",
     "horizon": 10, "target_lags": 3, "related_past": 3, "related_future": 6,
     "n_related": 2, "n_static": 0}

``regressor`` is a skops file (the same trust rules as the ``skops`` flavour) holding any
multi-output regressor that maps :func:`window_features` to the ``horizon`` future values
minus the last observed target value.

Requests (``application/json``): DeepAR's instance format, ``{"instances": [instance, ...]}``
(answered ``{"predictions": [{"mean": [...]}, ...]}``), ``{"instances": instance}`` (answered
``{"predictions": {"mean": [...]}}``, the BYOM example's shape), a bare list or a bare
instance. An instance is ``{"start": .., "target": [..], "dynamic_feat": [[..], ..],
"cat": [..]}``; ``null`` marks a missing value. ``application/jsonlines``: one instance per
line, answered ``{"mean": [...]}`` per line.

Features of one instance (shared by training and serving): the last ``target_lags`` target
values minus the last observed value, that level itself, each related series from
``related_past`` steps before the forecast start to ``related_future`` steps after it, and
the static covariates. Missing values are filled with the window's mean (0 if none).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from local_endpoint.errors import BadRequest, ModelFailure, NotAcceptable, UnsupportedMediaType
from local_endpoint.models import LoadedModel, ModelLoadError

__all__ = ["METADATA_FILE", "LagForecaster", "infer_forecast", "load_forecaster", "save_forecaster"]

METADATA_FILE = "forecaster.json"
FORMAT = "clarify-runner-lag-forecaster"
JSON = "application/json"
JSONLINES = "application/jsonlines"
_SHAPE_KEYS = ("horizon", "target_lags", "related_past", "related_future", "n_related", "n_static")


@dataclass(frozen=True)
class Instance:
    """One decoded request instance."""

    target: np.ndarray
    related: tuple[np.ndarray, ...]
    static: tuple[float, ...]


def _filled(window: np.ndarray) -> np.ndarray:
    missing = np.isnan(window)
    if missing.any():
        window = window.copy()
        window[missing] = 0.0 if missing.all() else float(np.nanmean(window))
    return window


def _window(series: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``series[start:stop]`` with NaN outside the series."""
    out = np.full(stop - start, np.nan)
    lo, hi = max(start, 0), min(stop, len(series))
    if hi > lo:
        out[lo - start : hi - start] = series[lo:hi]
    return out


@dataclass(frozen=True)
class LagForecaster:
    """A direct multi-horizon forecaster: ``regressor`` predicts every step from one feature row."""

    regressor: Any
    horizon: int
    target_lags: int
    related_past: int
    related_future: int
    n_related: int
    n_static: int

    def level(self, target: np.ndarray) -> float:
        """The last observed target value (0 when there is none)."""
        present = np.flatnonzero(~np.isnan(target))
        return float(target[present[-1]]) if len(present) else 0.0

    def window_features(self, inst: Instance) -> np.ndarray:
        """The feature row of one instance (see the module docstring)."""
        t = len(inst.target)
        level = self.level(inst.target)
        lags = _filled(_window(inst.target, t - self.target_lags, t)) - level
        parts = [lags, [level]]
        for series in inst.related:
            parts.append(_filled(_window(series, t - self.related_past, t + self.related_future)))
        parts.append(np.asarray(inst.static, dtype=np.float64))
        return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])

    def forecast(self, instances: Sequence[Instance]) -> np.ndarray:
        """``(len(instances), horizon)`` mean forecasts."""
        if not instances:
            return np.empty((0, self.horizon))
        X = np.stack([self.window_features(i) for i in instances])
        levels = np.array([self.level(i.target) for i in instances])
        out = np.asarray(self.regressor.predict(X), dtype=np.float64).reshape(len(instances), -1)
        return out + levels[:, None]


# ------------------------------------------------------------------------------- decoding


def _numbers(value: Any, what: str) -> np.ndarray:
    if not isinstance(value, list):
        raise BadRequest(f"{what} must be a list of numbers, got {json.dumps(value)[:60]}")
    out = np.empty(len(value))
    for k, v in enumerate(value):
        if v is None or (isinstance(v, str) and v.lower() == "nan"):
            out[k] = math.nan
        elif isinstance(v, bool) or not isinstance(v, int | float):
            raise BadRequest(f"{what}[{k}] must be a number or null, got {json.dumps(v)[:40]}")
        else:
            out[k] = float(v)
    return out


def _instance(doc: Any, i: int, model: LagForecaster) -> Instance:
    where = f"instance {i}"
    if not isinstance(doc, dict):
        raise BadRequest(f"{where} must be an object with a 'target' list, got {json.dumps(doc)[:60]}")
    if "target" not in doc:
        raise BadRequest(f"{where} has no 'target'")
    target = _numbers(doc["target"], f"{where}.target")
    related_doc = doc.get("dynamic_feat", [])
    if not isinstance(related_doc, list) or len(related_doc) != model.n_related:
        raise BadRequest(f"{where}.dynamic_feat must hold {model.n_related} series for this model")
    related = tuple(_numbers(s, f"{where}.dynamic_feat[{r}]") for r, s in enumerate(related_doc))
    static_doc = doc.get("cat", [])
    if not isinstance(static_doc, list) or len(static_doc) != model.n_static:
        raise BadRequest(f"{where}.cat must hold {model.n_static} values for this model")
    static = _numbers(static_doc, f"{where}.cat")
    if np.isnan(static).any():
        raise BadRequest(f"{where}.cat must not hold nulls")
    return Instance(target, related, tuple(static.tolist()))


def decode_instances(
    body: bytes | bytearray, content_type: str, model: LagForecaster
) -> tuple[list[Instance], bool]:
    """Decode a request into instances; the flag tells a single-instance request (``$record``)."""
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        if content_type == JSONLINES:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
            return [_instance(d, i, model) for i, d in enumerate(docs)], False
        if content_type != JSON:
            raise UnsupportedMediaType(
                f"a forecaster reads {JSON} or {JSONLINES}, not {content_type or 'none'}"
            )
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the request is not valid JSON: {exc}") from None
    if isinstance(doc, dict) and "instances" in doc:
        doc = doc["instances"]
    if isinstance(doc, dict):
        return [_instance(doc, 0, model)], True
    if not isinstance(doc, list):
        raise BadRequest("the request must be {'instances': [...]}, a list of instances, or one instance")
    return [_instance(d, i, model) for i, d in enumerate(doc)], False


def encode_forecasts(forecasts: np.ndarray, single: bool, accept: str) -> bytes:
    """DeepAR-style answer: ``{"predictions": [{"mean": [...]}, ...]}`` (or one object)."""
    rows = [{"mean": row} for row in forecasts.tolist()]
    if accept == JSONLINES:
        return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")
    if accept != JSON:
        raise NotAcceptable(f"a forecaster answers {JSON} or {JSONLINES}, not {accept}")
    return json.dumps({"predictions": rows[0] if single else rows}).encode("utf-8")


def infer_forecast(
    model: LagForecaster,
    body: bytes | bytearray,
    content_type: str,
    accept: str,
    timings: dict[str, float] | None = None,
) -> tuple[bytes, str]:
    """Decode, forecast and encode one request; returns ``(body, content type)``."""
    t0 = time.perf_counter()
    instances, single = decode_instances(body, content_type, model)
    t1 = time.perf_counter()
    try:
        forecasts = model.forecast(instances)
    except Exception as exc:  # noqa: BLE001 - any model failure is reported to the caller
        raise ModelFailure(f"the forecaster raised {type(exc).__name__}: {exc}") from exc
    t2 = time.perf_counter()
    payload = encode_forecasts(forecasts, single, accept)
    if timings is not None:
        timings.update(parse=t1 - t0, predict=t2 - t1, encode=time.perf_counter() - t2)
    return payload, accept


# --------------------------------------------------------------------------- saving/loading


def save_forecaster(model: LagForecaster, folder: str | Path) -> Path:
    """Write ``forecaster.json`` and ``regressor.skops`` into ``folder``; returns the folder."""
    import skops.io as sio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump(model.regressor, folder / "regressor.skops")
    meta = {"format": FORMAT, "version": 1, "regressor": "regressor.skops"}
    meta.update({k: int(getattr(model, k)) for k in _SHAPE_KEYS})
    (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def load_forecaster(path: Path) -> LoadedModel:
    """Load a ``forecaster.json`` folder as a :class:`LoadedModel` of flavour ``forecaster``."""
    from local_endpoint.models import _load_skops

    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelLoadError(f"{path} is not a {FORMAT} description")
    missing = [k for k in (*_SHAPE_KEYS, "regressor") if k not in meta]
    if missing:
        raise ModelLoadError(f"{path} lacks {', '.join(missing)}")
    regressor_path = (path.parent / str(meta["regressor"])).resolve()
    if not regressor_path.is_file() or regressor_path.parent != path.parent.resolve():
        raise ModelLoadError(f"{path}: the regressor file {meta['regressor']!r} is not in {path.parent}")
    regressor = _load_skops(regressor_path).estimator
    model = LagForecaster(regressor, **{k: int(meta[k]) for k in _SHAPE_KEYS})
    return LoadedModel("forecaster", path, None, model)
