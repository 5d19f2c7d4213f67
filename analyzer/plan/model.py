"""The analysis plan: every setting of a job, resolved once, as frozen typed data.

An :class:`AnalysisPlan` is built by :func:`analyzer.plan.build_plan` from the
``analysis_config.json`` and the dataset's header (column names), before any data is loaded
and before any endpoint starts. It is a :class:`DatasetPlan` (how to read the data and which
column plays which role), a tuple of typed jobs in execution order (:data:`AnalysisJob`:
:class:`BiasJob`, :class:`ShapJob`, :class:`PdpJob`), the model settings
(:class:`ModelPlan`: which endpoint, and :class:`ClientSettings` for the model client) and the
:class:`ReportPlan`. An executor runs the jobs: :func:`analyzer.runner.execute_plan` today, a
Spark executor later, from the same plan.

Defaults live in :mod:`analyzer.plan.defaults`; nothing downstream applies a default of its own.
Pure data: this module imports nothing from the rest of clarify-runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from analyzer.plan.defaults import (
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RETRY_BACKOFF,
    default_accept_type,
)
from analyzer.plan.images import ImageShapJob
from analyzer.plan.text import TextShapJob
from analyzer.plan.time_series import TimeSeriesDataPlan, TimeSeriesJob

#: A configured column: a name, or a 0-based index.
ColumnKey = str | int
#: A configured value or threshold (``label_values_or_threshold``, ``value_or_threshold``).
Scalar = str | int | float | bool
#: Where a value sits in a model response: a CSV column index or a JMESPath expression.
Locator = int | str
#: The stages of a bias job.
BiasStage = Literal["pre_training", "post_training"]


@dataclass(frozen=True)
class SideDatasetPlan:
    """A CSV dataset joined to the main one (``predicted_label_dataset_uri``, ``facet_dataset_uri``).

    ``columns`` are the side columns to attach (the join key excluded), ``renames`` maps each
    to its name in the joined frame (a ``_predicted``/``_facet`` suffix when the name is taken).
    ``join`` is ``(main column, side column)`` of an inner join, or ``None`` to attach row by row.
    """

    key: str
    uri: str
    headers: tuple[str, ...] | None
    hint_names: tuple[str, ...]
    columns: tuple[str, ...]
    renames: Mapping[str, str]
    join: tuple[str, str] | None


@dataclass(frozen=True)
class DatasetPlan:
    """How to read the dataset and which column plays which role (names of the loaded frame).

    ``columns`` are the main dataset's columns as the loader names them; ``feature_columns``
    (the model's inputs, in order) are those left after removing the label, predicted label,
    join column and ``excluded_columns``. ``facet_columns`` maps each configured facet
    ``name_or_index`` to its column in the joined frame.
    """

    uri: str
    dataset_type: str
    headers: tuple[str, ...] | None
    features: str | None
    label_expression: str | None
    predicted_label_expression: str | None
    hint_names: tuple[str, ...]
    columns: tuple[str, ...]
    feature_columns: tuple[str, ...]
    label: str | None = None
    predicted_label: str | None = None
    join_column: str | None = None
    excluded_columns: tuple[str, ...] = ()
    facet_columns: Mapping[ColumnKey, str] = field(default_factory=dict)
    group_variable: str | None = None
    predicted_label_dataset: SideDatasetPlan | None = None
    facet_dataset: SideDatasetPlan | None = None
    #: Set for a time-series dataset (``time_series_data_config``); the loader reads series then.
    time_series: TimeSeriesDataPlan | None = None


@dataclass(frozen=True)
class FacetPlan:
    """One facet of a bias job: its column and sensitive values (``None``: every value)."""

    column: str
    value_or_threshold: tuple[Scalar, ...] | None


@dataclass(frozen=True)
class BiasJob:
    """``methods.pre_training_bias`` / ``methods.post_training_bias``: one bias section.

    ``metrics`` are canonical names from the bias registry. For post-training bias,
    ``predicted_label`` is the data column holding predictions, or ``None`` when the model
    gives them; ``probability_threshold`` turns scores into labels on every path that yields
    scores (model scores, a ``label`` locator that points at a score, a score column in the data).
    """

    stage: BiasStage
    label: str
    label_values_or_threshold: tuple[Scalar, ...]
    facets: tuple[FacetPlan, ...]
    metrics: tuple[str, ...]
    group_variable: str | None
    ft_features: tuple[str, ...]
    predicted_label: str | None = None
    probability_threshold: float | None = None

    @property
    def needs_model(self) -> bool:
        """Whether predictions must come from the model."""
        return self.stage == "post_training" and self.predicted_label is None

    @property
    def section(self) -> str:
        """Its key in ``analysis.json``."""
        return f"{self.stage}_bias_metrics"


@dataclass(frozen=True)
class InlineBaseline:
    """``methods.shap.baseline`` given inline: rows (or, for JSON, a document), as in the config."""

    value: list[object] | dict[str, object]


@dataclass(frozen=True)
class UriBaseline:
    """``methods.shap.baseline`` given as a file or ``s3://`` URI, in the dataset's format."""

    uri: str


@dataclass(frozen=True)
class ClusteredBaseline:
    """No baseline given: cluster the dataset's features (``num_clusters``; ``None``: the elbow)."""

    num_clusters: int | None


BaselineSource = InlineBaseline | UriBaseline | ClusteredBaseline


@dataclass(frozen=True)
class ShapJob:
    """``methods.shap`` on tabular data: Kernel SHAP of every record against a baseline.

    ``explained`` indexes ``features`` (``None``: every feature). ``num_samples=None`` is the
    shap/Clarify rule ``min(2M + 2048, 2^M - 2)``, applied per record to its M varying players.
    """

    features: tuple[str, ...]
    explained: tuple[int, ...] | None
    baseline: BaselineSource
    num_samples: int | None
    seed: int | None
    use_logit: bool
    agg_method: str
    save_local_shap_values: bool
    estimator: str
    label_headers: tuple[str | int, ...] | None

    @property
    def needs_model(self) -> bool:
        """SHAP always calls the model."""
        return True

    @property
    def link(self) -> Literal["identity", "logit"]:
        """The link function applied to model outputs (``use_logit``)."""
        return "logit" if self.use_logit else "identity"

    @property
    def explained_names(self) -> tuple[str, ...]:
        """Names of the explained features, in result order."""
        if self.explained is None:
            return self.features
        return tuple(self.features[i] for i in self.explained)


@dataclass(frozen=True)
class PdpJob:
    """``methods.pdp``: partial dependence of the model output on some features.

    ``features`` given explicitly, or ``None``: the ``top_k_features`` with the largest global
    SHAP values (the plan guarantees a :class:`ShapJob` runs first then).
    """

    features: tuple[str, ...] | None
    top_k_features: int
    grid_resolution: int
    label_headers: tuple[str | int, ...] | None

    @property
    def needs_model(self) -> bool:
        """PDP always calls the model."""
        return True


#: Every kind of job an executor runs. A new kind (text SHAP, image SHAP, asymmetric Shapley
#: values) is a new frozen dataclass with ``needs_model``, added to this union, built by
#: :mod:`analyzer.plan.build` and handled by the executors (mypy flags an unhandled kind).
AnalysisJob = BiasJob | ShapJob | TextShapJob | ImageShapJob | PdpJob | TimeSeriesJob
_Job = TypeVar("_Job", BiasJob, ShapJob, TextShapJob, ImageShapJob, PdpJob, TimeSeriesJob)


@dataclass(frozen=True)
class ClientSettings:
    """Everything the model client needs to talk to an endpoint (``predictor`` plus limits).

    ``label`` locates the predicted label; ``probability`` the scores. ``score_locator`` is
    what explanations and score-based labels read: ``probability`` when given, else
    ``label`` (Clarify: the SDK's ``model_scores=1`` becomes ``predictor.label: 1``).
    ``accept_type=None`` means :func:`analyzer.plan.defaults.default_accept_type`.
    """

    content_type: str = "text/csv"
    accept_type: str | None = None
    content_template: str | None = None
    record_template: str | None = None
    label: Locator | None = None
    probability: Locator | None = None
    label_headers: tuple[str | int, ...] | None = None
    custom_attributes: str | None = None
    target_model: str | None = None
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_in_flight: int | None = None
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF
    time_budget: float | None = None
    #: Seconds all calls of one client may take together (None: no limit).
    deadline: float | None = None
    max_rows_per_request: int | None = None
    use_fast_path: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "content_type", self.content_type.lower())
        accept = self.accept_type.lower() if self.accept_type else default_accept_type(self.content_type)
        object.__setattr__(self, "accept_type", accept)

    @property
    def response_type(self) -> str:
        """The resolved ``accept_type``."""
        assert self.accept_type is not None  # set in __post_init__
        return self.accept_type

    @property
    def score_locator(self) -> Locator | None:
        """Where the scores are: ``probability``, else ``label``, else the whole answer."""
        return self.probability if self.probability is not None else self.label


