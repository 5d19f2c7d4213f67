"""Differential-test helpers: run smclarify 0.5 (the oracle) and our engine on the same input."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analyzer.bias import FacetSpec, bias_section
from analyzer.bias.registry import stage_metrics
from analyzer.errors import UserError

logging.getLogger("smclarify").setLevel(logging.CRITICAL)
logging.getLogger("smclarify.bias.report").disabled = True
logging.getLogger("smclarify.bias.metrics.common").disabled = True


@dataclass
class Case:
    """One bias computation: a frame plus the call parameters, for both implementations."""

    frame: pd.DataFrame
    facet: str
    facet_values: list | None
    label: str
    label_values: list
    stage: str = "pre_training"
    predicted: str | None = None
    group: str | None = None
    features: list[str] = field(default_factory=list)
    metrics: list[str] | None = None  # None = every registered metric of the stage
    predicted_values: list | None = None  # the predicted label's own positive values (smclarify only)

    def metric_names(self) -> list[str]:
        return list(self.metrics) if self.metrics is not None else list(stage_metrics(self.stage))


def run_smclarify(case: Case) -> tuple[str, Any]:
    """("ok", facet report list) or ("error", "<ExceptionType>: <text>") from smclarify."""
    from smclarify.bias import report as R

    df = case.frame
    cols = [case.facet] + [c for c in case.features if c != case.facet] + [case.label]
    if case.predicted:
        cols.append(case.predicted)
    sub = df[list(dict.fromkeys(cols))]
    pred = (
        R.LabelColumn(case.predicted, df[case.predicted], case.predicted_values)
        if case.predicted and case.stage == "post_training"
        else None
    )
    try:
        result = R.bias_report(
            sub,
            R.FacetColumn(case.facet, None if case.facet_values is None else list(case.facet_values)),
            R.LabelColumn(case.label, df[case.label], list(case.label_values)),
            R.StageType.POST_TRAINING if case.stage == "post_training" else R.StageType.PRE_TRAINING,
            pred,
            metrics=case.metric_names(),
            group_variable=df[case.group] if case.group else None,
        )
    except Exception as exc:  # noqa: BLE001 - we record whatever the oracle raises
        return "error", f"{type(exc).__name__}: {exc}"
    return "ok", result


def run_ours(case: Case) -> tuple[str, Any]:
    """Same shape as :func:`run_smclarify`, from ``bias_section``."""
    try:
        out = bias_section(
            case.frame,
            stage=case.stage,  # type: ignore[arg-type]
            label=case.label,
            label_values_or_threshold=list(case.label_values),
            facets=[FacetSpec(case.facet, None if case.facet_values is None else list(case.facet_values))],
            methods=case.metric_names(),
            predicted_label=case.predicted if case.stage == "post_training" else None,
            group_variable=case.group,
            ft_features=case.features,
            predicted_label_values_or_threshold=case.predicted_values,
        )
    except (UserError, ValueError) as exc:  # ValueError: an unknown metric name, as smclarify
        return "error", str(exc)
    return "ok", out["facets"][case.facet]


def _same_value(expected: Any, got: Any) -> bool:
    if isinstance(got, float) and math.isinf(got):
        got = "Infinity" if got > 0 else "-Infinity"
    if expected == got:
        return True
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        if math.isnan(expected) and math.isnan(got):
            return True
        return math.isclose(expected, got, rel_tol=1e-12, abs_tol=1e-15)
    return False


def diff_reports(expected: list[dict], got: list[dict]) -> list[str]:
    """Human-readable differences between two facet-report lists (empty when equal)."""
    problems = []
    if [r["value_or_threshold"] for r in expected] != [r["value_or_threshold"] for r in got]:
        texts = [r["value_or_threshold"] for r in expected], [r["value_or_threshold"] for r in got]
        return [f"value_or_threshold {texts[0]} != {texts[1]}"]
    for re_, rg in zip(expected, got):
        if [m["name"] for m in re_["metrics"]] != [m["name"] for m in rg["metrics"]]:
            problems.append(f"metric names differ in {re_['value_or_threshold']}")
            continue
        for me, mg in zip(re_["metrics"], rg["metrics"]):
            if list(me) != list(mg) or me["description"] != mg["description"]:
                problems.append(f"{me['name']}: keys/description {me} != {mg}")
            elif me.get("error") != mg.get("error") or not _same_value(me["value"], mg["value"]):
                problems.append(f"{re_['value_or_threshold']} {me['name']}: {me} != {mg}")
    return problems


def assert_same(case: Case) -> tuple[str, Any]:
    """Run both; same report (1e-12 relative) or both raise with the same message."""
    status_e, expected = run_smclarify(case)
    status_g, got = run_ours(case)
    if status_e == "error":
        assert status_g == "error", f"smclarify raised {expected!r} but we returned {got!r}"
        text = expected.split(": ", 1)[1]
        if expected.startswith("UnboundLocalError"):
            return status_e, expected  # smclarify's own bug; we raise DatasetError with a useful message
        assert got == text, f"error text {got!r} != smclarify {text!r}"
        return status_e, expected
    assert status_g == "ok", f"we raised {got!r}, smclarify returned a report"
    problems = diff_reports(expected, got)
    assert not problems, "\n".join(problems)
    return status_e, expected
