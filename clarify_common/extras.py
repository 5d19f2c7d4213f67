"""Optional extras: which feature needs which ``pip install 'clarify-runner[<extra>]'``.

The core install is what ``clarify-runner run`` needs for tabular bias, SHAP and PDP, plus the
model server for scikit-learn/skops models. Each extra adds one feature:

=========== ===================================================== ==============================
extra       feature                                               Python packages it adds
=========== ===================================================== ==============================
report      ``methods.report``: report.ipynb, report.html, .pdf   weasyprint, matplotlib, jinja2,
                                                                  nbformat
xgboost     serving XGBoost models (``local_endpoint``)           xgboost-cpu
lightgbm    serving LightGBM models (``local_endpoint``)          lightgbm
docker      the Docker shadow-endpoint backend                    docker
image       image explanations (``application/x-image``) and the  scikit-image, Pillow,
            image models of ``local_endpoint``                    matplotlib (heat maps)
text        text explanations (``methods.shap.text_config``)      spacy, jieba
text-ja     Japanese text segmentation                            sudachipy, sudachidict-core
text-th     Thai text segmentation                                pythainlp
=========== ===================================================== ==============================

Whether an extra is installed is decided from its modules being importable (found without
importing them, so a check costs microseconds). Each package raises its own error type with
:func:`missing_extra_message`; ``analyzer.extras.require`` is the analyzer's.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["EXTRAS", "install_command", "missing_extra_message", "missing_modules"]

#: Extra name -> the top-level modules it provides.
EXTRAS: dict[str, tuple[str, ...]] = {
    "report": ("weasyprint", "matplotlib", "jinja2", "nbformat"),
    "xgboost": ("xgboost",),
    "lightgbm": ("lightgbm",),
    "docker": ("docker",),
    "image": ("skimage", "PIL", "matplotlib"),
    "text": ("spacy",),
    "text-ja": ("sudachipy", "sudachidict_core"),
    "text-th": ("pythainlp",),
}


def _importable(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None  # None: import blocked (python -X ..., tests)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported (empty when the extra is installed)."""
    if extra not in EXTRAS:
        raise KeyError(f"unknown extra {extra!r}; extras: {', '.join(EXTRAS)}")
    return [m for m in EXTRAS[extra] if not _importable(m)]


def install_command(extra: str) -> str:
    """``pip install 'clarify-runner[<extra>]'``."""
    return f"pip install 'clarify-runner[{extra}]'"


def missing_extra_message(extra: str, feature: str) -> str | None:
    """The error message when ``feature`` cannot run because ``extra`` is missing, else None.

    ``"The PDF report needs the 'report' extra: pip install 'clarify-runner[report]'
    (missing module: weasyprint)"``.
    """
    missing = missing_modules(extra)
    if not missing:
        return None
    noun = "module" if len(missing) == 1 else "modules"
    return (
        f"{feature} needs the '{extra}' extra: {install_command(extra)} "
        f"(missing {noun}: {', '.join(missing)})"
    )
