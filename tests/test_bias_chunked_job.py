"""Bias-only jobs read their dataset in chunks: same values as the in-memory path."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _bias_helpers import diff_reports
from _model_client_helpers import FakeServer

from analyzer.bias import FacetSpec, bias_section
from analyzer.bias.section import bias_section_chunks
from analyzer.config import load_config
from analyzer.datasets import chunks as chunks_module
from analyzer.datasets.chunks import CsvChunks
from analyzer.datasets.csv_format import read_csv_parts
from analyzer.datasets.loader import dataset_plan, load_planned, stream_planned
from analyzer.endpoint import EndpointHandle
from analyzer.plan.build import build_plan
from analyzer.plan.model import AnalysisPlan
from analyzer.runner import execute_plan
from container.job import plan_job, run_job

N = 3000
POST_WITHOUT_FT = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "GE"]


def _frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=N).round(3),
            "x2": rng.integers(0, 9, N),
            "gender": rng.choice(["female", "male", "other"], N, p=[0.45, 0.45, 0.1]),
            "age": rng.integers(18, 90, N),  # int, > 5% distinct: continuous
            "income": rng.gamma(2.0, 20.0, N).round(2),  # float: continuous
            "race": rng.choice(["A", "B", "C", "D"], N),
            "dept": rng.choice(["d1", "d2", "d3", None], N, p=[0.3, 0.3, 0.3, 0.1]),
            "label": rng.integers(0, 2, N),
            "risk": rng.integers(0, 101, N),
        }
    )
    frame["pred"] = np.where(rng.random(N) < 0.8, frame["label"], 1 - frame["label"])
    frame["risk_pred"] = np.clip(frame["risk"] + rng.integers(-10, 11, N), 0, 100)
    return frame


FACETS = [
    FacetSpec("gender", ["female"]),
    FacetSpec("race", None),  # one report per value
    FacetSpec("race", ["B", "C"]),  # several values
    FacetSpec("age", [40]),  # threshold on an int column
    FacetSpec("income", [50.0]),  # threshold on a float column
]


def _plan_for(csv: Path, config: dict[str, Any]):
    base = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "facet": [{"name_or_index": "gender"}],
        "methods": {"pre_training_bias": {"methods": "all"}},
    }
    cfg = load_config(json.dumps({**base, **config}).encode())
    return dataset_plan(cfg, str(csv))


@pytest.mark.parametrize("stage", ["pre_training", "post_training"])
@pytest.mark.parametrize(("label", "values", "pred"), [("label", [1], "pred"), ("risk", [50], "risk_pred")])
def test_chunks_equal_in_memory(tmp_path: Path, stage: str, label: str, values: list, pred: str) -> None:
    csv = tmp_path / "data.csv"
    _frame().to_csv(csv, index=False)
    plan = _plan_for(csv, {"label": label, "label_values_or_threshold": values})
    frame = load_planned(plan).frame
    columns = ["gender", "race", "age", "income", "dept", label, pred]
    reader = CsvChunks(plan, columns, chunk_bytes=16 << 10)
    assert sum(1 for _ in reader()) >= 6  # really several chunks
    kwargs: dict[str, Any] = dict(
        stage=stage,
        label=label,
        label_values_or_threshold=values,
        facets=FACETS,
        methods=["all"] if stage == "pre_training" else POST_WITHOUT_FT,
        predicted_label=pred if stage == "post_training" else None,
        group_variable="dept",
    )
    expected = bias_section(frame, **kwargs)
    got = bias_section_chunks(reader, list(plan.columns), **kwargs)
    assert got["label_value_or_threshold"] == expected["label_value_or_threshold"]
    assert list(got["facets"]) == list(expected["facets"])
    for name, reports in expected["facets"].items():
        assert not diff_reports(reports, got["facets"][name]), name
    values_seen = [m["value"] for r in got["facets"]["age"] for m in r["metrics"]]
    assert any(v not in (None, 0) for v in values_seen)


def test_chunk_dtypes_follow_the_whole_file(tmp_path: Path) -> None:
    """A column typed differently in some chunks is typed as the whole-file read types it."""
    n = 2000
    ints = [str(i % 7) for i in range(n)]
    ints[1500] = ""  # a missing value late: float64 everywhere
    mixed = [str(i % 5) for i in range(n)]
    mixed[1800] = "n/a-ish"  # text late: strings everywhere
    flags = ["true" if i % 3 else "false" for i in range(n)]
    flags[1900] = ""  # a missing boolean late: object of bools and NaN
    hexes = [str(i % 9) for i in range(n)]
    hexes[1700] = "0x1A"  # pandas keeps a hexadecimal literal as text
    quoted = [f'"line {i}\nnext, ""q"""' if i % 50 == 0 else f"v{i % 4}" for i in range(n)]
    lines = ["a,b,c,d,e,y"] + [",".join(r) for r in zip(ints, mixed, flags, hexes, quoted, ["1"] * n)]
    csv = tmp_path / "d.csv"
    csv.write_text("\n".join(lines) + "\n")
    plan = _plan_for(csv, {"label": "y", "label_values_or_threshold": [1], "facet": [{"name_or_index": "a"}]})
    whole = read_csv_parts([(str(csv), csv.read_bytes())], None, ["y"])
    reader = CsvChunks(plan, ["a", "b", "c", "d", "e"], chunk_bytes=4 << 10)
    parts = list(reader())
    assert len(parts) >= 5
    joined = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole[["a", "b", "c", "d", "e"]])
    assert list(joined.dtypes.astype(str)) == ["float64", "object", "object", "object", "object"]
    assert reader.n_rows == n


