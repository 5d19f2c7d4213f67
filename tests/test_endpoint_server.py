"""The real endpoint server (subprocess on 127.0.0.1): contract, formats, errors, string features."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import requests
from _endpoint_helpers import (
    CONTENT_TYPES,
    decode_rows,
    encode_records,
    german_credit_records,
    invoke,
    records_to_csv,
)
from _model_server import (
    running_endpoint,
    save_sklearn_model,
    train_mixed_type_pipeline,
    train_sklearn_classifier,
    write_sklearn_model_dir,
)


@pytest.fixture(scope="module")
def sklearn_endpoint(tmp_path_factory):
    """A joblib LogisticRegression (4 features, binary) served with the default settings."""
    model, X = train_sklearn_classifier(n_features=4)
    folder = write_sklearn_model_dir(tmp_path_factory.mktemp("sk") / "model", model)
    with running_endpoint(folder) as url:
        yield url, model, X[:7]


def test_ping_advertises_the_binary_format(sklearn_endpoint) -> None:
    url, _, _ = sklearn_endpoint
    resp = requests.get(url + "/ping", timeout=2)
    assert resp.status_code == 200
    assert resp.headers["X-Clarify-Runner-Accept"] == "application/x-npy"


@pytest.mark.parametrize("accept", CONTENT_TYPES)
@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_every_format_pair_returns_all_class_probabilities(sklearn_endpoint, content_type, accept) -> None:
    url, model, X = sklearn_endpoint
    resp = invoke(url, encode_records(X, content_type), content_type, accept)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith(accept)
    got = decode_rows(resp.content, accept)
    assert got.shape == (len(X), 2)
    np.testing.assert_allclose(got, model.predict_proba(X), rtol=1e-12)


def test_plain_json_list_single_record_and_default_accept(sklearn_endpoint) -> None:
    url, model, X = sklearn_endpoint
    resp = invoke(url, json.dumps(X.tolist()).encode(), "application/json")
    assert resp.headers["Content-Type"].startswith("application/json")
    np.testing.assert_allclose(resp.json(), model.predict_proba(X), rtol=1e-12)
    one = ",".join(repr(float(v)) for v in X[0]).encode()  # no trailing newline
    resp = invoke(url, one, "text/csv")
    assert resp.text.count("\n") == 1
    np.testing.assert_allclose(decode_rows(resp.content, "text/csv"), model.predict_proba(X[:1]), rtol=1e-12)


def test_custom_attributes_are_echoed(sklearn_endpoint) -> None:
    url, _, X = sklearn_endpoint
    resp = invoke(url, encode_records(X, "text/csv"), X_Amzn_SageMaker_Custom_Attributes="trace=abc;x=1")
    assert resp.status_code == 200
    assert resp.headers["X-Amzn-SageMaker-Custom-Attributes"] == "trace=abc;x=1"


def test_bad_requests_never_crash_the_server(sklearn_endpoint) -> None:
    url, model, X = sklearn_endpoint
    good = encode_records(X, "text/csv")

    resp = invoke(url, good + b'1.0,"unterminated\n')
    assert resp.status_code == 400 and f"line {len(X) + 1}" in resp.text

    resp = invoke(url, b"1,2,3\n4,5,6\n")
    assert resp.status_code == 400 and "3 features" in resp.text and "expects 4" in resp.text

    resp = invoke(url, b"1,2,3,4\n4,5,6\n")
    assert resp.status_code == 400 and "line 2" in resp.text

    resp = invoke(url, good, "image/png")
    assert resp.status_code == 415 and "image/png" in resp.text

    resp = invoke(url, good, "text/csv", "image/png")
    assert resp.status_code == 406

    resp = invoke(url, b"0.5," * (6 * 1024 * 1024 // 4 + 1) + b"0\n")
    assert resp.status_code == 413

    resp = invoke(url, b"")
    assert resp.status_code == 400 and "empty" in resp.text

    # string features reach a numeric-only model: the client's cell is at fault (400), named
    resp = invoke(url, b"a,b,c,d\n")
    assert resp.status_code == 400
    assert resp.text == ("record 1, column 1 (counting from 1): 'a' is not a number; "
                         "the model raised ValueError: could not convert string to float: 'a'")

    resp = invoke(url, good)
    assert resp.status_code == 200
    np.testing.assert_allclose(decode_rows(resp.content, "text/csv"), model.predict_proba(X), rtol=1e-12)


def test_unparseable_and_empty_cells_are_400_naming_record_and_column(sklearn_endpoint) -> None:
    url, _, _ = sklearn_endpoint
    resp = invoke(url, b"1,2,3,4\n40,abc,35,1\n")
    assert (resp.status_code, resp.text) == (
        400,
        "record 2, column 2 (counting from 1): 'abc' is not a number; the model raised ValueError: could not "
        "convert string to float: 'abc'",
    )
    resp = invoke(url, b"1,2,3,4\n5,6,,8\n")
    assert resp.status_code == 400
    assert resp.text.startswith(
        "record 2, column 3 (counting from 1): the cell is empty (the model cannot take missing values); "
        "the model raised ValueError: Input X contains NaN."
    )
    # the runtime API route answers as SageMaker does: 424 with the original 400 and text
    resp = requests.post(url + "/endpoints/x/invocations", data=b"1,2,3,4\n40,abc,35,1\n",
                         headers={"Content-Type": "text/csv"}, timeout=30)
    doc = resp.json()
    assert (resp.status_code, doc["OriginalStatusCode"]) == (424, 400)
    assert doc["OriginalMessage"].startswith("record 2, column 2 (counting from 1): 'abc' is not a number")


# --------------------------------------------------------------------------- string features + tarball


@pytest.fixture(scope="module")
def german_credit_endpoint(tmp_path_factory, german_credit_csv_path):
    """A skops Pipeline(OneHotEncoder by column index) in ``model.tar.gz``, label+probability output."""
    X, y, categorical = german_credit_records(german_credit_csv_path)
    model = train_mixed_type_pipeline(X, y, categorical)
    inner = save_sklearn_model(model, tmp_path_factory.mktemp("gc_inner"), fmt="skops")
    folder = tmp_path_factory.mktemp("gc_model")
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        tar.add(inner / "model.skops", arcname="model.skops")
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probability", "MAX_CONTENT_LENGTH": "50000"}
    with running_endpoint(folder, env=env) as url:
        yield url, model, X[:50], folder


@pytest.fixture(scope="module")
def german_credit_csv_path() -> Path:
    return Path(__file__).resolve().parents[1] / "examples" / "german_credit" / "german_credit.csv"


def test_string_features_through_csv_with_tarball_model(german_credit_endpoint) -> None:
    url, model, X, folder = german_credit_endpoint
    resp = invoke(url, records_to_csv(X))
    assert resp.status_code == 200, resp.text
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert len(rows) == len(X)
    np.testing.assert_array_equal([int(r[0]) for r in rows], model.predict(X))
    np.testing.assert_allclose([float(r[1]) for r in rows], model.predict_proba(X)[:, 1], rtol=1e-12)
    assert sorted(p.name for p in folder.iterdir()) == ["model.tar.gz"]  # model folder only read


def test_selected_output_as_json_and_jsonlines(german_credit_endpoint) -> None:
    url, model, X, _ = german_credit_endpoint
    body = json.dumps({"instances": X[:5].tolist()}).encode()
    doc = invoke(url, body, "application/json", "application/json").json()
    assert [p["predicted_label"] for p in doc["predictions"]] == model.predict(X[:5]).tolist()
    resp = invoke(url, body, "application/json", "application/jsonlines")
    lines = [json.loads(line) for line in resp.text.splitlines()]
    np.testing.assert_allclose(
        [e["probability"] for e in lines], model.predict_proba(X[:5])[:, 1], rtol=1e-12
    )


def test_configured_payload_limit(german_credit_endpoint) -> None:
    url, model, X, _ = german_credit_endpoint
    resp = invoke(url, records_to_csv(np.concatenate([X] * 20)))
    assert resp.status_code == 413 and "50000" in resp.text
    assert invoke(url, records_to_csv(X[:2])).status_code == 200
