"""Differential fuzz: random small datasets through smclarify 0.5 and our engine.

Small and empty groups, single-valued labels, NaN facet values, categorical and continuous
facets, binary, multi-class, string and continuous labels, with and without a group
variable, pre- and post-training. Every metric must agree to 1e-12 relative, or both
implementations must fail with the same text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _bias_helpers import Case, assert_same
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("smclarify")

LETTERS = ["a", "b", "c", "d"]


@st.composite
def cases(draw) -> Case:
    n = draw(st.integers(min_value=1, max_value=60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frame = pd.DataFrame({"f1": rng.normal(size=n).round(1), "f2": rng.integers(0, 3, n)})

    facet_kind = draw(st.sampled_from(["str", "str_nan", "int", "float", "float_nan", "category", "bool"]))
    k = draw(st.integers(1, 4))
    if facet_kind.startswith("str"):
        facet = rng.choice(LETTERS[:k], n).astype(object)
        if facet_kind == "str_nan":
            facet[rng.random(n) < 0.2] = np.nan
        facet_values = draw(
            st.one_of(st.none(), st.lists(st.sampled_from(LETTERS), min_size=1, max_size=2, unique=True))
        )
    elif facet_kind == "int":
        facet = rng.integers(0, k + 1, n)
        facet_values = draw(
            st.one_of(st.none(), st.lists(st.integers(0, 4), min_size=1, max_size=2, unique=True))
        )
    elif facet_kind == "category":
        facet = pd.Categorical(rng.choice(LETTERS[:k], n), categories=LETTERS)  # unused categories too
        facet_values = draw(st.one_of(st.none(), st.lists(st.sampled_from(LETTERS), min_size=1, max_size=2)))
    elif facet_kind == "bool":
        facet = rng.random(n) < 0.5
        facet_values = draw(st.sampled_from([None, [True], [False], ["True"], [1]]))
    else:
        facet = rng.uniform(0, 10, n).round(1)
        if facet_kind == "float_nan":
            facet[rng.random(n) < 0.2] = np.nan
        facet_values = draw(
            st.one_of(
                st.lists(st.sampled_from([0.0, 2.5, 5.0, 9.9, 10.0, 12.0]), min_size=1, max_size=1),
                st.lists(st.sampled_from([0.0, 2.5, 5.0]), min_size=2, max_size=2, unique=True),
            )
        )
    frame["facet"] = facet

    label_kind = draw(st.sampled_from(["binary", "multi", "string", "float", "single"]))
    p = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
    if label_kind == "binary":
        y = (rng.random(n) < p).astype(np.int64)
        yhat = (
            (rng.random(n) < p).astype(np.int64)
            if draw(st.booleans())
            else (rng.random(n) < 0.5).astype(np.int64)
        )
        values: list = [1]
    elif label_kind == "multi":
        y, yhat = rng.integers(0, 3, n), rng.integers(0, 3, n)
        values = draw(st.sampled_from([[1], [1, 2], [0, 2]]))
    elif label_kind == "string":
        y = np.where(rng.random(n) < p, "yes", "no").astype(object)
        yhat = np.where(rng.random(n) < 0.5, "yes", "no").astype(object)
        values = ["yes"]
    elif label_kind == "float":
        y, yhat = rng.uniform(0, 100, n).round(0), rng.uniform(0, 100, n).round(0)
        values = [draw(st.sampled_from([10, 50.0, 90, 150]))]
    else:
        y = np.ones(n, dtype=np.int64)
        yhat = np.ones(n, dtype=np.int64) if draw(st.booleans()) else rng.integers(0, 2, n)
        values = [1]
    frame["label"], frame["pred"] = y, yhat

    group = None
    if draw(st.booleans()):
        grp = rng.choice(["u", "v", "w"][: draw(st.integers(1, 3))], n).astype(object)
        grp_kind = draw(st.sampled_from(["str", "float_nan", "str_nan"]))
        if grp_kind == "float_nan":
            grp = rng.integers(0, 3, n).astype(float)
        if grp_kind != "str":
            grp[rng.random(n) < 0.2] = np.nan
        frame["grp"] = grp
        group = "grp"
    stage = draw(st.sampled_from(["pre_training", "post_training", "post_training"]))
    return Case(
        frame,
        "facet",
        facet_values,
        "label",
        values,
        stage,
        "pred" if stage == "post_training" else None,
        group,
        ["f1", "f2"],
    )


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_random_datasets_match_smclarify(case):
    assert_same(case)
