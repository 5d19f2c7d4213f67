"""Unit tests of the local endpoint's request decoders, response encoders and model loading."""

from __future__ import annotations

import csv
import io
import json
import tarfile

import numpy as np
import pytest
from _model_server import (
    SlowClassifier,
    make_classification_data,
    train_sklearn_classifier,
    write_sklearn_model_dir,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from local_endpoint import decode as dec
from local_endpoint import encode as enc
from local_endpoint.errors import BadRequest, ModelFailure, NotAcceptable, UnsupportedMediaType
from local_endpoint.models import FLAVOR_ENV, ModelLoadError, Prediction, load_model

# ----------------------------------------------------------------------------- decoding


def test_csv_all_numeric_is_float64() -> None:
    X = dec.decode(b"1,2.5,-3\n4,5e-3,6\n", "text/csv; charset=utf-8")
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[1, 2.5, -3], [4, 5e-3, 6]])


def test_csv_strings_give_object_array_with_float_and_str_columns() -> None:
    X = dec.decode_csv(b'1,"male",own,2020-01-01\n4,"a, b",true,x\n')
    assert X.dtype == object and X.shape == (2, 4)
    assert X[0, 0] == 1.0 and isinstance(X[0, 0], float)
    assert list(X[:, 1]) == ["male", "a, b"]
    assert list(X[:, 2]) == ["own", "true"]
    assert list(X[:, 3]) == ["2020-01-01", "x"]


def test_csv_single_line_without_newline() -> None:
    np.testing.assert_array_equal(dec.decode_csv(b"1,2,3"), [[1, 2, 3]])
    np.testing.assert_array_equal(dec.decode_csv(b"1,2\r\n3,4"), [[1, 2], [3, 4]])


def test_csv_empty_numeric_cell_is_nan() -> None:
    X = dec.decode_csv(b"1,,3\n4,5,6\n")
    assert np.isnan(X[0, 1]) and X[1, 1] == 5


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"1,2,3\n4,5\n", "line 2"),
        (b"1,2\n3,4\n5,6,7\n", "line 3"),
        (b'1,2\n"abc,3\n', "line 2"),
        (b"1,2\n\xff\xfe,3\n", "line 2"),
    ],
)
def test_csv_errors_name_the_line(body: bytes, needle: str) -> None:
    with pytest.raises(BadRequest, match=needle):
        dec.decode_csv(body)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=3, max_size=3),
        min_size=1,
        max_size=20,
    )
)
def test_csv_roundtrip_of_floats(rows: list[list[float]]) -> None:
    body = "".join(",".join(repr(v) for v in row) + "\n" for row in rows).encode()
    np.testing.assert_array_equal(dec.decode_csv(body), np.array(rows))


def test_json_forms() -> None:
    np.testing.assert_array_equal(dec.decode_json(b'{"instances": [[1, 2], [3, 4]]}'), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(dec.decode_json(b"[[1, 2], [3, 4]]"), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(dec.decode_json(b"[1, 2]"), [[1, 2]])
    np.testing.assert_array_equal(dec.decode_json(b'[{"features": [1, 2]}]'), [[1, 2]])
    mixed = dec.decode_json(b'{"instances": [[1, "a"], [2, "b"]]}')
    assert mixed.dtype == object and list(mixed[:, 1]) == ["a", "b"] and mixed[1, 0] == 2.0


def test_json_errors() -> None:
    with pytest.raises(BadRequest, match="line 2"):
        dec.decode_json(b"[[1, 2],\n [3, 4}")
    with pytest.raises(BadRequest, match="record 1 has 1 features"):
        dec.decode_json(b"[[1, 2], [3]]")
    with pytest.raises(BadRequest, match="instances"):
        dec.decode_json(b'{"rows": []}')


def test_jsonlines() -> None:
    X = dec.decode(b'{"features": [1, 2]}\n\n[3, 4]\n', "application/jsonlines")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    with pytest.raises(BadRequest, match="line 2"):
        dec.decode_jsonlines(b"[1, 2]\n[3, \n")


def test_npy() -> None:
    sink = io.BytesIO()
    np.save(sink, np.arange(6, dtype=np.int32).reshape(2, 3))
    X = dec.decode(sink.getvalue(), "application/x-npy")
    assert X.dtype == np.float64 and X.shape == (2, 3)
    with pytest.raises(BadRequest, match="x-npy"):
        dec.decode_npy(b"not an npy file")
    sink = io.BytesIO()
    np.save(sink, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BadRequest):
        dec.decode_npy(sink.getvalue())


def _npy(arr: np.ndarray, **kwargs) -> bytes:
    sink = io.BytesIO()
    np.lib.format.write_array(sink, arr, allow_pickle=False, **kwargs)
    return sink.getvalue()


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(12.0).reshape(3, 4),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),  # column-major header
        np.arange(12.0).reshape(3, 4).astype(">f8"),  # big-endian
        np.arange(12, dtype=np.uint8).reshape(3, 4),
        np.arange(4.0),  # 1-D: one record
    ],
)
def test_npy_layouts_decode_like_np_load(arr) -> None:
    body = _npy(arr)
    expected = np.load(io.BytesIO(body)).astype(np.float64).reshape(-1, arr.shape[-1])
    got = dec.decode(body, "application/x-npy")
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float64


