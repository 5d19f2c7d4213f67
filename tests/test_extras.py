"""Optional extras: a feature whose extra is not installed fails with a message naming the extra.

A missing extra is simulated by blocking its module (``sys.modules[name] = None`` makes
``import name`` raise ImportError, exactly as when the package is not installed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from analyzer.errors import UserError
from analyzer.extras import MissingExtraError, require
from clarify_common.extras import EXTRAS, missing_extra_message, missing_modules
from tests.conftest import GERMAN_CREDIT_CSV

REPORT_MESSAGE = (
    "The report (methods.report) needs the 'report' extra: pip install 'clarify-runner[report]' "
    "(missing module: weasyprint)"
)


def _block(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_every_extra_is_installed_in_the_dev_environment() -> None:
    assert {extra: missing_modules(extra) for extra in EXTRAS} == {extra: [] for extra in EXTRAS}
    require("report")  # no error


def test_a_missing_extra_is_named_with_the_command_that_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _block(monkeypatch, "weasyprint")
    assert missing_modules("report") == ["weasyprint"]
    with pytest.raises(MissingExtraError) as info:
        require("report")
    assert str(info.value) == REPORT_MESSAGE
    assert isinstance(info.value, UserError) and info.value.exit_code == 1
    _block(monkeypatch, "matplotlib")
    assert missing_extra_message("report", "The PDF report") == (
        "The PDF report needs the 'report' extra: pip install 'clarify-runner[report]' "
        "(missing modules: weasyprint, matplotlib)"
    )
    with pytest.raises(KeyError, match="unknown extra 'spark'"):
        missing_modules("spark")


def test_write_reports_refuses_before_writing_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from analyzer.report import write_reports

    _block(monkeypatch, "weasyprint")
    with pytest.raises(MissingExtraError, match="clarify-runner\\[report\\]"):
        write_reports({"version": "1.0"}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_run_with_methods_report_and_no_report_extra_fails_with_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from container.cli import main

    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "output").mkdir(parents=True)
    monkeypatch.setenv("CLARIFY_RUNNER_OPT_ML", str(opt_ml))
    config = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "label": "risk",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "methods": {"pre_training_bias": {"methods": ["CI"]}, "report": {"name": "report"}},
    }
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    out = tmp_path / "out"
    _block(monkeypatch, "weasyprint")
    code = main(["run", "--config", str(path), "--data", str(GERMAN_CREDIT_CSV), "--output", str(out)])
    assert code == 1
    assert (opt_ml / "output" / "message").read_text() == f"ClientError: {REPORT_MESSAGE}"
    # refused before anything ran: nothing in the output folder, no staging folder
    assert not out.exists() or not any(out.iterdir())


def test_serving_an_xgboost_model_without_the_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from local_endpoint.errors import ModelLoadError
    from local_endpoint.models import load_model

    (tmp_path / "model.json").write_text('{"learner": {"objective": {"name": "binary:logistic"}}}')
    _block(monkeypatch, "xgboost")
    with pytest.raises(ModelLoadError) as info:
        load_model(tmp_path)
    assert str(info.value) == (
        "Serving the xgboost model model.json needs the 'xgboost' extra: "
        "pip install 'clarify-runner[xgboost]' (missing module: xgboost)"
    )
    assert info.value.status == 500


def test_docker_backend_without_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from container.endpoints import choose_backend

    monkeypatch.delenv("CLARIFY_RUNNER_ENDPOINT_BACKEND", raising=False)
    _block(monkeypatch, "docker")
    with pytest.raises(MissingExtraError) as info:
        choose_backend("docker", opt_ml=tmp_path)
    assert str(info.value) == (
        "The Docker shadow-endpoint backend (--backend docker) needs the 'docker' extra: "
        "pip install 'clarify-runner[docker]' (missing module: docker)"
    )
    assert choose_backend("auto", opt_ml=tmp_path) == "subprocess"  # auto just does without Docker


def test_preload_imports_what_the_methods_need_in_the_background() -> None:
    import subprocess

    code = (
        "import sys, types\n"
        "from analyzer.preload import modules_for, preload_for\n"
        "m = types.SimpleNamespace(shap=None, pdp={}, report={})\n"
        "cfg = types.SimpleNamespace(methods=m)\n"
        "assert 'weasyprint' not in sys.modules and 'sklearn' not in sys.modules\n"
        "assert modules_for(types.SimpleNamespace(methods=types.SimpleNamespace("
        "shap=None, pdp=None, report=None))) == []\n"
        "preload_for(cfg).join()\n"
        "print(all(m in sys.modules for m in ('weasyprint', 'sklearn', 'analyzer.report.pdf_render')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip() == "True", proc.stderr


def test_preload_skips_a_module_that_cannot_be_imported() -> None:
    from analyzer.preload import preload

    thread = preload(["no_such_module_anywhere", "json"])
    thread.join(timeout=60)
    assert not thread.is_alive()
