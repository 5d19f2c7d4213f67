"""Online explainer: responses like the real ones, values equal to the processing job's, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _model_server import running_endpoint, save_sklearn_model, train_sklearn_classifier
from starlette.testclient import TestClient

from analyzer.errors import UserError
from analyzer.model_client.transport import Reply
from container.cli import main
from container.online.app import build_explainer, create_explainer_app
from container.online.config import parse_explainer_config
from container.online.explainer import OnlineExplainer
from container.online.transport import ModelEndpoint

#: The real responses (spec examples/online_explainability/): AWS docs and notebook outputs.
SPEC_EXAMPLES = Path(__file__).parent / "fixtures" / "online_explainability"
ADULT_HEADERS = [
    "Age", "Workclass", "fnlwgt", "Education", "Education-Num", "Marital Status", "Occupation",
    "Relationship", "Ethnic group", "Sex", "Capital Gain", "Capital Loss", "Hours per week", "Country",
]  # fmt: skip


def _csv(rows: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows)


def _structure(value: Any) -> Any:
    """The shape of a JSON value: keys (sorted) and list lengths kept, leaves replaced by their type."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_structure(v) for v in value]
    return (
        "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 14-feature binary classifier (scores: both classes) and a 4-feature regressor (one score)."""
    from sklearn.linear_model import LinearRegression

    root = tmp_path_factory.mktemp("online-models")
    clf, X14 = train_sklearn_classifier(n_features=14)
    save_sklearn_model(clf, root / "clf")
    X4 = X14[:, :4]
    reg = LinearRegression().fit(X4, X4 @ np.array([0.5, -1.0, 0.25, 2.0]) + 0.1)
    save_sklearn_model(reg, root / "reg")
    return {"root": root, "clf": clf, "X14": X14, "reg": reg, "X4": X4}


def _app(models: dict[str, Any], name: str, raw: dict[str, Any], **kwargs: Any) -> TestClient:
    explainer = build_explainer(parse_explainer_config(raw), model_dir=models["root"] / name)
    for key, value in kwargs.items():
        setattr(explainer, key, value)
    return TestClient(create_explainer_app(explainer))


def test_responses_have_the_real_examples_structure(models: dict[str, Any]) -> None:
    X14, X4 = models["X14"], models["X4"]
    raw = {
        "InferenceConfig": {"FeatureHeaders": ADULT_HEADERS, "ProbabilityIndex": 1},
        "ShapConfig": {
            "ShapBaselineConfig": {"ShapBaseline": _csv(X14[:1])},
            "NumberOfSamples": 30,
            "Seed": 3,
        },
    }
    with _app(models, "clf", raw) as client:
        resp = client.post("/invocations", content=_csv(X14[5:7]), headers={"Content-Type": "text/csv"})
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/json"
        doc = resp.json()
        real = json.loads(
            (
                SPEC_EXAMPLES / "real_notebook_response_tabular_batch_of_2_with_feature_headers.json"
            ).read_text()
        )
        assert _structure(doc) == _structure(real)
        assert list(doc) == ["version", "predictions", "explanations"]
        assert [f["feature_header"] for f in doc["explanations"]["kernel_shap"][0]] == ADULT_HEADERS
        assert doc["predictions"]["content_type"] == real["predictions"]["content_type"]

    raw = {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": _csv(X4[:2])}}}
    with _app(models, "reg", raw) as client:
        resp = client.post("/invocations", content=_csv(X4[9:10]), headers={"Content-Type": "text/csv"})
        doc = resp.json()
        docs = json.loads((SPEC_EXAMPLES / "docs_response_tabular_single_record_explained.json").read_text())
        assert _structure(doc) == _structure(docs)
        # f(x) - E[f(baseline)] is shared out exactly over the 4 features (exact enumeration: 14 coalitions)
        phi = [f["attributions"][0]["attribution"][0] for f in doc["explanations"]["kernel_shap"][0]]
        reg = models["reg"]
        expected = reg.predict(X4[9:10])[0] - reg.predict(X4[:2]).mean()
        assert sum(phi) == pytest.approx(expected, rel=1e-9)
        # linear model, exact Shapley values: coef * (x - mean(baseline))
        np.testing.assert_allclose(phi, reg.coef_ * (X4[9] - X4[:2].mean(axis=0)), rtol=1e-9, atol=1e-12)

        resp = client.post(
            "/invocations",
            content=_csv(X4[3:5]),
            headers={"Content-Type": "text/csv", "X-Amzn-SageMaker-Enable-Explanations": "`false`"},
        )
        off = json.loads(
            (
                SPEC_EXAMPLES / "real_notebook_response_tabular_batch_of_2_EnableExplanations_false.json"
            ).read_text()
        )
        assert _structure(resp.json()) == _structure(off)
        assert resp.json()["explanations"] == {}


def test_predictions_are_the_model_answer_byte_for_byte(models: dict[str, Any]) -> None:
    X14 = models["X14"]
    body = _csv(X14[20:23]).encode()
    direct = ModelEndpoint.in_process(models["root"] / "clf").forward(
        body, "text/csv", "text/csv", None, None
    )
    raw = {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": _csv(X14[:1])}, "NumberOfSamples": 10}}
    with _app(models, "clf", raw) as client:
        doc = client.post("/invocations", content=body, headers={"Content-Type": "text/csv"}).json()
    assert doc["predictions"]["data"].encode() == direct.body
    assert doc["predictions"]["content_type"] == direct.headers["content-type"] == "text/csv; charset=utf-8"
    # without ProbabilityIndex both class scores are explained: one attribution per score
    assert all(len(f["attributions"][0]["attribution"]) == 2 for f in doc["explanations"]["kernel_shap"][0])


def test_enable_explanations_per_record_and_the_header_override(models: dict[str, Any]) -> None:
    X14, clf = models["X14"], models["clf"]
    records = X14[30:36]
    p1 = clf.predict_proba(records)[:, 1]
    assert 0 < (p1 > 0.5).sum() < len(p1)  # both outcomes occur
    raw = {
        "EnableExplanations": "[1]>`0.5`",
        "InferenceConfig": {"ProbabilityIndex": 1},
        "ShapConfig": {
            "ShapBaselineConfig": {"ShapBaseline": _csv(X14[:2])},
            "NumberOfSamples": 20,
            "Seed": 1,
        },
    }
    with _app(models, "clf", raw) as client:

        def post(**headers: str) -> Any:
            return client.post(
                "/invocations", content=_csv(records), headers={"Content-Type": "text/csv", **headers}
            )

        shap = post().json()["explanations"]["kernel_shap"]
        assert [entry is not None for entry in shap] == list(p1 > 0.5)
        header = "X-Amzn-SageMaker-Enable-Explanations"
        assert post(**{header: "`false`"}).json()["explanations"] == {}
        everything = post(**{header: "`true`"}).json()["explanations"]["kernel_shap"]
        assert all(entry is not None for entry in everything)
        below = post(**{header: "[1]<`0.5`"}).json()["explanations"]["kernel_shap"]
        assert [entry is not None for entry in below] == list(p1 < 0.5)
        bad = post(**{header: "[1]>"})
        assert bad.status_code == 400 and "is not a valid JMESPath expression" in bad.text
        long = post(**{header: "`true`" + " " * 60})
        assert long.status_code == 400 and "1 to 64 characters" in long.text
        not_bool = post(**{header: "[1]"})
        assert not_bool.status_code == 400 and "it must give true or false" in not_bool.text
        runtime = client.post(
            "/endpoints/my-endpoint/invocations",
            content=_csv(records),
            headers={"Content-Type": "text/csv", header: "[1]"},
        )
        assert runtime.status_code == 400 and runtime.json()["__type"] == "ValidationError"
        same = client.post(
            "/endpoints/my-endpoint/invocations", content=_csv(records), headers={"Content-Type": "text/csv"}
        )
        assert same.json()["explanations"]["kernel_shap"] == shap


def test_values_equal_the_processing_job(models: dict[str, Any], tmp_path: Path) -> None:
    """The same records, baseline, seed and samples through `clarify-runner run` and the explainer."""
    X14 = models["X14"]
    records, baseline = X14[40:45], X14[:3]
    frame = pd.DataFrame(records, columns=ADULT_HEADERS)
    frame.to_csv(tmp_path / "data.csv", index=False)
    config = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "methods": {
            "shap": {
                "baseline": baseline.tolist(),
                "num_samples": 40,
                "seed": 11,
                "save_local_shap_values": True,
            }
        },
        "predictor": {"endpoint_name": "local", "content_type": "text/csv", "probability": 1},
    }
    (tmp_path / "analysis_config.json").write_text(json.dumps(config))
    raw = {
        "InferenceConfig": {"FeatureHeaders": ADULT_HEADERS, "ProbabilityIndex": 1},
        "ShapConfig": {
            "ShapBaselineConfig": {"ShapBaseline": _csv(baseline)},
            "NumberOfSamples": 40,
            "Seed": 11,
        },
    }
    settings = parse_explainer_config(raw)
    with running_endpoint(models["root"] / "clf") as url:
        args = [
            "run",
            "--config",
            str(tmp_path / "analysis_config.json"),
            "--data",
            str(tmp_path / "data.csv"),
        ]
        assert main([*args, "--output", str(tmp_path / "out"), "--endpoint-url", url]) == 0
        job = pd.read_csv(tmp_path / "out" / "explanations_shap" / "out.csv")
        assert list(job.columns) == [f"{h}_label0" for h in ADULT_HEADERS]
        answers = {}
        for mode in ("in-process", "remote"):
            kwargs = {"model_url": url} if mode == "remote" else {"model_dir": models["root"] / "clf"}
            with TestClient(create_explainer_app(build_explainer(settings, **kwargs))) as client:
                resp = client.post(
                    "/invocations", content=_csv(records), headers={"Content-Type": "text/csv"}
                )
            assert resp.status_code == 200, resp.text
            answers[mode] = np.array(
                [
                    [f["attributions"][0]["attribution"][0] for f in rec]
                    for rec in resp.json()["explanations"]["kernel_shap"]
                ]
            )
    for mode, online in answers.items():
        np.testing.assert_allclose(online, job.to_numpy(), rtol=1e-12, atol=1e-15, err_msg=mode)


class _Recording:
    """Wraps a transport, keeping the size of every synthetic request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sizes: list[tuple[int, int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def invoke(self, body: bytes, **kwargs: Any) -> Reply:
        reply = self.inner.invoke(body, **kwargs)
        if kwargs["content_type"] == "application/x-npy":
            n = int(np.load(__import__("io").BytesIO(body)).shape[0])
        else:
            n = body.count(b"\n")
        self.sizes.append((n, len(body)))
        return reply


def test_synthetic_batches_respect_max_record_count_and_payload(models: dict[str, Any]) -> None:
    X14 = models["X14"]
    base = {"ShapBaselineConfig": {"ShapBaseline": _csv(X14[:10])}, "Seed": 5}
    for inference, check in (
        ({"MaxRecordCount": 300}, lambda n, size: n <= 300),
        ({"MaxPayloadInMB": 1}, lambda n, size: size <= 1024 * 1024),
    ):
        settings = parse_explainer_config({"InferenceConfig": inference, "ShapConfig": base})
        endpoint = ModelEndpoint.in_process(models["root"] / "clf")
        recording = _Recording(endpoint.transport)
        endpoint.transport = recording  # type: ignore[assignment]
        explainer = OnlineExplainer(settings, endpoint, _csv(X14[:10]))
        doc = json.loads(explainer.invoke(_csv(X14[50:52]).encode(), "text/csv", "text/csv").body)
        assert all(entry is not None for entry in doc["explanations"]["kernel_shap"])
        synthetic = recording.sizes
        # 14 features: 2 * 14 + 2048 = 2076 coalitions x 10 baseline rows x 2 records, less the
        # coalitions the seeded sampler draws twice (deduplicated before they reach the model)
        rows = sum(n for n, _ in synthetic)
        assert 0.95 * 2 * 2076 * 10 <= rows <= 2 * 2076 * 10, rows
        assert all(check(n, size) for n, size in synthetic), synthetic[:5]
        # the bound is what splits the ~41,000 synthetic rows into this many requests
        if "MaxRecordCount" in inference:
            assert len(synthetic) >= -(-rows // 300), len(synthetic)
        else:
            assert len(synthetic) >= -(-sum(size for _, size in synthetic) // 2**20), len(synthetic)
            assert len(synthetic) >= 2, len(synthetic)
        explainer.close()


def test_limits_and_bad_requests_are_clear_400s(models: dict[str, Any]) -> None:
    X4 = models["X4"]
    raw = {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": _csv(X4[:2])}}}
    with _app(models, "reg", raw, max_synthetic_rows=100) as client:
        resp = client.post("/invocations", content=_csv(X4[:10]), headers={"Content-Type": "text/csv"})
        assert resp.status_code == 400
        assert (
            "needs 280 synthetic rows (2 baseline rows x 14 samples each), more than the limit of 100"
            in resp.text
        )
    with _app(models, "reg", raw) as client:
        resp = client.post("/invocations", content=b"1,2,3\n", headers={"Content-Type": "text/csv"})
        assert resp.status_code in (400, 424)  # the model itself rejects 3 features
        resp = client.post("/invocations", content=b"1,2,3,4\n", headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and "ContentType 'application/json' is not supported" in resp.text
        big = b"1,2,3,4\n" * 800_000
        assert (
            client.post("/invocations", content=big, headers={"Content-Type": "text/csv"}).status_code == 413
        )
        resp = client.post("/endpoints/x/invocations", content=big, headers={"Content-Type": "text/csv"})
        assert resp.status_code == 400 and resp.json()["__type"] == "ValidationError"
        resp = client.post("/endpoints/x/invocations", content=b"a,b\n", headers={"Content-Type": "text/csv"})
        assert resp.status_code == 424 and resp.json()["__type"] == "ModelError"
        assert client.get("/ping").status_code == 200


def test_jsonlines_requests_use_features_attribute_and_content_template(models: dict[str, Any]) -> None:
    X4, reg = models["X4"], models["reg"]
    raw = {
        "InferenceConfig": {"FeaturesAttribute": "features", "ContentTemplate": '{"features":$features}'},
        "ShapConfig": {
            "ShapBaselineConfig": {
                "ShapBaseline": json.dumps({"features": X4[0].tolist()}),
                "MimeType": "application/jsonlines",
            }
        },
    }
    body = "".join(json.dumps({"features": r.tolist()}) + "\n" for r in X4[60:62])
    with _app(models, "reg", raw) as client:
        resp = client.post(
            "/invocations",
            content=body,
            headers={"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"},
        )
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["predictions"]["content_type"] == "application/jsonlines"
    for k, rec in enumerate(doc["explanations"]["kernel_shap"]):
        phi = [f["attributions"][0]["attribution"][0] for f in rec]
        np.testing.assert_allclose(phi, reg.coef_ * (X4[60 + k] - X4[0]), rtol=1e-9, atol=1e-12)


def test_serve_rejects_an_invalid_config_at_start(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "explainer.json"
    path.write_text(
        json.dumps(
            {"EnableExplanations": "[0]>", "ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1"}}}
        )
    )
    assert main(["serve", "--explainer-config", str(path), "--model-dir", str(tmp_path)]) == 1
    assert "EnableExplanations '[0]>' is not a valid JMESPath expression" in capfd.readouterr().err
    path.write_text(
        json.dumps(
            {
                "ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1"}},
                "InferenceConfig": {"MaxPayloadInMB": 100},
            }
        )
    )
    assert main(["serve", "--explainer-config", str(path), "--model-dir", str(tmp_path)]) == 1
    assert "Member must have value less than or equal to 25" in capfd.readouterr().err
    assert main(["serve", "--model-url", "http://127.0.0.1:1", "--model-dir", str(tmp_path)]) == 1
    assert "--model-url needs --explainer-config" in capfd.readouterr().err


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A TF-IDF + logistic regression review classifier on raw text (one text feature)."""
    import skops.io as sio
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    reviews = pd.read_csv(Path(__file__).parents[1] / "examples" / "text_reviews" / "reviews.csv")
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(
        reviews["review"], reviews["recommended"]
    )
    folder = tmp_path_factory.mktemp("online-text") / "model"
    folder.mkdir()
    sio.dump(model, folder / "model.skops")
    return folder, model


def test_text_explanations_like_the_real_nlp_response(text_model: tuple[Path, Any]) -> None:
    """Sentence units as players: 3 sentences are enumerated exactly (6 coalitions), so the
    values are the exact Shapley values and add up to f(x) - f(baseline)."""
    from itertools import combinations
    from math import factorial

    folder, model = text_model
    sentences = ["The fabric is soft and lovely.", "The zipper broke after a week.", "I would buy it again."]
    text = " ".join(sentences)
    raw = {
        "InferenceConfig": {"FeatureTypes": ["text"], "ProbabilityIndex": 1},
        "ShapConfig": {
            "ShapBaselineConfig": {"ShapBaseline": "<UNK>"},
            "TextConfig": {"Granularity": "sentence", "Language": "en"},
        },
    }
    explainer = build_explainer(parse_explainer_config(raw), model_dir=folder)
    with TestClient(create_explainer_app(explainer)) as client:
        body = f'"{text}"\n"Bad."\n'.encode()
        resp = client.post(
            "/invocations",
            content=body,
            headers={"Content-Type": "text/csv", "X-Amzn-SageMaker-Enable-Explanations": "[1]<`2`"},
        )
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    real = json.loads((SPEC_EXAMPLES / "real_notebook_response_nlp_sentence_granularity.json").read_text())
    first = doc["explanations"]["kernel_shap"][0]
    # key for key like the real NLP answer (which has 4 sentences, this record 3)
    real_entry = real["explanations"]["kernel_shap"][0][0]
    assert sorted(first[0]) == sorted(real_entry) == ["attributions", "feature_type"]
    assert _structure(first[0]["attributions"][0]) == _structure(real_entry["attributions"][0])
    assert first[0]["feature_type"] == "text"
    units = first[0]["attributions"]
    assert [u["description"]["partial_text"] for u in units] == sentences
    assert [u["description"]["start_idx"] for u in units] == [text.index(s) for s in sentences]
    phi = np.array([u["attribution"][0] for u in units])

    def f(kept: tuple[int, ...]) -> float:
        words = " ".join(sentences[i] if i in kept else "<UNK>" for i in range(3))
        return float(model.predict_proba([words])[0, 1])

    exact = np.zeros(3)
    for i in range(3):
        others = [j for j in range(3) if j != i]
        for size in range(3):
            for subset in combinations(others, size):
                w = factorial(size) * factorial(3 - size - 1) / factorial(3)
                exact[i] += w * (f((*subset, i)) - f(subset))
    np.testing.assert_allclose(phi, exact, rtol=1e-9, atol=1e-12)
    assert phi.sum() == pytest.approx(f((0, 1, 2)) - f(()), rel=1e-9)
    assert len(doc["explanations"]["kernel_shap"]) == 2


@pytest.mark.slow
def test_image_serve_role_reads_the_explainer_config_from_the_environment(
    models: dict[str, Any], tmp_path: Path
) -> None:
    """`serve` of the image entrypoint with CLARIFY_RUNNER_EXPLAINER_CONFIG: a real uvicorn server."""
    import os
    import subprocess
    import sys
    import time

    import requests
    from _model_server import free_port

    X4 = models["X4"]
    config = tmp_path / "explainer.json"
    raw = {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": _csv(X4[:2])}}}
    config.write_text(json.dumps({"ClarifyExplainerConfig": raw}))
    port = free_port()
    root = Path(__file__).parents[1]
    env = dict(os.environ, CLARIFY_RUNNER_EXPLAINER_CONFIG=str(config), PYTHONPATH=str(root))
    model_dir = str(models["root"] / "reg")
    cmd = [sys.executable, "-m", "container.processing_job", "serve", "--model-dir", model_dir,
           "--port", str(port), "--host", "127.0.0.1", "--workers", "1"]  # fmt: skip
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                if requests.get(url + "/ping", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        resp = requests.post(
            url + "/endpoints/my-endpoint/invocations",
            data=_csv(X4[7:8]),
            headers={"Content-Type": "text/csv"},
        )
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/json"
        phi = [f["attributions"][0]["attribution"][0] for f in resp.json()["explanations"]["kernel_shap"][0]]
        reg = models["reg"]
        np.testing.assert_allclose(phi, reg.coef_ * (X4[7] - X4[:2].mean(axis=0)), rtol=1e-9, atol=1e-12)
    finally:
        proc.terminate()
        proc.wait(30)


def test_target_model_and_custom_attributes_reach_the_model(models: dict[str, Any]) -> None:
    """A multi-model folder: X-Amzn-SageMaker-Target-Model picks the model for the request and
    for the synthetic rows; CustomAttributes come back as the model echoed them."""
    X4, reg = models["X4"], models["reg"]
    raw = {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": _csv(X4[:1])}}}
    explainer = build_explainer(parse_explainer_config(raw), model_dir=models["root"])
    headers = {
        "Content-Type": "text/csv",
        "X-Amzn-SageMaker-Target-Model": "reg",
        "X-Amzn-SageMaker-Custom-Attributes": "trace=42",
    }
    with TestClient(create_explainer_app(explainer)) as client:
        resp = client.post("/invocations", content=_csv(X4[11:12]), headers=headers)
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-amzn-sagemaker-custom-attributes"] == "trace=42"
        doc = resp.json()
        assert float(doc["predictions"]["data"]) == pytest.approx(reg.predict(X4[11:12])[0], rel=1e-12)
        phi = [f["attributions"][0]["attribution"][0] for f in doc["explanations"]["kernel_shap"][0]]
        np.testing.assert_allclose(phi, reg.coef_ * (X4[11] - X4[0]), rtol=1e-9, atol=1e-12)
        missing = client.post("/invocations", content=_csv(X4[11:12]), headers={"Content-Type": "text/csv"})
        assert missing.status_code == 400 and "X-Amzn-SageMaker-Target-Model" in missing.text


def test_baseline_from_a_uri_gives_the_same_values(models: dict[str, Any], tmp_path: Path) -> None:
    X4 = models["X4"]
    (tmp_path / "baseline.csv").write_text(_csv(X4[:3]))
    answers = []
    for baseline in ({"ShapBaselineUri": str(tmp_path / "baseline.csv")}, {"ShapBaseline": _csv(X4[:3])}):
        raw = {"ShapConfig": {"ShapBaselineConfig": baseline, "NumberOfSamples": 6, "Seed": 2}}
        with _app(models, "reg", raw) as client:
            resp = client.post("/invocations", content=_csv(X4[20:22]), headers={"Content-Type": "text/csv"})
        assert resp.status_code == 200, resp.text
        answers.append(resp.json()["explanations"])
    assert answers[0] == answers[1]
    raw = {"ShapConfig": {"ShapBaselineConfig": {"ShapBaselineUri": str(tmp_path / "missing.csv")}}}
    with pytest.raises(UserError, match="missing.csv"):
        build_explainer(parse_explainer_config(raw), model_dir=models["root"] / "reg")


def test_label_headers_are_echoed_after_the_predictions(models: dict[str, Any]) -> None:
    X14 = models["X14"]
    raw = {
        "InferenceConfig": {"LabelHeaders": ["no", "yes"]},
        "ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": _csv(X14[:1])}, "NumberOfSamples": 10},
    }
    with _app(models, "clf", raw) as client:
        doc = client.post(
            "/invocations", content=_csv(X14[60:61]), headers={"Content-Type": "text/csv"}
        ).json()
    assert list(doc) == ["version", "predictions", "label_headers", "explanations"]
    assert doc["label_headers"] == ["no", "yes"]
    attributions = [f["attributions"][0]["attribution"] for f in doc["explanations"]["kernel_shap"][0]]
    # one value per label; the two class probabilities move in opposite directions
    assert all(len(a) == 2 and a[0] == pytest.approx(-a[1], abs=1e-12) for a in attributions)


def test_enable_explanations_on_json_lines_output_objects(
    models: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's example `probability>`0.5`` on a model answering {"predicted_label", "probability"};
    the scores explained are at ProbabilityAttribute, with the CSV output's column the same values."""
    monkeypatch.setenv("SAGEMAKER_INFERENCE_OUTPUT", "predicted_label,probability")
    X14, clf = models["X14"], models["clf"]
    records = X14[70:76]
    p1 = clf.predict_proba(records)[:, 1]
    assert 0 < (p1 > 0.5).sum() < len(p1)
    answers = {}
    for accept, locator in (("application/jsonlines", {"ProbabilityAttribute": "probability"}),
                            ("text/csv", {"ProbabilityIndex": 1})):  # fmt: skip
        raw = {
            "EnableExplanations": "probability>`0.5`" if accept != "text/csv" else "[1]>`0.5`",
            "InferenceConfig": locator,
            "ShapConfig": {
                "ShapBaselineConfig": {"ShapBaseline": _csv(X14[:2])},
                "NumberOfSamples": 16,
                "Seed": 4,
            },
        }
        with _app(models, "clf", raw) as client:
            resp = client.post(
                "/invocations", content=_csv(records), headers={"Content-Type": "text/csv", "Accept": accept}
            )
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        assert doc["predictions"]["content_type"].startswith(accept)
        shap = doc["explanations"]["kernel_shap"]
        assert [entry is not None for entry in shap] == list(p1 > 0.5)
        answers[accept] = shap
    assert answers["application/jsonlines"] == answers["text/csv"]


def test_label_headers_found_in_the_output(models: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Autopilot-style answers (a label list and a score list per record): the labels found at
    LabelIndex / LabelAttribute become label_headers, one attribution per score."""
    monkeypatch.setenv("SAGEMAKER_INFERENCE_OUTPUT", "labels,probabilities")
    X14 = models["X14"]
    base = {"ShapBaselineConfig": {"ShapBaseline": _csv(X14[:1])}, "NumberOfSamples": 12, "Seed": 9}
    answers = {}
    for accept, inference in (
        ("text/csv", {"LabelIndex": 0, "ProbabilityIndex": 1}),
        ("application/jsonlines", {"LabelAttribute": "labels", "ProbabilityAttribute": "probabilities"}),
    ):
        with _app(models, "clf", {"InferenceConfig": inference, "ShapConfig": base}) as client:
            resp = client.post(
                "/invocations",
                content=_csv(X14[80:82]),
                headers={"Content-Type": "text/csv", "Accept": accept},
            )
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        assert doc["label_headers"] == [0, 1]
        assert all(
            len(f["attributions"][0]["attribution"]) == 2 for f in doc["explanations"]["kernel_shap"][0]
        )
        answers[accept] = doc["explanations"]
    assert answers["text/csv"] == answers["application/jsonlines"]
