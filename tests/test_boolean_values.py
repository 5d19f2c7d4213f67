"""``value_or_threshold: [false]``: boolean facet and label values.

A CSV column of ``True``/``False`` is a boolean column for pandas (and smclarify), and
``[false]`` selects its ``False`` rows. The config accepts booleans in ``value_or_threshold``
and ``label_values_or_threshold`` for such columns (hand-written and boto3 configs).

Note: the SDK's ``ANALYSIS_CONFIG_SCHEMA_V1_0`` types these keys ``[Or(int, float, str)]``, and
the ``schema`` library the SDK installs (0.7.8) refuses ``bool`` for ``int``, so the SDK itself
rejects ``[False]`` before starting a job; its only boolean keys are ``methods.shap.use_logit``
and ``methods.shap.save_local_shap_values``.
"""

from __future__ import annotations

import io

import pandas as pd
from _bias_helpers import Case, assert_same

from analyzer.config import config_problems, parse_config
from analyzer.datasets.csv_format import read_csv_parts


def _config(facet_values: list, label_values: list) -> dict:
    return {
        "dataset_type": "text/csv",
        "headers": ["approved", "is_senior", "income"],
        "label": "approved",
        "label_values_or_threshold": label_values,
        "facet": [{"name_or_index": "is_senior", "value_or_threshold": facet_values}],
        "methods": {"pre_training_bias": {"methods": "all"}},
    }


def test_config_accepts_booleans_and_keeps_them() -> None:
    cfg = parse_config(_config([False], [True]))
    assert cfg.facet is not None
    assert cfg.facet[0].value_or_threshold == [False]
    assert cfg.facet[0].value_or_threshold[0] is False
    assert cfg.label_values_or_threshold == [True]
    assert config_problems(_config([None], [1])) == [
        "facet[0].value_or_threshold[0]: expected a string, a number or a boolean, got null"
    ]


def test_boolean_facet_from_csv_matches_smclarify() -> None:
    rows = [("1" if i % 3 else "0", "True" if i % 4 == 0 else "False", str(1000 + 37 * i)) for i in range(80)]
    data = ("approved,is_senior,income\n" + "".join(",".join(r) + "\n" for r in rows)).encode()
    frame = read_csv_parts([("part", data)], ["approved", "is_senior", "income"])
    pd.testing.assert_frame_equal(frame, pd.read_csv(io.BytesIO(data)))
    assert frame["is_senior"].dtype == bool
    cfg = parse_config(_config([False], [1]))
    assert cfg.facet is not None
    status, report = assert_same(
        Case(frame, "is_senior", list(cfg.facet[0].value_or_threshold or []), "approved", [1])
    )
    assert status == "ok"
    assert report[0]["value_or_threshold"] == "False"
