"""Helpers for the dataset and storage tests: configs, writers for every format, moto setup."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

LABEL = "risk"


def cfg(**kwargs: Any) -> Any:
    """A config for the given data keys, built by ``analyzer.config`` (schema only) when available.

    ``methods`` defaults to a report-only section so that the data keys can be tested alone.
    Without ``analyzer.config`` a ``SimpleNamespace`` with the same attribute names is returned.
    """
    data = {k: v for k, v in kwargs.items() if v is not None}
    data["facet"] = [{"name_or_index": f} for f in data["facet"]] if "facet" in data else None
    data = {k: v for k, v in data.items() if v is not None}
    data.setdefault("methods", {"report": {"name": "report"}})
    try:
        from analyzer.config import AnalysisConfig
    except ImportError:
        return _namespace(data)
    return AnalysisConfig.model_validate(data)


def _namespace(data: dict[str, Any]) -> SimpleNamespace:
    keys = (
        "dataset_type headers label predicted_label features predicted_label_dataset_uri "
        "predicted_label_headers joinsource_name_or_index excluded_columns facet group_variable "
        "facet_dataset_uri facet_headers time_series_data_config methods"
    ).split()
    values = dict.fromkeys(keys)
    values.update(data)
    if values["facet"] is not None:
        values["facet"] = [SimpleNamespace(value_or_threshold=None, **f) for f in values["facet"]]
    return SimpleNamespace(**values)


def reference_frame(german_credit_csv: Path, n: int = 40) -> pd.DataFrame:
    """The first ``n`` German-credit rows (read by pandas' own CSV reader) plus a float column."""
    frame = pd.read_csv(german_credit_csv).head(n)
    frame["rate"] = (frame["credit_amount"] / frame["duration"]).round(3)
    return frame


def csv_bytes(frame: pd.DataFrame, header: bool = True) -> bytes:
    """``frame`` as CSV (excel dialect, minimal quoting)."""
    return frame.to_csv(index=False, header=header, lineterminator="\n").encode()


def features_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != LABEL]


def jsonlines_bytes(frame: pd.DataFrame) -> bytes:
    """One ``{"features": [...], "label": x}`` object per line."""
    lines = [
        json.dumps({"features": [_py(v) for v in row[features_of(frame)]], "label": _py(row[LABEL])})
        for _, row in frame.iterrows()
    ]
    return ("\n".join(lines) + "\n").encode()


def json_bytes(frame: pd.DataFrame) -> bytes:
    """``{"records": [{"features": [...], "label": x}, ...]}``."""
    records = [
        {"features": [_py(v) for v in row[features_of(frame)]], "label": _py(row[LABEL])}
        for _, row in frame.iterrows()
    ]
    return json.dumps({"records": records}).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _py(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def csv_text(rows: list[list[Any]]) -> bytes:
    """Rows written with the csv module (excel dialect)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """moto's ``mock_aws`` with fake credentials and no endpoint override; yields an S3 client."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="bucket")
        yield client
