"""The analysis plan: every setting of a job resolved once, before any endpoint starts.

* :mod:`analyzer.plan.model`: the frozen, typed plan (:class:`AnalysisPlan` and its parts);
* :mod:`analyzer.plan.defaults`: every default, once;
* :mod:`analyzer.plan.build`: :func:`~analyzer.plan.build.build_plan` /
  :func:`~analyzer.plan.build.plan_problems` from the config and the dataset header;
* :mod:`analyzer.plan.dataset`: the column roles resolved against the header.

This package module imports only the pure model and defaults (the bias engine uses them);
import the builder from :mod:`analyzer.plan.build`.
"""

from analyzer.plan.model import (
    AnalysisJob,
    AnalysisPlan,
    BaselineSource,
    BiasJob,
    ClientSettings,
    ClusteredBaseline,
    DatasetPlan,
    EndpointTarget,
    FacetPlan,
    InlineBaseline,
    ModelPlan,
    PdpJob,
    ReportPlan,
    ShapJob,
    SideDatasetPlan,
    UriBaseline,
)
from analyzer.plan.time_series import TimeSeriesDataPlan, TimeSeriesJob

__all__ = [
    "AnalysisJob",
    "AnalysisPlan",
    "BaselineSource",
    "BiasJob",
    "ClientSettings",
    "ClusteredBaseline",
    "DatasetPlan",
    "EndpointTarget",
    "FacetPlan",
    "InlineBaseline",
    "ModelPlan",
    "PdpJob",
    "ReportPlan",
    "ShapJob",
    "SideDatasetPlan",
    "TimeSeriesDataPlan",
    "TimeSeriesJob",
    "UriBaseline",
]
