"""SageMaker data-capture and ground-truth records: parsing, time windows and the merge.

A capture line (``<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``)::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "69,0,153.7\\n", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                        "data": "0.0254", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "2022-02-14T17:25:49Z"},
     "eventVersion": "0"}

A ground-truth line (``yyyy/mm/dd/hh/*.jsonl``, the hour it was labelled)::

    {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "..."},
     "eventVersion": "0"}

The merge joins them on the capture's ``inferenceId`` when it has one, else on its ``eventId``
(Model Monitor's rule); the ground truth's ``eventMetadata.eventId`` holds that key.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.errors import DatasetError

__all__ = [
    "CapturedEvent",
    "GroundTruthEvent",
    "MergeResult",
    "TimeWindow",
    "decode_payload",
    "hour_of_path",
    "merge_events",
    "parse_capture_line",
    "parse_duration",
    "parse_ground_truth_line",
    "parse_time",
]


@dataclass(frozen=True)
class Payload:
    """One side of a capture (``endpointInput``/``endpointOutput``) or a ground truth, decoded."""

    content_type: str
    text: str


@dataclass(frozen=True)
class CapturedEvent:
    """One captured request/response pair. ``key`` is ``inferenceId`` if present, else ``eventId``."""

    key: str
    event_id: str | None
    inference_id: str | None
    inference_time: datetime | None
    input: Payload | None
    output: Payload | None
    source: str


@dataclass(frozen=True)
class GroundTruthEvent:
    """One ground-truth record: the merge key (its ``eventId``) and the label data."""

    key: str
    data: Payload
    source: str


@dataclass
class MergeResult:
    """The captured events that have ground truth, paired, and what was left out (counted)."""

    pairs: list[tuple[CapturedEvent, GroundTruthEvent]] = field(default_factory=list)
    captured: int = 0
    ground_truth: int = 0
    missing_ground_truth: int = 0
    unmatched_ground_truth: int = 0
    duplicate_captures: int = 0
    duplicate_ground_truth: int = 0

    def summary(self) -> str:
        """One log line with every count."""
        return (
            f"Merged {len(self.pairs)} captured records with ground truth: {self.captured} captured, "
            f"{self.ground_truth} ground-truth records; {self.missing_ground_truth} captured without "
            f"ground truth, {self.unmatched_ground_truth} ground truth without a captured record, "
            f"{self.duplicate_captures} duplicate captured, {self.duplicate_ground_truth} duplicate "
            "ground truth (the last one read wins)"
        )


_ENCODINGS = ("CSV", "JSON", "BASE64")


def decode_payload(raw: Any, where: str) -> Payload:
    """Decode ``{"observedContentType", "data", "encoding"}``: CSV/JSON text as is, BASE64 decoded."""
    if not isinstance(raw, dict):
        raise DatasetError(f"{where} must be an object with 'data' and 'encoding', got {type(raw).__name__}")
    data = raw.get("data")
    if not isinstance(data, str):
        raise DatasetError(f"{where}.data must be a string")
    encoding = str(raw.get("encoding") or "CSV").upper()
    if encoding not in _ENCODINGS:
        raise DatasetError(f"{where}.encoding is {encoding!r}; expected one of {', '.join(_ENCODINGS)}")
    content_type = str(raw.get("observedContentType") or "")
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise DatasetError(f"{where}.data is not base64-encoded UTF-8 text: {exc}") from exc
    if not content_type:
        content_type = "application/json" if encoding == "JSON" else "text/csv"
    return Payload(content_type.split(";")[0].strip().lower(), data)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (``2019-12-01T15:20:00Z``, spaces tolerated) as an aware UTC datetime."""
    cleaned = re.sub(r"\s+", "", text).replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise DatasetError(f"Not an ISO 8601 time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_DURATION = re.compile(
    r"^(?P<sign>[-+])?P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 offset as Model Monitor writes them (``-PT1H``, ``-P1D``, ``-PT30M``)."""
    match = _DURATION.match(text.strip().upper())
    if match is None or text.strip().upper().rstrip("T") in ("P", "-P", "+P"):
        raise DatasetError(f"Not an ISO 8601 duration (e.g. -PT1H): {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if k != "sign" and v}
    delta = timedelta(
        days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
    )
    return -delta if match.group("sign") == "-" else delta


@dataclass(frozen=True)
class TimeWindow:
    """``[start, end)`` in UTC; ``None`` on a side means unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` is inside the window."""
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)

    def overlaps_hour(self, hour: datetime) -> bool:
        """Whether the hour ``[hour, hour + 1h)`` meets the window."""
        return (self.start is None or hour + timedelta(hours=1) > self.start) and (
            self.end is None or hour < self.end
        )

    @classmethod
    def from_settings(
        cls,
        start_time: str | None,
        end_time: str | None,
        start_offset: str | None = None,
        end_offset: str | None = None,
    ) -> TimeWindow:
        """``[start_time + start_offset, end_time + end_offset)`` (offsets like ``-PT1H``)."""
        start = parse_time(start_time) if start_time else None
        end = parse_time(end_time) if end_time else None
        if start_offset:
            base = end if (start is None and end is not None) else start
            if base is None:
                raise DatasetError("A start offset needs a start or end time")
            start = base + parse_duration(start_offset)
        if end_offset:
            base = end if end is not None else start
            if base is None:
                raise DatasetError("An end offset needs an end or start time")
            end = base + parse_duration(end_offset)
        return cls(start, end)


_HOUR_PATH = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})(?:/|$)")