@dataclass(frozen=True)
class EndpointTarget:
    """Where predictions come from: an existing endpoint, or a shadow endpoint made from a model."""

    endpoint_name: str | None = None
    model_name: str | None = None
    endpoint_name_prefix: str | None = None
    instance_type: str | None = None
    initial_instance_count: int = 1
    accelerator_type: str | None = None


@dataclass(frozen=True)
class ModelPlan:
    """The model: where it is served and how the client talks to it."""

    target: EndpointTarget
    client: ClientSettings


@dataclass(frozen=True)
class ReportPlan:
    """``methods.report``: file name stem, title, and the tolerance of highlighted bias metrics."""

    name: str
    title: str
    tolerance: float


@dataclass(frozen=True)
class AnalysisPlan:
    """A whole job: the dataset, the jobs in execution order, the model and the report."""

    dataset: DatasetPlan
    jobs: tuple[AnalysisJob, ...]
    model: ModelPlan | None
    report: ReportPlan | None

    @property
    def needs_model(self) -> bool:
        """Whether any job needs model predictions (so an endpoint)."""
        return any(job.needs_model for job in self.jobs)

    @property
    def streams_dataset(self) -> bool:
        """Whether the rows are read in chunks instead of loaded: every job is a bias job
        without FT (which needs all rows' features at once), on a CSV dataset without side
        datasets. Bias results are the same either way; memory stays bounded by a chunk."""
        data = self.dataset
        return (
            bool(self.jobs)
            and all(isinstance(j, BiasJob) and "FT" not in j.metrics for j in self.jobs)
            and data.dataset_type == "text/csv"
            and data.predicted_label_dataset is None
            and data.facet_dataset is None
        )

    def job(self, kind: type[_Job]) -> _Job | None:
        """The first job of type ``kind``, or ``None``."""
        return next((j for j in self.jobs if isinstance(j, kind)), None)

    def bias_job(self, stage: BiasStage) -> BiasJob | None:
        """The bias job of ``stage``, or ``None``."""
        return next((j for j in self.jobs if isinstance(j, BiasJob) and j.stage == stage), None)
