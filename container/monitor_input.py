"""Read a monitoring window: data-capture and ground-truth JSON Lines from a folder or S3 prefix.

Capture files sit under ``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` and ground truth under
``<prefix>/yyyy/mm/dd/hh/``. Only files whose hour meets the window are read; events with an
``inferenceTime`` outside the window are dropped ("we sometimes download more than what is
specified by the start and end times", the Model Monitor contract). Ground truth is read from
the window's start onwards with no end: labels arrive late, in the hour they were labelled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from analyzer.errors import DatasetError
from analyzer.monitor.capture import (
    CapturedEvent,
    GroundTruthEvent,
    TimeWindow,
    hour_of_path,
    parse_capture_line,
    parse_ground_truth_line,
)
from analyzer.storage import list_files, read_bytes

logger = logging.getLogger(__name__)

__all__ = ["WindowFiles", "read_captured", "read_ground_truth"]


@dataclass
class WindowFiles:
    """How many files were read and skipped (outside the window)."""

    read: int = 0
    skipped: int = 0


def _window_files(uri: str, window: TimeWindow, stats: WindowFiles) -> list[str]:
    files = []
    for path in list_files(uri):
        if not path.endswith((".jsonl", ".json", ".jsonl.gz")) and "." in path.rsplit("/", 1)[-1]:
            stats.skipped += 1
            continue
        hour = hour_of_path(path)
        if hour is not None and not window.overlaps_hour(hour):
            stats.skipped += 1
            continue
        files.append(path)
    stats.read += len(files)
    return files


def _lines(path: str) -> list[tuple[int, str]]:
    raw = read_bytes(path)
    if path.endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not UTF-8 text: {exc}") from exc
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_captured(uri: str, window: TimeWindow) -> list[CapturedEvent]:
    """Every captured event in ``window`` under ``uri``, in file (so time) order."""
    stats = WindowFiles()
    events: list[CapturedEvent] = []
    outside = 0
    for path in _window_files(uri, window, stats):
        for n, line in _lines(path):
            event = parse_capture_line(line, f"{path} line {n}")
            if event.inference_time is not None and not window.contains(event.inference_time):
                outside += 1
                continue
            events.append(event)
    logger.info(
        "Captured data: %d records from %d files under %s "
        "(%d files and %d records outside the window skipped)",
        len(events),
        stats.read,
        uri,
        stats.skipped,
        outside,
    )
    return events


def read_ground_truth(uri: str, window: TimeWindow) -> list[GroundTruthEvent]:
    """Every ground-truth record under ``uri`` labelled from the window's start on, in hour order."""
    stats = WindowFiles()
    open_ended = TimeWindow(window.start, None)
    events = [
        parse_ground_truth_line(line, f"{path} line {n}")
        for path in _window_files(uri, open_ended, stats)
        for n, line in _lines(path)
    ]
    logger.info(
        "Ground truth: %d records from %d files under %s (%d files before the window skipped)",
        len(events),
        stats.read,
        uri,
        stats.skipped,
    )
    return events
