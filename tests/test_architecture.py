"""Architecture rules, one test per rule, checked on the import statements of the source files.

A rule names a package and the modules it must not import (at any depth of the import
statement: ``import x.y`` and ``from x.y import z`` both count, including imports inside
functions). Add a rule by adding a test that calls :func:`_violations`.

Package rules: ``local_endpoint`` (the model server, installable and shippable alone) imports
nothing from ``analyzer`` or ``container``; ``clarify_common`` (what the model server and the
analyzer share) imports none of the three.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

#: Modules that do I/O (network, files, processes, Docker, AWS): none of them in pure computation.
IO_MODULES = (
    "requests",
    "urllib3",
    "boto3",
    "botocore",
    "docker",
    "subprocess",
    "socket",
    "http",
    "s3fs",
    "analyzer.storage",
    "analyzer.dataset",
    "analyzer.datasets",
    "analyzer.model_client",
    "analyzer.output",
    "analyzer.report",
    "analyzer.runner",
    "analyzer.settings",
    "container",
    "local_endpoint",
)


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for path in sorted((REPO_ROOT / package.replace(".", "/")).rglob("*.py")):
        for line, module in _imports(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
    return out


def test_local_endpoint_imports_nothing_from_analyzer_or_container() -> None:
    assert _violations("local_endpoint", ("analyzer", "container")) == []


def test_clarify_common_imports_none_of_the_packages_that_use_it() -> None:
    assert _violations("clarify_common", ("analyzer", "container", "local_endpoint")) == []


@pytest.mark.parametrize("package", ["local_endpoint", "clarify_common"])
def test_every_module_imports_with_analyzer_and_container_absent(package: str) -> None:
    """The same rule at run time: each module imports with ``analyzer``/``container`` blocked."""
    modules = [
        ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts)
        for p in sorted((REPO_ROOT / package).rglob("*.py"))
        if p.name not in ("__main__.py", "csv_kernel.py")  # __main__ serves; the kernel compiles
    ]
    code = (
        "import importlib, sys\n"
        "sys.modules['analyzer'] = sys.modules['container'] = None\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_bias_engine_does_no_io() -> None:
    assert _violations("analyzer.bias", IO_MODULES) == []


def test_explain_engine_does_no_io() -> None:
    assert _violations("analyzer.explain", IO_MODULES) == []


def test_plan_model_and_defaults_are_pure_data() -> None:
    """The plan's types and defaults import nothing else of clarify-runner (executors share them)."""
    for name in ("model.py", "defaults.py"):
        imported = [m for _, m in _imports(REPO_ROOT / "analyzer" / "plan" / name)]
        assert [m for m in imported if m.split(".")[0] in ("analyzer", "container", "local_endpoint")
                and not m.startswith("analyzer.plan")] == []


def test_the_rule_finds_a_planted_import(tmp_path: Path, monkeypatch) -> None:
    """The checker itself can fail: a planted ``import requests`` inside a function is found."""
    import tests.test_architecture as me

    fake = tmp_path / "pkg"
    fake.mkdir()
    planted = "def f():\n    from analyzer.storage import read_bytes\n    import requests\n"
    (fake / "mod.py").write_text(planted)
    monkeypatch.setattr(me, "REPO_ROOT", tmp_path)
    assert me._violations("pkg", IO_MODULES) == [
        "pkg/mod.py:2 imports analyzer.storage",
        "pkg/mod.py:3 imports requests",
    ]


def _raise_texts(package: str) -> list[str]:
    """The string parts of every ``raise X(...)`` message in ``package``."""
    texts: list[str] = []
    for path in sorted((REPO_ROOT / package.replace(".", "/")).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for part in ast.walk(node.exc):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        texts.append(f"{path.relative_to(REPO_ROOT)}: {part.value}")
    return texts


def test_compute_engines_raise_no_config_key_errors() -> None:
    """Config keys are checked by the plan; bias/explain take typed arguments and name none."""
    for package in ("analyzer.bias", "analyzer.explain"):
        assert _violations(package, ("analyzer.config", "analyzer.config_checks")) == []
        keyed = [t for t in _raise_texts(package) if "methods." in t or "predictor." in t]
        assert keyed == []
        imported = [m for path in (REPO_ROOT / package.replace(".", "/")).rglob("*.py")
                    for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)
                    for m in (a.name for a in node.names)]
        assert "ConfigError" not in imported


def test_one_stop_exception() -> None:
    """JobStopped (analyzer.errors) is the only exception meaning "the job was asked to stop"."""
    found = []
    for package in ("analyzer", "container", "local_endpoint"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and "stop" in node.name.lower() and node.bases:
                    found.append(f"{path.relative_to(REPO_ROOT)}:{node.name}")
    assert sorted(found) == ["analyzer/errors.py:JobStopped", "analyzer/errors.py:StopEvent"]


#: Modules at the seams between config, plan, dataset, model client, runner and job.
SEAM_MODULES = (
    "analyzer/plan/model.py",
    "analyzer/plan/build.py",
    "analyzer/plan/dataset.py",
    "analyzer/runner.py",
    "analyzer/datasets/header.py",
    "analyzer/datasets/loader.py",
    "analyzer/model_client/client.py",
    "container/job.py",
)


def test_no_any_parameters_at_the_seams() -> None:
    """Public functions and methods at the seams take no ``Any`` parameter."""
    found = []
    for name in SEAM_MODULES:
        path = REPO_ROOT / name
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
                args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                for arg in args:
                    if arg.annotation is not None and "Any" in ast.unparse(arg.annotation):
                        found.append(f"{name}:{node.lineno} {node.name}({arg.arg})")
    assert found == []
