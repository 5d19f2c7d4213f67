"""Turn group counts into Clarify facet reports (``{"value_or_threshold", "metrics"}`` lists)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analyzer.bias.counts import GroupCounts
from analyzer.bias.metrics import COUNT_METRICS, Cells
from analyzer.bias.registry import DESCRIPTIONS

log = logging.getLogger(__name__)

#: One facet group: its ``value_or_threshold`` text and which facet keys form facet d.
FacetGroup = tuple[str, np.ndarray]


def _plain(value: object) -> object:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def metric_entry(name: str, compute: Callable[[], float]) -> dict:
    """``{"name","description","value"}`` or, when the metric fails, ``value: None`` plus ``error``."""
    try:
        value = compute()
    except Exception as exc:  # noqa: BLE001 - Clarify reports any metric failure in place
        log.debug("bias metric %s failed: %s", name, exc)
        return {"name": name, "description": DESCRIPTIONS[name], "value": None, "error": str(exc)}
    return {"name": name, "description": DESCRIPTIONS[name], "value": _plain(value)}


def facet_reports(
    counts: GroupCounts,
    groups: Sequence[FacetGroup],
    metric_names: Sequence[str],
    *,
    with_strata: bool,
    flip_test: Callable[[np.ndarray], float] | None = None,
) -> list[dict]:
    """One report per facet group, metrics in the given (sorted) order.

    ``flip_test`` receives the facet-key mask and returns FT (or raises); without it FT is
    reported as an error entry.
    """
    strata = counts.strata if with_strata else None
    out = []
    for text, lut in groups:
        cells = Cells(counts.cells(lut), strata, counts.strata_error if with_strata else None)
        metrics = []
        for name in metric_names:
            if name == "FT":
                if flip_test is None:
                    metrics.append(metric_entry(name, _ft_unavailable))
                else:
                    metrics.append(metric_entry(name, functools.partial(flip_test, lut)))
            else:
                metrics.append(metric_entry(name, functools.partial(COUNT_METRICS[name], cells)))
        out.append({"value_or_threshold": text, "metrics": metrics})
    return out


def _ft_unavailable() -> float:
    raise ValueError("Flip Test (FT) needs the full feature matrix and is not computed in streaming mode")


def empty_strata() -> pd.Index:
    """Strata index used when no group variable is given."""
    return pd.Index([], dtype=object)
