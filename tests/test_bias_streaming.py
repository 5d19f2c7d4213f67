"""Chunked CSV path and mergeable counts: same numbers as the in-memory engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _bias_helpers import diff_reports
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.bias import FacetSpec, GroupCounts, bias_section
from analyzer.bias.streaming import stream_bias_section
from analyzer.errors import DatasetError

FACETS = [
    FacetSpec("gender", ["female"]),
    FacetSpec("race", None),
    FacetSpec("age", [40]),
    FacetSpec("race", ["B", "C"]),
]


def _without_ft(reports: list[dict]) -> list[dict]:
    return [{**r, "metrics": [m for m in r["metrics"] if m["name"] != "FT"]} for r in reports]


@pytest.mark.parametrize("stage", ["pre_training", "post_training"])
def test_stream_equals_in_memory(clarify_examples, stage):
    csv = clarify_examples / "smclarify_dataset_1000.csv"
    frame = pd.read_csv(csv)
    for label, values, pred in (("label", [1], "pred"), ("risk", [50], "risk_pred")):
        kwargs = dict(
            stage=stage,
            label=label,
            label_values_or_threshold=values,
            facets=FACETS[:3],
            methods=["all"],
            predicted_label=pred if stage == "post_training" else None,
            group_variable="dept",
        )
        expected = bias_section(frame, **kwargs)
        got = stream_bias_section(csv, block_size=4096, **kwargs)  # ~10 chunks
        assert got["label_value_or_threshold"] == expected["label_value_or_threshold"]
        assert list(got["facets"]) == list(expected["facets"])
        for name in expected["facets"]:
            assert not diff_reports(_without_ft(expected["facets"][name]), _without_ft(got["facets"][name]))
        if stage == "post_training":
            ft = [m for r in got["facets"]["gender"] for m in r["metrics"] if m["name"] == "FT"]
            assert ft and all(m["value"] is None and "streaming" in m["error"] for m in ft)


def test_stream_reports_data_errors(tmp_path):
    csv = tmp_path / "d.csv"
    pd.DataFrame({"x": ["a", "b"] * 50, "y": [0, 1] * 50, "p": [0] * 100}).to_csv(csv, index=False)
    with pytest.raises(DatasetError, match="Facet column z is not present"):
        stream_bias_section(
            csv, stage="pre_training", label="y", label_values_or_threshold=[1], facets=[FacetSpec("z")]
        )
    with pytest.raises(DatasetError, match="Positive Predicted Index Series contains all False values"):
        stream_bias_section(
            csv,
            stage="post_training",
            label="y",
            label_values_or_threshold=[1],
            facets=[FacetSpec("x")],
            predicted_label="p",
        )


def test_group_counts_merge_equals_counts_of_concatenation():
    rng = np.random.default_rng(5)
    keys_all = pd.Index(["p", "q", "r", np.nan], dtype=object)
    strata_all = pd.Index(["s1", "s2", "s3"], dtype=object)

    def counts(n: int, facet_keys: list[int], strata_keys: list[int]) -> tuple[GroupCounts, pd.DataFrame]:
        fk, sk = keys_all[facet_keys], strata_all[strata_keys]
        f = rng.integers(0, len(fk), n)
        s = rng.integers(-1, len(sk), n)
        y, p = rng.integers(0, 2, n).astype(bool), rng.integers(0, 2, n).astype(bool)
        rows = pd.DataFrame(
            {
                "f": np.asarray(fk, dtype=object)[f],
                "s": [sk[i] if i >= 0 else None for i in s],
                "y": y,
                "p": p,
            }
        )
        return GroupCounts.from_codes(f, fk, y, p, s, sk), rows

    a, rows_a = counts(500, [2, 0], [1])
    b, rows_b = counts(300, [3, 0, 1], [2, 0])
    merged = a + b
    rows = pd.concat([rows_a, rows_b])
    for i, key in enumerate(merged.facet_keys):
        for j, stratum in enumerate(list(merged.strata) + [None]):
            sel = rows["f"].isna() if pd.isna(key) else rows["f"] == key
            sel &= rows["s"].isna() if stratum is None else rows["s"] == stratum
            for y in (0, 1):
                for p in (0, 1):
                    expected = int((sel & (rows["y"] == bool(y)) & (rows["p"] == bool(p))).sum())
                    assert merged.counts[i, y, p, j] == expected
    assert list(merged.facet_keys[:2]) == ["r", "p"]  # first-seen order kept
    assert merged.counts.sum() == 800


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(200, 3000), st.sampled_from(["pre_training", "post_training"]))
def test_stream_equals_in_memory_on_random_csv(tmp_path_factory, seed, n, stage):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "cat": rng.choice(["p", "q", "r", ""], n, p=[0.5, 0.3, 0.15, 0.05]),
            "num": rng.uniform(0, 100, n).round(1),
            "small": rng.integers(0, 4, n),
            "y": rng.integers(0, 2, n),
            "yhat": rng.integers(0, 2, n),
            "grp": rng.choice(["u", "v", "w"], n),  # no missing groups: see the streaming docstring
        }
    )
    csv = tmp_path_factory.mktemp("s") / "d.csv"
    frame.to_csv(csv, index=False)
    facets = [
        FacetSpec("cat", None),
        FacetSpec("num", [float(rng.integers(0, 100))]),
        FacetSpec("small", [1, 2]),
    ]
    kwargs = dict(
        stage=stage,
        label="y",
        label_values_or_threshold=[1],
        facets=facets,
        methods=["DPPL", "DI", "TE", "CDDPL", "GE"]
        if stage == "post_training"
        else ["CI", "DPL", "KL", "CDDL"],
        predicted_label="yhat" if stage == "post_training" else None,
        group_variable="grp",
    )
    expected = bias_section(pd.read_csv(csv), **kwargs)
    got = stream_bias_section(csv, block_size=2048, **kwargs)
    assert got["label_value_or_threshold"] == expected["label_value_or_threshold"]
    for name in expected["facets"]:
        assert not diff_reports(expected["facets"][name], got["facets"][name]), name
