"""One server over a folder of models (Target-Model header): every flavour, every format, and boto3."""

from __future__ import annotations

import tarfile

import boto3
import numpy as np
import pandas as pd
import pytest
from _endpoint_helpers import CONTENT_TYPES, decode_rows, encode_records, invoke
from _model_server import make_classification_data, running_endpoint, save_sklearn_model
from botocore.config import Config


def _build_models(root):
    """Write one model per flavour under ``root``; return {target: (predict_fn, X)}."""
    import lightgbm
    import xgboost
    from sklearn.linear_model import LogisticRegression

    expected = {}
    X3, y3 = make_classification_data(n_features=4, n_classes=3, random_state=1)
    sk = LogisticRegression(max_iter=1000).fit(X3, y3)
    save_sklearn_model(sk, root / "sklearn_multiclass", "joblib")
    expected["sklearn_multiclass"] = (sk.predict_proba, X3[:6])

    X5, y5 = make_classification_data(n_features=5, random_state=2)
    xgb = xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(X5, y5)
    (root / "xgb_json").mkdir()
    xgb.get_booster().save_model(root / "xgb_json" / "model.json")
    (root / "xgb_ubj").mkdir()
    xgb.get_booster().save_model(root / "xgb_ubj" / "booster.ubj")
    # binary:logistic answers P(1) only, as SageMaker's XGBoost container does
    expected["xgb_json"] = expected["xgb_ubj"] = (lambda X: xgb.predict_proba(X)[:, 1:], X5[:6])

    cols = [f"col_{j}" for j in range(5)]  # a booster trained on a DataFrame keeps these names
    xgbn = xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(pd.DataFrame(X5, columns=cols), y5)
    (root / "xgb_named").mkdir()
    xgbn.get_booster().save_model(root / "xgb_named" / "model.json")
    expected["xgb_named"] = (lambda X: xgbn.predict_proba(pd.DataFrame(X, columns=cols))[:, 1:], X5[:6])

    X6, y6 = make_classification_data(n_features=6, n_classes=3, random_state=3)
    lgb = lightgbm.LGBMClassifier(n_estimators=8, verbose=-1).fit(X6, y6)
    (root / "lgbm").mkdir()
    lgb.booster_.save_model(root / "lgbm" / "model.txt")
    expected["lgbm"] = (lgb.predict_proba, X6[:6])

    reg = lightgbm.LGBMRegressor(n_estimators=8, verbose=-1).fit(X6, y6 * 1.5)
    (root / "lgbm_reg").mkdir()
    reg.booster_.save_model(root / "lgbm_reg" / "model.txt")
    expected["lgbm_reg"] = (lambda X: reg.predict(X).reshape(-1, 1), X6[:6])

    X2, y2 = make_classification_data(n_features=3, random_state=4)
    sk2 = LogisticRegression().fit(X2, y2)
    inner = save_sklearn_model(sk2, root.parent / "skops_inner", "skops")
    with tarfile.open(root / "skops_bin.tar.gz", "w:gz") as tar:
        tar.add(inner / "model.skops", arcname="model.skops")
    expected["skops_bin.tar.gz"] = (sk2.predict_proba, X2[:6])
    return expected


@pytest.fixture(scope="module")
def multi_endpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi") / "models"
    root.mkdir()
    expected = _build_models(root)
    with running_endpoint(root) as url:
        yield url, expected


TARGETS = ["sklearn_multiclass", "xgb_json", "xgb_ubj", "xgb_named", "lgbm", "lgbm_reg", "skops_bin.tar.gz"]


@pytest.mark.parametrize("fmt", CONTENT_TYPES)
@pytest.mark.parametrize("target", TARGETS)
def test_each_flavour_in_each_format(multi_endpoint, target, fmt) -> None:
    url, expected = multi_endpoint
    predict, X = expected[target]
    resp = invoke(url, encode_records(X, fmt), fmt, fmt, X_Amzn_SageMaker_Target_Model=target)
    assert resp.status_code == 200, resp.text
    got = decode_rows(resp.content, fmt)
    want = predict(X)
    if got.ndim == 1:
        got = got.reshape(-1, 1)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)  # xgboost predicts in float32


def test_target_model_errors(multi_endpoint) -> None:
    url, expected = multi_endpoint
    _, X = expected["lgbm"]
    body = encode_records(X, "text/csv")
    resp = invoke(url, body)
    assert resp.status_code == 400 and "X-Amzn-SageMaker-Target-Model" in resp.text and "lgbm" in resp.text
    resp = invoke(url, body, X_Amzn_SageMaker_Target_Model="nope")
    assert resp.status_code == 404 and "nope" in resp.text
    resp = invoke(url, body, X_Amzn_SageMaker_Target_Model="../skops_inner")  # a model outside the folder
    assert resp.status_code == 404
    resp = invoke(url, body, X_Amzn_SageMaker_Target_Model="xgb_json")  # 6 features for a 5-feature model
    assert resp.status_code == 400 and "expects 5" in resp.text
    assert invoke(url, body, X_Amzn_SageMaker_Target_Model="lgbm").status_code == 200


@pytest.fixture
def runtime_client(multi_endpoint, monkeypatch):
    url, _ = multi_endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return boto3.Session().client("sagemaker-runtime", config=Config(retries={"max_attempts": 1}))


def test_boto3_invoke_endpoint(multi_endpoint, runtime_client) -> None:
    _, expected = multi_endpoint
    predict, X = expected["xgb_json"]
    resp = runtime_client.invoke_endpoint(
        EndpointName="shadow-endpoint",
        Body=encode_records(X, "text/csv"),
        ContentType="text/csv",
        Accept="application/json",
        TargetModel="xgb_json",
        CustomAttributes="run=42",
    )
    assert resp["ContentType"].startswith("application/json")
    assert resp["CustomAttributes"] == "run=42"
    got = decode_rows(resp["Body"].read(), "application/json").reshape(len(X), -1)
    np.testing.assert_allclose(got, predict(X), rtol=1e-6)


def test_boto3_sees_model_error_like_sagemaker(multi_endpoint, runtime_client) -> None:
    with pytest.raises(runtime_client.exceptions.ModelError) as info:
        runtime_client.invoke_endpoint(
            EndpointName="shadow-endpoint", Body=b"1,2\n", ContentType="text/csv", TargetModel="lgbm"
        )
    err = info.value.response
    assert err["OriginalStatusCode"] == 400
    assert "expects 6" in err["OriginalMessage"]
    assert "Received client error (400) from primary" in err["Error"]["Message"]
