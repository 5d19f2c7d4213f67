"""Public API for loading Clarify tabular datasets.

``text/csv``, ``application/jsonlines``, ``application/json`` and ``application/x-parquet``,
from a file, a folder (recursive, sorted) or an ``s3://`` URI/prefix. The implementation lives
in :mod:`analyzer.datasets`; the CSV header-row rule is described in
:mod:`analyzer.datasets.csv_format`, the JSON headers convention in
:mod:`analyzer.datasets.json_format`, joins and column roles in
:mod:`analyzer.datasets.loader`, baseline forms in :mod:`analyzer.datasets.baseline`.
"""

from __future__ import annotations

from analyzer.datasets.baseline import load_baseline
from analyzer.datasets.loader import dataset_problems, load_dataset
from analyzer.datasets.model import Dataset, features_array

__all__ = ["Dataset", "dataset_problems", "features_array", "load_baseline", "load_dataset"]