def _bias_config(csv: Path, **extra: Any) -> dict[str, Any]:
    return {
        "version": "1.0",
        "dataset_type": "text/csv",
        "dataset_uri": str(csv),
        "label": "label",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "gender", "value_or_threshold": ["female"]},
                  {"name_or_index": "age", "value_or_threshold": [40]}],
        "group_variable": "dept",
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": POST_WITHOUT_FT},
        },
        **extra,
    }


def test_bias_only_job_streams_and_equals_the_in_memory_run(tmp_path, monkeypatch, caplog) -> None:
    csv = tmp_path / "data.csv"
    _frame().drop(columns=["risk", "risk_pred"]).to_csv(csv, index=False)
    config = tmp_path / "analysis_config.json"
    config.write_text(json.dumps(_bias_config(csv, predicted_label="pred")))
    monkeypatch.setattr(chunks_module, "DEFAULT_CHUNK_BYTES", 16 << 10)
    plan = plan_job(load_config(config), None)
    assert plan.streams_dataset
    loaded: list[str] = []
    original = load_planned

    def spy(p: Any) -> Any:
        loaded.append(p.uri)
        return original(p)

    monkeypatch.setattr("analyzer.datasets.loader.load_planned", spy)
    with caplog.at_level(logging.INFO):
        streamed = run_job(config, data_uri=None, output=tmp_path / "streamed")
    assert "Reading the dataset in chunks" in caplog.text and not loaded

    monkeypatch.setattr(AnalysisPlan, "streams_dataset", property(lambda self: False))
    in_memory = run_job(config, data_uri=None, output=tmp_path / "memory")
    assert loaded  # the reference run loaded the frame
    assert streamed == in_memory
    assert streamed["post_training_bias_metrics"]["facets"]["gender"][0]["metrics"][0]["value"] is not None


def test_plan_streams_only_bias_jobs_without_ft(tmp_path: Path) -> None:
    csv = tmp_path / "data.csv"
    _frame().to_csv(csv, index=False)

    def plan(**extra: Any) -> AnalysisPlan:
        cfg = load_config(json.dumps(_bias_config(csv, predicted_label="pred", **extra)).encode())
        from analyzer.datasets.header import read_header

        return build_plan(cfg, read_header(cfg, str(csv)), str(csv))

    assert plan().streams_dataset
    with_ft = _bias_config(csv)["methods"]
    with_ft["post_training_bias"] = {"methods": "all"}  # "all" includes FT
    assert not plan(methods=with_ft).streams_dataset
    with_shap = {**_bias_config(csv)["methods"], "shap": {"baseline": [[0] * 9], "num_samples": 10}}
    predictor = {"endpoint_name": "e", "content_type": "text/csv"}
    assert not plan(methods=with_shap, predictor=predictor).streams_dataset


