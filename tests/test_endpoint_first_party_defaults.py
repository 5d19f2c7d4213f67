"""What local_endpoint answers by default, flavour by flavour, against the SageMaker containers.

* SageMaker's XGBoost container returns ``booster.predict`` as is (``encoders.encode`` of
  ``preds.tolist()``): one number per record for ``binary:*`` objectives, the class index for
  ``multi:softmax``, every class probability for ``multi:softprob``, the value for regression.
* SageMaker's built-in LightGBM algorithm returns P(1) for a binary model (an (n, 1) array)
  and every class probability for a multi-class one.
* A scikit-learn classifier returns ``predict_proba`` (every class probability), as an
  ``inference.py`` whose ``predict_fn`` calls ``predict_proba`` does (the SageMaker
  scikit-learn container has no default ``model_fn``; its default ``predict_fn`` is ``predict``).

``SAGEMAKER_INFERENCE_OUTPUT`` still selects more (``probabilities`` gives ``p0,p1``).
"""

from __future__ import annotations

import csv
import io

import lightgbm
import numpy as np
import pytest
import xgboost
from _endpoint_helpers import encode_records, invoke
from _model_server import make_classification_data, running_endpoint, save_sklearn_model
from sklearn.linear_model import LogisticRegression

from local_endpoint import encode as enc
from local_endpoint.models import load_model


def _csv_rows(body: bytes) -> list[list[float]]:
    return [[float(v) for v in row] for row in csv.reader(io.StringIO(body.decode()))]


def _default_csv(model_dir, X: np.ndarray) -> list[list[float]]:
    model = load_model(model_dir)
    return _csv_rows(enc.encode(enc.select(model.predict(X), None), "text/csv", False))


def _xgb_booster(tmp_path, objective: str, n_classes: int = 2, **params) -> tuple:
    X, y = make_classification_data(n_features=5, n_classes=n_classes, random_state=7)
    if objective.startswith("reg"):
        y = y * 2.5 + 1.0
    if objective == "binary:hinge":
        y = y.astype(float)
    all_params = {"objective": objective, "max_depth": 3, "nthread": 1, **params}
    booster = xgboost.train(all_params, xgboost.DMatrix(X, label=y), num_boost_round=6)
    folder = tmp_path / objective.replace(":", "_")
    folder.mkdir()
    booster.save_model(folder / "xgboost-model.json")
    return folder, booster, X[:7]


@pytest.mark.parametrize("objective", ["binary:logistic", "binary:logitraw", "binary:hinge"])
def test_xgboost_binary_objectives_answer_one_number_per_record(tmp_path, objective: str) -> None:
    folder, booster, X = _xgb_booster(tmp_path, objective)
    rows = _default_csv(folder, X)
    want = booster.predict(xgboost.DMatrix(X))
    assert [len(r) for r in rows] == [1] * len(X)
    np.testing.assert_allclose([r[0] for r in rows], want, rtol=1e-6, atol=1e-7)


def test_xgboost_multiclass_objectives(tmp_path) -> None:
    folder, booster, X = _xgb_booster(tmp_path, "multi:softprob", n_classes=3, num_class=3)
    rows = _default_csv(folder, X)
    np.testing.assert_allclose(rows, booster.predict(xgboost.DMatrix(X)), rtol=1e-6, atol=1e-7)
    assert len(rows[0]) == 3
    folder, booster, X = _xgb_booster(tmp_path, "multi:softmax", n_classes=3, num_class=3)
    rows = _default_csv(folder, X)
    assert [r for r in rows] == [[float(v)] for v in booster.predict(xgboost.DMatrix(X))]


def test_xgboost_regression_answers_the_value(tmp_path) -> None:
    folder, booster, X = _xgb_booster(tmp_path, "reg:squarederror")
    rows = _default_csv(folder, X)
    np.testing.assert_allclose([r[0] for r in rows], booster.predict(xgboost.DMatrix(X)), rtol=1e-6)


def test_lightgbm_binary_answers_p1_and_multiclass_every_probability(tmp_path) -> None:
    X, y = make_classification_data(n_features=6, random_state=8)
    binary = lightgbm.LGBMClassifier(n_estimators=6, verbose=-1).fit(X, y)
    (tmp_path / "bin").mkdir()
    binary.booster_.save_model(tmp_path / "bin" / "model.txt")
    rows = _default_csv(tmp_path / "bin", X[:7])
    assert [len(r) for r in rows] == [1] * 7
    np.testing.assert_allclose([r[0] for r in rows], binary.predict_proba(X[:7])[:, 1], rtol=1e-9)

    X3, y3 = make_classification_data(n_features=6, n_classes=3, random_state=9)
    multi = lightgbm.LGBMClassifier(n_estimators=6, verbose=-1).fit(X3, y3)
    (tmp_path / "multi").mkdir()
    multi.booster_.save_model(tmp_path / "multi" / "model.txt")
    np.testing.assert_allclose(
        _default_csv(tmp_path / "multi", X3[:7]), multi.predict_proba(X3[:7]), rtol=1e-9
    )


def test_sklearn_classifiers_answer_every_class_probability(tmp_path) -> None:
    X, y = make_classification_data(n_features=4, random_state=10)
    model = LogisticRegression().fit(X, y)
    folder = save_sklearn_model(model, tmp_path / "sk", "skops")
    rows = _default_csv(folder, X[:5])
    np.testing.assert_allclose(rows, model.predict_proba(X[:5]), rtol=1e-12)
    assert len(rows[0]) == 2


def test_inference_output_still_selects_both_probabilities(tmp_path) -> None:
    folder, booster, X = _xgb_booster(tmp_path, "binary:logistic")
    p1 = booster.predict(xgboost.DMatrix(X))
    model = load_model(folder)
    keys = enc.parse_output_keys("probabilities")
    rows = _csv_rows(enc.encode(enc.select(model.predict(X), keys), "text/csv", True))
    np.testing.assert_allclose(rows, np.column_stack([1 - p1, p1]), rtol=1e-6, atol=1e-7)


def test_served_binary_xgboost_answers_like_the_sagemaker_container(tmp_path) -> None:
    """Over HTTP: CSV one P(1) per line by default; SAGEMAKER_INFERENCE_OUTPUT asks for more."""
    folder, booster, X = _xgb_booster(tmp_path, "binary:logistic")
    p1 = booster.predict(xgboost.DMatrix(X))
    body = encode_records(X, "text/csv")
    with running_endpoint(folder) as url:
        resp = invoke(url, body, "text/csv", "text/csv")
        assert resp.status_code == 200, resp.text
        rows = _csv_rows(resp.content)
    assert [len(r) for r in rows] == [1] * len(X)
    np.testing.assert_allclose([r[0] for r in rows], p1, rtol=1e-6)
    env = {enc.OUTPUT_ENV: "predicted_label,probability"}
    with running_endpoint(folder, env=env) as url:
        rows = _csv_rows(invoke(url, body, "text/csv", "text/csv").content)
    np.testing.assert_allclose(rows, np.column_stack([(p1 > 0.5).astype(float), p1]), rtol=1e-6)