def hour_of_path(path: str) -> datetime | None:
    """The ``yyyy/mm/dd/hh`` hour of a capture or ground-truth file path (the last one), or ``None``."""
    found = _HOUR_PATH.findall(path.replace("\\", "/"))
    if not found:
        return None
    y, mo, d, h = (int(x) for x in found[-1])
    try:
        return datetime(y, mo, d, h, tzinfo=UTC)
    except ValueError:
        return None


def _object(line: str, where: str) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise DatasetError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise DatasetError(f"{where} must be a JSON object")
    return obj


def _metadata_id(meta: dict[str, Any], name: str) -> str | None:
    value = meta.get(name)
    return str(value) if value not in (None, "") else None


def parse_capture_line(line: str, where: str) -> CapturedEvent:
    """One data-capture line (``where`` names the file and line in errors)."""
    obj = _object(line, where)
    capture = obj.get("captureData")
    if not isinstance(capture, dict):
        raise DatasetError(f"{where} has no captureData object (is this a data-capture file?)")
    meta = obj.get("eventMetadata") or {}
    if not isinstance(meta, dict):
        raise DatasetError(f"{where}: eventMetadata must be an object")
    event_id = _metadata_id(meta, "eventId")
    inference_id = _metadata_id(meta, "inferenceId")
    key = inference_id or event_id
    if key is None:
        raise DatasetError(f"{where}: eventMetadata has neither inferenceId nor eventId")
    time_text = meta.get("inferenceTime")
    inference_time = parse_time(str(time_text)) if time_text else None
    inp = capture.get("endpointInput")
    out = capture.get("endpointOutput")
    return CapturedEvent(
        key=key,
        event_id=event_id,
        inference_id=inference_id,
        inference_time=inference_time,
        input=decode_payload(inp, f"{where}: captureData.endpointInput") if inp is not None else None,
        output=decode_payload(out, f"{where}: captureData.endpointOutput") if out is not None else None,
        source=where,
    )


def parse_ground_truth_line(line: str, where: str) -> GroundTruthEvent:
    """One ground-truth line: ``groundTruthData`` and ``eventMetadata.eventId``."""
    obj = _object(line, where)
    data = obj.get("groundTruthData")
    if data is None:
        raise DatasetError(f"{where} has no groundTruthData object (is this a ground-truth file?)")
    meta = obj.get("eventMetadata") or {}
    key = _metadata_id(meta, "eventId") if isinstance(meta, dict) else None
    key = key or (_metadata_id(meta, "inferenceId") if isinstance(meta, dict) else None)
    if key is None:
        raise DatasetError(f"{where}: eventMetadata.eventId is missing")
    return GroundTruthEvent(key, decode_payload(data, f"{where}: groundTruthData"), where)


def merge_events(captured: Iterable[CapturedEvent], truths: Iterable[GroundTruthEvent]) -> MergeResult:
    """Join captured events with ground truth on the capture's key, in capture order.

    A key captured twice is kept once (the first: SageMaker retries can capture an event twice);
    a key labelled twice keeps the last ground truth read (files are read in hour order, so a
    later correction wins). Every count is in the result (:meth:`MergeResult.summary`).
    """
    result = MergeResult()
    labels: dict[str, GroundTruthEvent] = {}
    for record in truths:
        result.ground_truth += 1
        if record.key in labels:
            result.duplicate_ground_truth += 1
        labels[record.key] = record
    seen: set[str] = set()
    for event in captured:
        result.captured += 1
        if event.key in seen:
            result.duplicate_captures += 1
            continue
        seen.add(event.key)
        truth: GroundTruthEvent | None = labels.get(event.key)
        if truth is None and event.event_id is not None and event.inference_id is not None:
            truth = labels.get(event.event_id)  # ground truth keyed by eventId although inferenceId set
            if truth is not None:
                seen.add(event.event_id)
        if truth is None:
            result.missing_ground_truth += 1
            continue
        result.pairs.append((event, truth))
    used = {t.key for _, t in result.pairs}
    result.unmatched_ground_truth = sum(1 for k in labels if k not in used)
    return result
