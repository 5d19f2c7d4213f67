"""Load a model folder into a :class:`LoadedModel` (scikit-learn, skops, XGBoost, LightGBM).

.. warning::
   **Only load models you trust.** The scikit-learn flavour reads joblib/pickle files,
   and unpickling runs arbitrary code chosen by whoever wrote the file. Prefer the
   non-pickle formats: ``skops`` (``*.skops``), XGBoost's native JSON/UBJ booster and
   LightGBM's text model. A skops file may only hold the types skops trusts by default
   (scikit-learn, numpy, scipy, ...) plus those listed in ``CLARIFY_RUNNER_SKOPS_TRUSTED``
   (comma-separated type names, or ``*``).

The flavour is detected from the files in the folder, or named by the environment
variable ``CLARIFY_RUNNER_MODEL_FLAVOR`` (``sklearn``, ``skops``, ``xgboost``,
``lightgbm``); ``CLARIFY_RUNNER_MODEL_FILE`` picks the file when several could match.

Detection, in order: ``*.skops`` → skops; ``*.joblib``/``*.pkl``/``*.pickle`` → sklearn;
``*.ubj``, ``xgboost-model``, or a ``*.json`` holding a ``"learner"`` key → xgboost;
a ``*.txt``/``*.lgb``/``*.model`` file starting with ``tree`` → lightgbm.

The folder itself is only read; a ``model.tar.gz`` in it is extracted into a private
temporary folder.
"""

from __future__ import annotations

import atexit
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clarify_common.extras import missing_extra_message
from local_endpoint.errors import ModelLoadError
from local_endpoint.settings import MODEL_FILE, MODEL_FLAVOR, SKOPS_TRUSTED, server_settings
from local_endpoint.text_input import TextInput, find_text_input, model_input

FLAVOR_ENV = MODEL_FLAVOR.name
FILE_ENV = MODEL_FILE.name
SKOPS_TRUSTED_ENV = SKOPS_TRUSTED.name
FLAVORS = ("sklearn", "skops", "xgboost", "lightgbm", "forecaster", "image")
IMAGE_MANIFEST = "image_model.json"  # an image model folder (see local_endpoint.image_models)
TARBALL = "model.tar.gz"

#: The optional extra each flavour needs (``pip install 'clarify-runner[<extra>]'``).
FLAVOR_EXTRAS = {"xgboost": "xgboost", "lightgbm": "lightgbm"}

__all__ = ["FLAVORS", "LoadedModel", "ModelLoadError", "Prediction", "detect_flavor", "load_model"]


@dataclass
class Prediction:
    """What a model answered for ``n`` records.

    ``probabilities`` is ``(n, n_classes)`` for a classifier that gives probabilities
    (``None`` otherwise); ``labels`` are the class labels in column order;
    ``predicted_label`` is ``(n,)``; ``score`` is the ``(n,)`` output of a regressor (or of a
    classifier without probabilities, its label; or a raw margin). ``default_keys`` are the
    ``SAGEMAKER_INFERENCE_OUTPUT`` keys that reproduce what the flavour's SageMaker
    first-party container answers when nothing is selected (``None``: every class probability,
    else the label, else the score; see ``local_endpoint/README.md``).
    """

    n: int
    probabilities: np.ndarray | None = None
    labels: np.ndarray | None = None
    predicted_label: np.ndarray | None = None
    score: np.ndarray | None = None
    default_keys: tuple[str, ...] | None = None


@dataclass
class LoadedModel:
    """A loaded model with a uniform ``predict`` (records → :class:`Prediction`)."""

    flavor: str
    path: Path
    n_features: int | None
    estimator: Any
    objective: str = ""
    text_input: TextInput | None = None  # raw-text input columns (see local_endpoint.text_input)

    def predict(self, X: np.ndarray) -> Prediction:
        """Run the model on a 2-D array of records."""
        return _PREDICTORS[self.flavor](self, X)


# --------------------------------------------------------------------------- predictors


def _from_probabilities(proba: np.ndarray, classes: np.ndarray) -> Prediction:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    return Prediction(
        n=proba.shape[0],
        probabilities=proba,
        labels=classes,
        predicted_label=classes[np.argmax(proba, axis=1)],
    )


def _predict_sklearn(model: LoadedModel, X: np.ndarray) -> Prediction:
    est = model.estimator
    X = model_input(X, model.text_input)
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        classes = getattr(est, "classes_", None)
        if classes is None:
            classes = np.arange(np.shape(proba)[1])
        return _from_probabilities(proba, np.asarray(classes))
    out = np.asarray(est.predict(X))
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if getattr(est, "_estimator_type", None) == "classifier" or hasattr(est, "classes_"):
        return Prediction(n=out.shape[0], predicted_label=out, score=out)
    return Prediction(n=out.shape[0], score=out)