def test_predictions_from_the_endpoint_chunk_by_chunk(tmp_path: Path, monkeypatch) -> None:
    """Each row is predicted exactly once although the bias engine reads the chunks several times."""
    frame = _frame().drop(columns=["risk", "risk_pred", "pred"])
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    cfg_dict = _bias_config(csv, predictor={"endpoint_name": "fake", "content_type": "text/csv",
                                            "accept_type": "text/csv"}, excluded_columns=["dept"])

    def model(req: Any, index: int) -> tuple[int, str]:
        rows = [line.split(",") for line in req.body.decode().splitlines() if line]
        return 200, "\n".join("0.9" if float(r[0]) > 0 else "0.1" for r in rows)

    server = FakeServer(model)
    try:
        cfg = load_config(json.dumps(cfg_dict).encode())
        plan = plan_job(cfg, None)
        assert plan.streams_dataset and plan.needs_model
        monkeypatch.setattr(chunks_module, "DEFAULT_CHUNK_BYTES", 16 << 10)
        handle = EndpointHandle(urls=(server.url,))
        streamed = execute_plan(
            plan, stream_planned(plan.dataset), output_dir=tmp_path / "s", endpoint=handle
        )
        predicted_rows = sum(len(r.body.decode().splitlines()) for r in server.requests)
        assert predicted_rows == N
        in_memory = execute_plan(plan, load_planned(plan.dataset), output_dir=tmp_path / "m", endpoint=handle)
    finally:
        server.stop()
    assert streamed == in_memory
    metrics = streamed["post_training_bias_metrics"]["facets"]["gender"][0]["metrics"]
    dppl = next(m for m in metrics if m["name"] == "DPPL")
    assert dppl["value"] is not None and dppl["value"] != 0


def test_chunks_of_a_folder_of_gzip_parts_with_crlf(tmp_path: Path) -> None:
    """Parts of a folder (gzip or not, header repeated or not, CRLF line ends) read in chunks
    give the rows the loader gives."""
    import gzip

    frame = _frame(seed=5)
    folder = tmp_path / "parts"
    folder.mkdir()
    text = frame.to_csv(index=False, lineterminator="\r\n")
    header, _, body = text.partition("\r\n")
    rows = body.splitlines(keepends=True)
    half = len(rows) // 2
    (folder / "part-0.csv.gz").write_bytes(gzip.compress((header + "\r\n" + "".join(rows[:half])).encode()))
    (folder / "part-1.csv").write_text("".join(rows[half:]), newline="")
    plan = _plan_for(folder, {"label": "label", "label_values_or_threshold": [1]})
    columns = ["gender", "age", "dept", "label", "pred"]
    expected = load_planned(plan).frame[columns]
    reader = CsvChunks(plan, columns, chunk_bytes=8 << 10)
    parts = list(reader())
    assert len(parts) >= 4
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), expected)


@pytest.mark.parametrize("gzipped", [False, True])
def test_plan_reads_only_the_head_of_a_large_file(tmp_path: Path, monkeypatch, gzipped: bool) -> None:
    """Building the plan of a streamed job must not read a dataset of gigabytes whole."""
    import gzip

    from analyzer import storage
    from analyzer.datasets import header as header_module

    frame = pd.concat([_frame(seed=s) for s in range(24)], ignore_index=True)
    text = frame.to_csv(index=False).encode()
    assert len(text) > 2 * header_module.HEAD_BYTES
    csv = tmp_path / ("data.csv.gz" if gzipped else "data.csv")
    csv.write_bytes(gzip.compress(text) if gzipped else text)

    def whole_file(uri: Any) -> bytes:
        raise AssertionError(f"{uri} read whole")

    monkeypatch.setattr(storage, "read_bytes", whole_file)
    plan = _plan_for(csv, {"label": "label", "label_values_or_threshold": [1]})
    assert plan.columns == tuple(frame.columns)
    parts = list(CsvChunks(plan, ["gender", "label"], chunk_bytes=256 << 10)())
    assert sum(len(p) for p in parts) == len(frame) and len(parts) > 2