def test_npy_version_2_header_and_in_place_view() -> None:
    arr = np.arange(6.0).reshape(2, 3)
    body = bytearray(_npy(arr, version=(2, 0)))
    got = dec.decode_npy(body)
    np.testing.assert_array_equal(got, arr)
    got[0, 0] = 42.0  # a writable view of the request buffer, no copy
    assert np.frombuffer(body, dtype=np.float64)[-6] == 42.0


def test_npy_truncated_body_is_a_400_naming_the_sizes() -> None:
    body = _npy(np.arange(12.0).reshape(3, 4))
    with pytest.raises(BadRequest, match="holds 88 bytes of data, its header announces 96"):
        dec.decode_npy(body[:-8])


def test_unsupported_type_and_empty_body() -> None:
    with pytest.raises(UnsupportedMediaType, match="image/png"):
        dec.decode(b"x", "image/png")
    with pytest.raises(BadRequest, match="empty"):
        dec.decode(b"  \n", "text/csv")


# ----------------------------------------------------------------------------- encoding


def _binary_prediction() -> Prediction:
    proba = np.array([[0.25, 0.75], [0.9, 0.1], [0.5, 0.5]])
    labels = np.array([0, 1])
    return Prediction(n=3, probabilities=proba, labels=labels, predicted_label=labels[proba.argmax(1)])


def test_default_output_is_every_class_probability_one_row_per_record() -> None:
    selected = enc.select(_binary_prediction(), None)
    rows = list(csv.reader(io.StringIO(enc.encode(selected, "text/csv", False).decode())))
    assert [[float(v) for v in r] for r in rows] == [[0.25, 0.75], [0.9, 0.1], [0.5, 0.5]]
    assert json.loads(enc.encode(selected, "application/json", False)) == [
        [0.25, 0.75],
        [0.9, 0.1],
        [0.5, 0.5],
    ]
    lines = enc.encode(selected, "application/jsonlines", False).decode().splitlines()
    assert [json.loads(x) for x in lines] == [[0.25, 0.75], [0.9, 0.1], [0.5, 0.5]]
    arr = np.load(io.BytesIO(enc.encode(selected, "application/x-npy", False)))
    assert arr.dtype == np.float64 and arr.shape == (3, 2)


def test_selected_outputs_like_the_xgboost_container() -> None:
    keys = enc.parse_output_keys("predicted_label, probability,probabilities")
    selected = enc.select(_binary_prediction(), keys)
    text = enc.encode(selected, "text/csv", True).decode()
    assert text.splitlines()[0] == '1,0.75,"[0.25, 0.75]"'
    doc = json.loads(enc.encode(selected, "application/json", True))
    assert doc["predictions"][1] == {"predicted_label": 0, "probability": 0.1, "probabilities": [0.9, 0.1]}
    lines = enc.encode(selected, "application/jsonlines", True).decode().splitlines()
    assert json.loads(lines[2])["probability"] == 0.5
    two = enc.select(_binary_prediction(), ("predicted_label", "probability"))
    assert enc.encode(two, "text/csv", True).decode().splitlines() == ["1,0.75", "0,0.1", "0,0.5"]


