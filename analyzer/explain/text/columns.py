"""Which feature columns hold free text, their ``data_type``, and the baseline of a text job (pure).

Clarify reports each feature's inferred type in ``out.jsonl`` (``data_type``: ``free_text`` for
text, observed; ``numerical`` / ``categorical`` for the others, the literals its PDP section
uses). How Clarify decides that a column is text is not documented (next-capabilities.md
§1.1). clarify-runner's rule, with ``text_config`` set: a column of strings is free text when

* the baseline holds, in that column, a string that never occurs in the data (a
  placeholder such as ``"[MASK]"``, ``"<UNK>"`` or ``""``), or
* its median value has at least :data:`MIN_TEXT_WORDS` words (whitespace-separated);

other string columns are categorical, numeric columns numerical. A caller that knows the
types (e.g. online explainability's ``FeatureTypes``) passes ``declared`` instead.

Default text baseline: the spec's sources disagree (DOC-2023: "The ``baseline`` defaults to
empty strings, meaning SageMaker Clarify drops parts of the input text"; a notebook: the
string ``<PAD>``). clarify-runner follows the documentation: without ``methods.shap.baseline``
an absent unit is replaced by :data:`DEFAULT_TEXT_BASELINE` (``""``, the unit is dropped and
the whitespace around it kept), and the non-text features get the K-means/K-prototypes
baseline of the tabular path (``num_clusters``). The choice is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analyzer.explain.baseline import kmeans_baseline

log = logging.getLogger("analyzer.explain.text")

FREE_TEXT = "free_text"
NUMERICAL = "numerical"
CATEGORICAL = "categorical"
DEFAULT_TEXT_BASELINE = ""
#: median number of words from which a string column counts as free text
MIN_TEXT_WORDS = 3


def _is_numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)


def _median_words(col: pd.Series) -> float:
    values = col.dropna()
    if values.empty:
        return 0.0
    return float(np.median([len(str(v).split()) for v in values]))


def infer_text_columns(
    features: pd.DataFrame,
    baseline: pd.DataFrame | None = None,
    declared: Sequence[str | int] | None = None,
) -> list[int]:
    """Indices of the free-text columns of ``features`` (see the module docstring for the rule).

    ``declared`` (names or indices) wins when given. An empty list: no column looks like
    text (the job reports it, naming the rule).

    Raises:
        ValueError: a declared column does not exist.
    """
    names = [str(c) for c in features.columns]
    if declared is not None:
        out = []
        for item in declared:
            if isinstance(item, int) and not isinstance(item, bool):
                if not 0 <= item < len(names):
                    raise ValueError(f"text column index {item} is out of range 0..{len(names) - 1}")
                out.append(item)
            elif str(item) in names:
                out.append(names.index(str(item)))
            else:
                raise ValueError(f"text column {item!r} is not one of the features {names}")
        return sorted(set(out))
    found = []
    for j, name in enumerate(features.columns):
        col = features[name]
        if _is_numeric(col):
            continue
        placeholder = False
        if baseline is not None and j < baseline.shape[1]:
            seen = set(col.dropna().astype(str))
            placeholder = any(isinstance(v, str) and v not in seen for v in baseline.iloc[:, j])
        if placeholder or _median_words(col) >= MIN_TEXT_WORDS:
            found.append(j)
    return found


def feature_data_types(features: pd.DataFrame, text_columns: Sequence[int]) -> list[str]:
    """``data_type`` of every feature: ``free_text``, ``numerical`` or ``categorical``."""
    text = set(text_columns)
    return [
        FREE_TEXT if j in text else NUMERICAL if _is_numeric(features[c]) else CATEGORICAL
        for j, c in enumerate(features.columns)
    ]


def text_baseline_problems(
    given: pd.DataFrame, feature_names: Sequence[str], text_columns: Sequence[int]
) -> list[str]:
    """One message per baseline cell of a text column that is not a replacement string.

    A missing value is fine (it means the empty string).
    """
    out = []
    for j in text_columns:
        for b, value in enumerate(given.iloc[:, j].tolist()):
            missing = value is None or (isinstance(value, float) and value != value)
            if not missing and not isinstance(value, str):
                out.append(
                    f"row {b}: text feature {feature_names[j]!r} needs the replacement string of a text "
                    f'unit (e.g. "[MASK]"), got {value!r}'
                )
    return out


def text_baseline(
    given: pd.DataFrame | None,
    features: pd.DataFrame,
    text_columns: Sequence[int],
    *,
    num_clusters: int | None = None,
    seed: int | None = None,
    default_text: str = DEFAULT_TEXT_BASELINE,
) -> pd.DataFrame:
    """The baseline rows of a text job, columns as ``features``.

    ``given`` (``methods.shap.baseline``) is used as is, except that a missing value in a
    text column means the empty string. Without it: one replacement string ``default_text``
    for the text columns and, when there are other features, their clustered baseline.

    Raises:
        ValueError: ``given`` has the wrong width or a number where a replacement string belongs
            (the job checks the configured baseline first: :func:`text_baseline_problems`).
    """
    names = list(features.columns)
    if given is not None:
        if given.shape[1] != len(names):
            raise ValueError(f"baseline rows have {given.shape[1]} values, there are {len(names)} features")
        problems = text_baseline_problems(given, names, text_columns)
        if problems:
            raise ValueError(problems[0])
        out = given.copy()
        out.columns = names
        for j in text_columns:
            col = out.iloc[:, j].astype(object)
            out[names[j]] = col.where(col.notna(), DEFAULT_TEXT_BASELINE)
        return out.reset_index(drop=True)
    others = [c for j, c in enumerate(names) if j not in set(text_columns)]
    if others:
        out = kmeans_baseline(features[others], num_clusters, seed).astype(object)
    else:
        out = pd.DataFrame(index=range(1))
    for j in sorted(text_columns):
        out.insert(j, names[j], default_text)
    log.info(
        "methods.shap.baseline is not given: absent text units are replaced by %r%s",
        default_text,
        f", and the other features by {len(out)} clustered baseline row(s)" if others else "",
    )
    return out[names].reset_index(drop=True)