def _predict_xgboost(model: LoadedModel, X: np.ndarray) -> Prediction:
    import xgboost

    if X.dtype == object:
        X = X.astype(np.float64)
    booster = model.estimator
    # A booster trained on a DataFrame keeps its column names and refuses unnamed input.
    raw = booster.predict(xgboost.DMatrix(X, feature_names=booster.feature_names))
    return _from_objective(model, raw)


def _predict_lightgbm(model: LoadedModel, X: np.ndarray) -> Prediction:
    if X.dtype == object:
        X = X.astype(np.float64)
    raw = model.estimator.predict(X)
    return _from_objective(model, raw)


#: Binary objectives whose output is P(class 1): XGBoost's ``binary:logistic``, LightGBM's
#: ``binary`` and cross-entropy objectives.
_BINARY_PROBABILITY = ("binary:logistic", "binary", "xentropy", "cross_entropy")


def _from_objective(model: LoadedModel, raw: np.ndarray) -> Prediction:
    """A boosted model's output, answered by default as the SageMaker containers answer it.

    The SageMaker XGBoost container returns ``booster.predict`` as is: one number per record
    for binary objectives (P(1) for ``binary:logistic``, the margin for ``binary:logitraw``,
    0/1 for ``binary:hinge``), the class index for ``multi:softmax``, every class probability
    for ``multi:softprob``, the score for regression. SageMaker's built-in LightGBM algorithm
    likewise returns P(1) for binary and every class probability for multiclass models.
    """
    raw = np.asarray(raw, dtype=np.float64)
    obj = model.objective
    binary_labels = np.array([0, 1])
    if obj in _BINARY_PROBABILITY:
        pred = _from_probabilities(raw.reshape(-1), binary_labels)
        pred.default_keys = ("probability",)
        return pred
    if obj.startswith("binary"):  # binary:logitraw (a margin) or binary:hinge (0/1)
        raw = raw.reshape(-1)
        label = (raw > 0).astype(np.int64) if obj == "binary:logitraw" else raw.astype(np.int64)
        return Prediction(
            n=raw.shape[0],
            labels=binary_labels,
            predicted_label=label,
            score=raw,
            default_keys=("predicted_score",),
        )
    if obj.startswith("multi"):
        if raw.ndim == 1:  # multi:softmax gives the class index only
            return Prediction(
                n=raw.shape[0],
                predicted_label=raw.astype(np.int64),
                score=raw,
                default_keys=("predicted_label",),
            )
        pred = _from_probabilities(raw, np.arange(raw.shape[1]))
        pred.default_keys = ("probabilities",)
        return pred
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw[:, 0]
    return Prediction(n=raw.shape[0], score=raw, default_keys=("predicted_score",))


def _predict_image(model: LoadedModel, X: np.ndarray) -> Prediction:
    raise TypeError("image models answer through local_endpoint.image_models.respond, not predict()")


_PREDICTORS = {
    "image": _predict_image,
    "sklearn": _predict_sklearn,
    "skops": _predict_sklearn,
    "xgboost": _predict_xgboost,
    "lightgbm": _predict_lightgbm,
}


# --------------------------------------------------------------------------- loaders


def _load_sklearn(path: Path) -> LoadedModel:
    import joblib

    est = joblib.load(path)
    return _sklearn_model("sklearn", path, est)


def _sklearn_model(flavor: str, path: Path, est: Any) -> LoadedModel:
    text = find_text_input(est)
    n_features = 1 if text is not None and text.one_dimensional else getattr(est, "n_features_in_", None)
    return LoadedModel(flavor, path, n_features, est, text_input=text)


def _load_skops(path: Path) -> LoadedModel:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    allowed = server_settings().skops_trusted
    refused = [t for t in untrusted if t not in allowed and "*" not in allowed]
    if refused:
        raise ModelLoadError(
            f"{path.name} holds types that skops does not trust by default: {', '.join(refused)}; "
            f"if you trust them, set {SKOPS_TRUSTED_ENV}={','.join(refused)}"
        )
    est = sio.load(path, trusted=untrusted)
    return _sklearn_model("skops", path, est)


def _load_xgboost(path: Path) -> LoadedModel:
    import json

    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(path))
    config = json.loads(booster.save_config())
    objective = config["learner"]["objective"]["name"]
    return LoadedModel("xgboost", path, booster.num_features(), booster, objective=objective)


def _load_lightgbm(path: Path) -> LoadedModel:
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    objective = ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("objective="):
                objective = line.split("=", 1)[1].split()[0]
                break
            if line.startswith("Tree="):
                break
    return LoadedModel("lightgbm", path, booster.num_feature(), booster, objective=objective)


def _load_forecaster(path: Path) -> LoadedModel:
    from local_endpoint.forecasting import load_forecaster

    return load_forecaster(path)