def test_output_key_errors() -> None:
    with pytest.raises(ValueError, match="bogus"):
        enc.parse_output_keys("predicted_label,bogus")
    regression = Prediction(n=2, score=np.array([1.5, 2.5]))
    with pytest.raises(ModelFailure, match="probabilities"):
        enc.select(regression, ("probabilities",))
    assert enc.encode(enc.select(regression, None), "text/csv", False) == b"1.5\n2.5\n"
    strings = Prediction(n=1, predicted_label=np.array(["good"], dtype=object))
    with pytest.raises(NotAcceptable, match="numeric"):
        enc.encode(enc.select(strings, None), "application/x-npy", False)


def test_choose_accept() -> None:
    assert enc.choose_accept(None, "application/x-npy", None) == "application/x-npy"
    assert enc.choose_accept("*/*", "text/csv", "application/json") == "application/json"
    assert (
        enc.choose_accept("image/png, application/jsonlines;q=0.9", "text/csv", None)
        == "application/jsonlines"
    )
    with pytest.raises(NotAcceptable):
        enc.choose_accept("image/png", "text/csv", None)


# ----------------------------------------------------------------------------- loading


def test_load_model_flavours_and_env_override(tmp_path, monkeypatch) -> None:
    model, X = train_sklearn_classifier()
    folder = write_sklearn_model_dir(tmp_path / "m", model)
    loaded = load_model(folder)
    assert loaded.flavor == "sklearn" and loaded.n_features == 4
    np.testing.assert_allclose(loaded.predict(X[:5]).probabilities, model.predict_proba(X[:5]))
    # a pickle under a neutral name: only the env var can tell the flavour
    (folder / "model.joblib").rename(folder / "weights.bin")
    with pytest.raises(ModelLoadError, match="no model file"):
        load_model(folder)
    monkeypatch.setenv(FLAVOR_ENV, "sklearn")
    monkeypatch.setenv("CLARIFY_RUNNER_MODEL_FILE", "weights.bin")
    assert load_model(folder).flavor == "sklearn"
    monkeypatch.setenv(FLAVOR_ENV, "tensorflow")
    with pytest.raises(ModelLoadError, match="tensorflow"):
        load_model(folder)


def test_load_model_from_tarball_leaves_the_folder_untouched(tmp_path) -> None:
    model, X = train_sklearn_classifier()
    inner = write_sklearn_model_dir(tmp_path / "inner", model, fmt="skops")
    folder = tmp_path / "ro"
    folder.mkdir()
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        tar.add(inner / "model.skops", arcname="model.skops")
    loaded = load_model(folder)
    assert loaded.flavor == "skops" and not loaded.path.is_relative_to(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["model.tar.gz"]
    np.testing.assert_allclose(loaded.predict(X[:3]).probabilities, model.predict_proba(X[:3]))


def test_broken_model_file_names_the_file(tmp_path) -> None:
    (tmp_path / "model.joblib").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="model.joblib"):
        load_model(tmp_path)


def test_regressor_without_predict_proba(tmp_path) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = make_classification_data()
    reg = LinearRegression().fit(X, y)
    loaded = load_model(write_sklearn_model_dir(tmp_path, reg))
    pred = loaded.predict(X[:4])
    assert pred.probabilities is None
    np.testing.assert_allclose(pred.score, reg.predict(X[:4]))


def test_skops_refuses_types_it_does_not_trust(tmp_path, monkeypatch) -> None:
    model, X = train_sklearn_classifier()
    folder = write_sklearn_model_dir(tmp_path, SlowClassifier(model, delay=0.0), fmt="skops")
    with pytest.raises(ModelLoadError, match="_model_server.SlowClassifier"):
        load_model(folder)
    monkeypatch.setenv("CLARIFY_RUNNER_SKOPS_TRUSTED", "_model_server.SlowClassifier")
    loaded = load_model(folder)
    np.testing.assert_allclose(loaded.predict(X[:2]).probabilities, model.predict_proba(X[:2]))


_chars = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"))
_word = st.text(alphabet=_chars, max_size=8)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(allow_nan=False, allow_infinity=False), _word.map(lambda w: "s" + w)),
        min_size=1,
        max_size=10,
    )
)
def test_csv_quoted_strings_roundtrip(records: list[tuple[float, str]]) -> None:
    sink = io.StringIO()
    csv.writer(sink, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC).writerows(records)
    X = dec.decode_csv(sink.getvalue().encode())
    assert X.shape == (len(records), 2)
    assert [float(v) for v in X[:, 0]] == [r[0] for r in records]
    assert list(X[:, 1]) == [r[1] for r in records]
