"""analysis.json writer: byte-compatible with the real container, atomic."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from analyzer.output import (
    atomic_open,
    atomic_write_text,
    dumps_analysis,
    order_sections,
    to_json_compatible,
    write_analysis,
)

REAL_OUTPUTS = [
    "real_fraud_detection__bias_1__pre_and_post__no_group_variable__analysis.json",
    "real_fraud_detection__bias_2__pre_and_post__no_group_variable__analysis.json",
    "real_adult_xgboost__pre_and_post_training_bias__from_container_log__analysis.json",
    "real_adult_xgboost__kernel_shap__from_container_log__analysis.json",
    "real_fraud_detection__kernel_shap__analysis.json",
]


@pytest.mark.parametrize("name", REAL_OUTPUTS)
def test_writer_reproduces_real_analysis_json_byte_for_byte(
    clarify_examples: Path, tmp_path: Path, name: str
):
    original = (clarify_examples / "analysis_json" / name).read_bytes()
    written = write_analysis(tmp_path, json.loads(original))
    assert written.name == "analysis.json"
    assert written.read_bytes() == original


def test_golden_fraud_bias_1_from_shuffled_sections(clarify_examples: Path):
    original = (clarify_examples / "analysis_json" / REAL_OUTPUTS[0]).read_text()
    parsed = json.loads(original)
    # Sections handed over in a different order still come out in Clarify's order.
    shuffled = {k: parsed[k] for k in reversed(list(parsed))}
    assert list(shuffled)[0] != "version"
    assert dumps_analysis(shuffled) == original
    assert not original.endswith("\n")


def test_infinities_numpy_and_nan():
    data = {
        "version": "1.0",
        "pre_training_bias_metrics": {
            "x": [np.float64(np.inf), -np.inf, np.int64(3), np.float32(0.5), np.nan]
        },
    }
    assert to_json_compatible(data)["pre_training_bias_metrics"]["x"] == [
        "Infinity",
        "-Infinity",
        3,
        0.5,
        None,
    ]
    text = dumps_analysis(data)
    assert '"Infinity"' in text and '"-Infinity"' in text
    json.loads(text)  # strict JSON


def test_section_order():
    ordered = order_sections(
        {"explanations": 1, "pre_training_bias_metrics": 2, "post_training_bias_metrics": 3}
    )
    assert list(ordered) == [
        "version",
        "post_training_bias_metrics",
        "pre_training_bias_metrics",
        "explanations",
    ]


def test_full_precision_floats():
    value = -0.017711586081682884
    assert str(value) in dumps_analysis({"explanations": {"v": value}})


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "analysis.json"
    atomic_write_text(target, "old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["analysis.json"]


def test_atomic_files_get_ordinary_permissions(tmp_path: Path):
    """mkstemp makes 0600 files; published outputs get 0666 less the umask, like open()."""
    umask = os.umask(0)
    os.umask(umask)
    analysis = write_analysis(tmp_path, {"version": "1.0"})
    with atomic_open(tmp_path / "out.csv", "w", newline="") as f:
        f.write("a\n1\n")
    for path in (analysis, tmp_path / "out.csv"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "out.csv").read_text() == "a\n1\n"


def test_atomic_open_leaves_nothing_when_the_writer_fails(tmp_path: Path):
    with pytest.raises(RuntimeError):
        with atomic_open(tmp_path / "out.csv", "w") as f:
            f.write("partial")
            raise RuntimeError("chart failed")
    assert list(tmp_path.iterdir()) == []
