"""Which model answers a request: the single model of the folder, or one of a folder of models.

A model folder either holds one model (a model file, or ``model.tar.gz``) or, like a
SageMaker multi-model endpoint, one model per name: sub-folders ``<name>/`` or tarballs
``<name>.tar.gz``. The header ``X-Amzn-SageMaker-Target-Model`` names the model; it is
loaded on first use and kept.
"""

from __future__ import annotations

import threading
from pathlib import Path

from local_endpoint.errors import BadRequest, ModelFailure, ModelLoadError, ModelNotFound
from local_endpoint.models import LoadedModel, has_model, load_model


class ModelRegistry:
    """Loads and caches the models of one model folder (thread-safe)."""

    def __init__(self, model_dir: str | Path) -> None:
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise ModelLoadError(f"model folder {self.model_dir} does not exist")
        self.single = has_model(self.model_dir)
        if not self.single and not self.names():
            raise ModelLoadError(
                f"no model in {self.model_dir}: expected a model file (*.skops, *.joblib, *.pkl, XGBoost "
                "*.json/*.ubj, LightGBM *.txt), model.tar.gz, or one sub-folder or *.tar.gz per model"
            )
        self.default: LoadedModel | None = load_model(self.model_dir) if self.single else None
        self._cache: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Names that ``X-Amzn-SageMaker-Target-Model`` may take in this folder."""
        if not self.model_dir.is_dir():
            return []
        return sorted(
            p.name for p in self.model_dir.iterdir() if p.is_dir() or p.name.endswith((".tar.gz", ".tgz"))
        )

    def _resolve(self, target: str) -> Path:
        root = self.model_dir.resolve()
        for candidate in (target, target + ".tar.gz", target.removesuffix(".tar.gz")):
            path = (root / candidate).resolve()
            if path != root and root in path.parents and path.exists():
                return path
        available = ", ".join(self.names()) or "none"
        raise ModelNotFound(f"target model {target!r} is not in {self.model_dir}; available: {available}")

    def is_loaded(self, target: str | None) -> bool:
        """True when :meth:`get` would not have to load a model for this header value."""
        return self.default is not None if not target else target in self._cache

    def get(self, target: str | None) -> LoadedModel:
        """The model for a request with the given Target-Model header value (or none)."""
        if not target:
            if self.default is None:
                raise BadRequest(
                    f"{self.model_dir} holds several models; name one in the X-Amzn-SageMaker-Target-Model "
                    f"header: {', '.join(self.names()) or 'none'}"
                )
            return self.default
        model = self._cache.get(target)
        if model is not None:
            return model
        with self._lock:
            model = self._cache.get(target)
            if model is None:
                try:
                    model = load_model(self._resolve(target))
                except ModelLoadError as exc:
                    raise ModelFailure(f"target model {target!r}: {exc}") from None
                self._cache[target] = model
        return model
