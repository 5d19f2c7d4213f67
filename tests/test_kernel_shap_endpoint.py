"""Kernel SHAP with the model served by local_endpoint and called through ModelClient.

Same comparison as tests/test_kernel_shap.py: values equal shap.KernelExplainer's (in process,
same seed) to 1e-12 relative, although every prediction now goes over HTTP.
"""

from __future__ import annotations

import _model_server as testing
import numpy as np
import pytest

from analyzer.explain import kernel_shap
from tests._explain_helpers import classifier, shap_reference
from tests.test_kernel_shap import assert_same

model_client = pytest.importorskip("analyzer.model_client", reason="analyzer.model_client is not available")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Binary and 3-class GBC models behind one multi-model endpoint."""
    root = tmp_path_factory.mktemp("shap-models")
    models = {}
    for name, n_classes in (("binary", 2), ("multi", 3)):
        model, X = classifier(12, n_classes)
        testing.save_sklearn_model(model, root / name)
        models[name] = (model, X)
    ep = testing.start_endpoint(root)
    try:
        yield ep.url, models
    finally:
        ep.stop()


def client(url: str, target: str, **settings):
    from analyzer.plan import ClientSettings

    transport = model_client.HttpTransport(url)
    names = [f"f{j}" for j in range(12)]
    return model_client.ModelClient(
        transport, ClientSettings(target_model=target, **settings), feature_names=names, progress=False
    )


def _matches_shap(served, target: str, link: str, nsamples, n_baseline: int, fast_path: bool) -> None:
    url, models = served
    model, X = models[target]
    baseline, records = X[:n_baseline], X[200:203]
    ref, expected = shap_reference(
        model.predict_proba, baseline, records, nsamples=nsamples, link=link, seed=21
    )
    sent: list[int] = []
    with client(url, target, use_fast_path=fast_path) as c:

        def predict(rows: np.ndarray) -> np.ndarray:
            sent.append(len(rows))
            return c.predict_scores(rows)

        result = kernel_shap(
            records,
            baseline,
            predict,
            num_samples=None if nsamples == "auto" else nsamples,
            seed=21,
            use_logit=link == "logit",
            max_rows_per_call=25_000,
        )
    assert sum(sent) == result.model_rows
    assert_same(result.local, ref)
    assert_same(result.expected_value, expected)


@pytest.mark.parametrize("n_baseline", [1, 10])
@pytest.mark.parametrize("nsamples", ["auto", 500, 2048])
@pytest.mark.parametrize("link", ["identity", "logit"])
@pytest.mark.parametrize("target", ["binary", "multi"])
def test_over_http_matches_shap(served, target: str, link: str, nsamples, n_baseline: int) -> None:
    """The issue's whole grid, through local_endpoint and the binary fast path."""
    _matches_shap(served, target, link, nsamples, n_baseline, fast_path=True)


@pytest.mark.parametrize(
    ("target", "link", "nsamples"), [("binary", "identity", "auto"), ("multi", "logit", 500)]
)
def test_over_http_csv_matches_shap(served, target: str, link: str, nsamples) -> None:
    """The same equality when the rows travel as CSV text."""
    _matches_shap(served, target, link, nsamples, 10, fast_path=False)
