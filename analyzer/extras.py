"""The analyzer's check for optional extras: a clear user error naming the extra to install.

Call :func:`require` as soon as it is known that a feature will run, before any endpoint
starts or any data is read: the analysis plan calls ``require("report")`` when the config has
``methods.report``, the Docker endpoint backend ``require("docker")``. Without the extra the
job fails at once (exit 1) with, for example::

    The report (methods.report) needs the 'report' extra: pip install 'clarify-runner[report]'
    (missing module: weasyprint)

A config that asks for a report never runs without one: the report is not skipped with a
warning, because a processing job whose outputs silently lack ``report.pdf`` looks complete.
"""

from __future__ import annotations

from analyzer.errors import UserError
from clarify_common.extras import EXTRAS, missing_extra_message

__all__ = ["EXTRAS", "FEATURES", "MissingExtraError", "require"]

#: What each extra is needed for, as the error message names it.
FEATURES: dict[str, str] = {
    "report": "The report (methods.report)",
    "image": "Image explanations (dataset_type application/x-image)",
    "xgboost": "Serving an XGBoost model",
    "lightgbm": "Serving a LightGBM model",
    "docker": "The Docker shadow-endpoint backend",
    "text": "Text explanations (methods.shap.text_config)",
    "text-ja": "Japanese text segmentation (text_config.language japanese)",
    "text-th": "Thai text segmentation (text_config.language thai)",
}


class MissingExtraError(UserError):
    """A feature needs an optional extra that is not installed (a user error: exit 1)."""


def require(extra: str, feature: str | None = None) -> None:
    """Raise :class:`MissingExtraError` when ``extra`` is not installed.

    ``feature`` names what needs it in the message (default: :data:`FEATURES`). Costs a few
    microseconds: the extra's modules are looked up, not imported.
    """
    message = missing_extra_message(extra, feature or FEATURES[extra])
    if message is not None:
        raise MissingExtraError(message)

