"""Print the pinned requirement list that the image installs (used by scripts/build-image).

``runtime`` lists the project's dependencies from ``pyproject.toml``; ``moto`` lists the moto
server that docker-compose.yml runs as the AWS emulator. Every package of the dependency closure
is pinned to the version installed in the running interpreter (the development venv), so the
image runs the versions the tests ran. ``xgboost`` is replaced by ``xgboost-cpu``: the same
package without the CUDA/NCCL payload (``nvidia-nccl-cu12`` alone is ~200 MB).
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
RENAMED = {"xgboost": "xgboost-cpu"}
# Same package under another distribution name: xgboost-cpu may be listed while the dev venv has xgboost.
ALIASES = {"xgboost-cpu": "xgboost"}
DROPPED_PREFIXES = ("nvidia-",)
# moto's "server" extra pulls every service's dependencies (cfn-lint, sympy, ...); S3 and the
# SageMaker control plane need only these.
MOTO = ["moto[s3,sagemaker]", "flask", "flask-cors"]
# Imported by the code but not (yet) listed in pyproject.toml: skops (the German-credit example
# model's format, loaded by local_endpoint) and numba (analyzer/explain/sampling.py). Dropped from
# here automatically once pyproject.toml lists them.
SERVING_EXTRAS = ["skops", "numba"]


def top_level(kind: str) -> list[str]:
    """Return the unpinned top-level requirements of ``kind`` (``runtime`` or ``moto``)."""
    if kind == "moto":
        return MOTO
    with open(ROOT / "pyproject.toml", "rb") as f:
        deps = list(tomllib.load(f)["project"]["dependencies"])
    listed = {canonicalize_name(Requirement(d).name) for d in deps}
    return deps + [e for e in SERVING_EXTRAS if canonicalize_name(e) not in listed]


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def closure(requirements: list[str]) -> dict[str, str]:
    """Return ``{name: version}`` for the installed dependency closure of ``requirements``."""
    pins: dict[str, str] = {}
    todo = [(Requirement(r), "") for r in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        name = ALIASES.get(name, name) if not _installed(name) else name
        if name.startswith(DROPPED_PREFIXES):
            continue
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{name} is not installed in {sys.prefix}; install the dev environment first")
        pins[name] = dist.version
        for dep in dist.requires or []:
            dep_req = Requirement(dep)
            if dep_req.marker is None:
                todo.append((dep_req, ""))
            else:
                for ex in ("", *req.extras):
                    if dep_req.marker.evaluate({"extra": ex}):
                        todo.append((dep_req, ex))
                        break
    return pins


def main(argv: list[str]) -> int:
    """Print the pinned requirements for ``argv[0]`` (``runtime`` or ``moto``)."""
    kind = argv[0] if argv else "runtime"
    tops = top_level(kind)
    pins = closure(tops)
    extras = {canonicalize_name(Requirement(r).name): sorted(Requirement(r).extras) for r in tops}
    for name in sorted(pins):
        out = RENAMED.get(name, name)
        ex = f"[{','.join(extras[name])}]" if extras.get(name) else ""
        print(f"{out}{ex}=={pins[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