def _load_image(path: Path) -> LoadedModel:
    from local_endpoint.image_models import load_image_model

    return LoadedModel("image", path, None, load_image_model(path))


_LOADERS = {
    "image": _load_image,
    "sklearn": _load_sklearn,
    "skops": _load_skops,
    "xgboost": _load_xgboost,
    "lightgbm": _load_lightgbm,
    "forecaster": _load_forecaster,
}


# --------------------------------------------------------------------------- detection


def _head(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def detect_flavor(path: Path) -> str | None:
    """The flavour of one model file judged from its name and first bytes, or ``None``."""
    name = path.name.lower()
    if name == "forecaster.json":  # a forecasting model (local_endpoint.forecasting); wins over its regressor
        return "forecaster"
    if name == IMAGE_MANIFEST:
        return "image"
    if name.endswith(".skops"):
        return "skops"
    if name.endswith((".joblib", ".pkl", ".pickle")):
        return "sklearn"
    if name.endswith(".ubj") or name in ("xgboost-model", "xgboost-model.json", "model.xgb"):
        return "xgboost"
    if name.endswith(".json") and b'"learner"' in _head(path, 1 << 16):
        return "xgboost"
    if name.endswith((".txt", ".lgb", ".lgbm", ".model")) and _head(path, 8).startswith(b"tree"):
        return "lightgbm"
    return None


def model_files(folder: Path) -> list[tuple[Path, str]]:
    """Every file directly in ``folder`` that looks like a model, with its flavour."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            flavor = detect_flavor(path)
            if flavor is not None:
                found.append((path, flavor))
    return found


def extract_tarball(tarball: Path) -> Path:
    """Extract ``model.tar.gz`` into a new private temporary folder and return it."""
    target = Path(tempfile.mkdtemp(prefix="local-endpoint-model-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    try:
        with tarfile.open(tarball, "r:*") as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise ModelLoadError(f"cannot extract {tarball}: {exc}") from exc
    entries = list(target.iterdir())
    if not model_files(target) and len(entries) == 1 and entries[0].is_dir():
        return entries[0]  # a tarball holding one folder
    return target


def _resolve_folder(folder: Path) -> Path:
    """A folder holding model files: ``folder`` itself, or the extraction of its tarball."""
    if model_files(folder) or server_settings().model_file:
        return folder
    tarball = folder / TARBALL
    if tarball.is_file():
        return extract_tarball(tarball)
    return folder


def has_model(folder: Path) -> bool:
    """True if ``folder`` directly holds a model file or a ``model.tar.gz``."""
    return bool(model_files(folder)) or (folder / TARBALL).is_file()


def load_model(location: str | Path) -> LoadedModel:
    """Load the model at ``location``: a folder, a model file, or a ``*.tar.gz``.

    Raises :class:`ModelLoadError` naming the folder when nothing loadable is found.
    """
    location = Path(location)
    if location.is_file() and location.name.endswith((".tar.gz", ".tgz")):
        location = extract_tarball(location)
    env = server_settings()
    flavor = env.model_flavor
    if flavor is not None and flavor not in FLAVORS:
        raise ModelLoadError(f"{FLAVOR_ENV}={flavor!r} is not one of {', '.join(FLAVORS)}")
    if location.is_file():
        path = location
    else:
        if not location.is_dir():
            raise ModelLoadError(f"model folder {location} does not exist")
        folder = _resolve_folder(location)
        chosen = env.model_file
        if chosen:
            path = folder / chosen
            if not path.is_file():
                raise ModelLoadError(f"{FILE_ENV}={chosen!r}: no such file in {folder}")
        else:
            # a forecaster's or an image model's manifest wins over the estimator file next to it
            candidates = sorted(model_files(folder), key=lambda c: c[1] not in ("forecaster", "image"))
            if flavor is not None:
                candidates = [c for c in candidates if c[1] == flavor] or candidates
            if not candidates:
                raise ModelLoadError(
                    f"no model file in {location}: expected *.skops, *.joblib, *.pkl, an XGBoost "
                    f"*.json/*.ubj, a LightGBM *.txt, or {TARBALL}"
                )
            path = candidates[0][0]
    flavor = flavor or detect_flavor(path)
    if flavor is None:
        raise ModelLoadError(f"cannot tell the flavour of {path}; set {FLAVOR_ENV}")
    if flavor in FLAVOR_EXTRAS:
        message = missing_extra_message(FLAVOR_EXTRAS[flavor], f"Serving the {flavor} model {path.name}")
        if message is not None:
            raise ModelLoadError(message)
    try:
        return _LOADERS[flavor](path)
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any loader failure is reported with the file name
        raise ModelLoadError(f"cannot load {path} as a {flavor} model: {type(exc).__name__}: {exc}") from exc
