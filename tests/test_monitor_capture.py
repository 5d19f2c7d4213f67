"""Data capture and ground truth: parsing, encodings, windows and the merge (issue 20, point 2)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _monitor_helpers import capture_line, ground_truth_line, hour_dir, write_jsonl

from analyzer.errors import DatasetError
from analyzer.monitor.capture import (
    TimeWindow,
    merge_events,
    parse_capture_line,
    parse_duration,
    parse_ground_truth_line,
)
from analyzer.monitor.records import feature_rows, output_values
from container.monitor_input import read_captured, read_ground_truth

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def _cap(event_id: str, inference_id: str | None = None, **kw):  # type: ignore[no-untyped-def]
    return parse_capture_line(
        json.dumps(capture_line([1, 2], "0.7", event_id=event_id, inference_id=inference_id, **kw)), "t"
    )


def _gt(key: str, label: object = "1"):  # type: ignore[no-untyped-def]
    return parse_ground_truth_line(json.dumps(ground_truth_line(key, label)), "g")


@pytest.mark.parametrize("encoding", ["CSV", "BASE64"])
def test_csv_and_base64_captures_decode_to_the_same_rows(encoding: str) -> None:
    event = parse_capture_line(
        json.dumps(capture_line("1,2.5,a\n3,4,b\n", "0.2\n0.9\n", event_id="e", encoding=encoding)), "f"
    )
    assert event.input is not None and event.output is not None
    assert feature_rows(event.input, None, "f") == [["1", "2.5", "a"], ["3", "4", "b"]]
    assert output_values(event.output, None, 2, "f") == ["0.2", "0.9"]
    assert event.output.content_type == "text/csv"  # charset dropped


def test_json_and_jsonlines_captures_use_the_features_attribute() -> None:
    body = json.dumps({"instances": [{"features": [1, 2]}, {"features": [3, 4]}]})
    out = json.dumps({"predictions": [{"score": 0.1}, {"score": 0.8}]})
    event = parse_capture_line(
        json.dumps(
            capture_line(
                body,
                out,
                event_id="e",
                input_type="application/json",
                output_type="application/json",
                encoding="JSON",
            )
        ),
        "f",
    )
    assert event.input is not None and event.output is not None
    assert feature_rows(event.input, "instances[*].features", "f") == [[1, 2], [3, 4]]
    assert output_values(event.output, "predictions[*].score", 2, "f") == [0.1, 0.8]
    lines = parse_capture_line(
        json.dumps(
            capture_line(
                '{"features":[1,2]}\n{"features":[5,6]}',
                '{"predicted_label":1}\n{"predicted_label":0}',
                event_id="e",
                input_type="application/jsonlines",
                output_type="application/jsonlines",
                encoding="JSON",
            )
        ),
        "f",
    )
    assert lines.input is not None and lines.output is not None
    assert feature_rows(lines.input, "features", "f") == [[1, 2], [5, 6]]
    assert output_values(lines.output, "predicted_label", 2, "f") == [1, 0]
    with pytest.raises(DatasetError, match="features attribute 'nope'"):
        feature_rows(lines.input, "nope", "f")


def test_output_value_count_must_match_the_records() -> None:
    event = _cap("e")
    assert event.output is not None
    with pytest.raises(DatasetError, match="1 values for 2 records"):
        output_values(event.output, None, 2, "file.jsonl line 3")


def test_bad_lines_name_the_file_and_line() -> None:
    with pytest.raises(DatasetError, match="f.jsonl line 4 has no captureData"):
        parse_capture_line('{"x": 1}', "f.jsonl line 4")
    with pytest.raises(DatasetError, match="neither inferenceId nor eventId"):
        parse_capture_line(json.dumps({"captureData": {}, "eventMetadata": {}}), "f")
    with pytest.raises(DatasetError, match="not base64"):
        parse_capture_line(
            json.dumps(
                capture_line("x", "y", event_id="e")
                | {"captureData": {"endpointInput": {"data": "%%%", "encoding": "BASE64"}}}
            ),
            "f",
        )


def test_merge_prefers_inference_id_and_falls_back_to_event_id() -> None:
    caps = [_cap("e1", "inf-1"), _cap("e2"), _cap("e3", "inf-3")]
    truths = [_gt("inf-1", "1"), _gt("e2", "0"), _gt("e3", "1")]  # e3's label keyed by its eventId
    merged = merge_events(caps, truths)
    assert [(c.key, g.data.text) for c, g in merged.pairs] == [("inf-1", "1"), ("e2", "0"), ("inf-3", "1")]
    assert merged.missing_ground_truth == merged.unmatched_ground_truth == 0


def test_merge_counts_missing_duplicate_and_unmatched_records() -> None:
    caps = [_cap("a"), _cap("b"), _cap("a"), _cap("c")]
    truths = [_gt("a", "0"), _gt("a", "1"), _gt("c", "1"), _gt("zzz", "1")]
    merged = merge_events(caps, truths)
    assert [(c.key, g.data.text) for c, g in merged.pairs] == [("a", "1"), ("c", "1")]  # last label wins
    assert (
        merged.captured,
        merged.ground_truth,
        merged.missing_ground_truth,
        merged.unmatched_ground_truth,
        merged.duplicate_captures,
        merged.duplicate_ground_truth,
    ) == (4, 4, 1, 1, 1, 1)
    assert "2 captured records with ground truth" in merged.summary()


def test_durations_and_windows() -> None:
    assert parse_duration("-PT1H") == timedelta(hours=-1)
    assert parse_duration("-P1DT30M") == -timedelta(days=1, minutes=30)
    assert parse_duration("PT90S") == timedelta(seconds=90)
    with pytest.raises(DatasetError, match="ISO 8601 duration"):
        parse_duration("1 hour")
    w = TimeWindow.from_settings("2024-03-01T12:00:00Z", "2024-03-01T13:00:00Z", "-PT2H", "-PT2H")
    assert (w.start, w.end) == (T0, T0 + timedelta(hours=1))
    assert w.contains(T0) and not w.contains(T0 + timedelta(hours=1))
    assert TimeWindow.from_settings("2019-12-01T15: 20: 00Z", None).start == datetime(
        2019, 12, 1, 15, 20, tzinfo=UTC
    )


def test_read_window_from_folders_with_late_ground_truth(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cap_root, gt_root = tmp_path / "capture", tmp_path / "gt"
    before, inside, after = (
        T0 - timedelta(hours=1),
        T0 + timedelta(minutes=5),
        T0 + timedelta(hours=1, minutes=1),
    )
    for when, ids in ((before, ["old"]), (inside, ["x1", "x2", "x3"]), (after, ["new"])):
        write_jsonl(
            hour_dir(cap_root, when, "ep", "AllTraffic") / "05-00-000-uuid.jsonl",
            [capture_line([1, 2], "0.5", event_id=i, time=when) for i in ids],
        )
    # an event logged in the window's hour folder but timed outside it is dropped too
    write_jsonl(
        hour_dir(cap_root, inside, "ep", "AllTraffic") / "59-00-000-uuid.jsonl",
        [capture_line([1, 2], "0.5", event_id="edge", time=T0 - timedelta(seconds=1))],
    )
    write_jsonl(
        hour_dir(gt_root, inside) / "gt1.jsonl", [ground_truth_line("x1", "1"), ground_truth_line("old", "0")]
    )
    # x2 is labelled three hours late, x3 never
    write_jsonl(hour_dir(gt_root, T0 + timedelta(hours=3)) / "gt2.jsonl", [ground_truth_line("x2", "0")])
    write_jsonl(hour_dir(gt_root, before) / "gt0.jsonl", [ground_truth_line("x3", "1")])  # before the window
    window = TimeWindow(T0, T0 + timedelta(hours=1))
    with caplog.at_level(logging.INFO):
        caps = read_captured(str(cap_root), window)
        truths = read_ground_truth(str(gt_root), window)
    assert [c.key for c in caps] == ["x1", "x2", "x3"]
    merged = merge_events(caps, truths)
    assert [(c.key, g.data.text) for c, g in merged.pairs] == [("x1", "1"), ("x2", "0")]
    assert (merged.missing_ground_truth, merged.unmatched_ground_truth) == (1, 1)
    assert "3 records from 2 files" in caplog.text and "1 records outside the window" in caplog.text
    assert "Ground truth: 3 records from 2 files" in caplog.text  # gt1 and the late gt2
