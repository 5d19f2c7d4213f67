"""Writing ``analysis.json`` exactly as the Clarify container does, the SHAP files, and atomic writes.

The real container writes ``json.dumps(analysis, indent=4)``: ``"version": "1.0"`` first,
then the computed sections (post-training bias, pre-training bias, explanations — the order
it computes them in), 4-space indent, no trailing newline, infinities as the strings
``"Infinity"`` / ``"-Infinity"`` and floats at full ``repr`` precision
(clarify-contract.md §3.2).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from analyzer.explain.kernel_shap import KernelShapResult

ANALYSIS_FILE = "analysis.json"


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; read once, at import, before any thread runs
    os.umask(mask)
    return mask


_UMASK = _read_umask()

#: Top-level key order of a real ``analysis.json``; unknown keys follow in insertion order.
SECTION_ORDER = ("version", "post_training_bias_metrics", "pre_training_bias_metrics", "explanations")


def to_json_compatible(value: Any) -> Any:
    """Return ``value`` with numpy scalars/arrays turned into Python objects and
    non-finite floats turned into Clarify's representation.

    ``inf`` becomes ``"Infinity"``, ``-inf`` becomes ``"-Infinity"`` (smclarify's
    ``inf_as_str``) and ``nan`` becomes ``None`` (``null``), so the file is strict JSON.
    Dict key order is kept.
    """
    if isinstance(value, Mapping):
        return {str(k): to_json_compatible(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_compatible(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_json_compatible(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "Infinity" if f > 0 else "-Infinity"
        return f
    return value


def order_sections(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``analysis`` with ``version`` first and sections in Clarify's order."""
    ordered: dict[str, Any] = {"version": analysis.get("version", "1.0")}
    for key in SECTION_ORDER[1:]:
        if key in analysis:
            ordered[key] = analysis[key]
    for key, value in analysis.items():
        if key not in ordered:
            ordered[key] = value
    return ordered


def dumps_analysis(analysis: Mapping[str, Any]) -> str:
    """Serialize an analysis dict to the exact text of a Clarify ``analysis.json``."""
    return json.dumps(to_json_compatible(order_sections(analysis)), indent=4, allow_nan=False)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a file for writing that appears at ``path`` only when the ``with`` block succeeds.

    The data goes to a temporary file in the same folder, which is flushed, given ordinary
    file permissions (0666 less the umask, like ``open``) and renamed over ``path``. A reader
    never sees a half-written file: either the old file (or none) or the new one. ``mode``
    and ``kwargs`` are those of :func:`open` (``"w"``/``"wb"``, ``newline=...``).
    """
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes files; mode {mode!r} is not a write mode")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_analysis(output_dir: str | os.PathLike[str], analysis: Mapping[str, Any]) -> Path:
    """Write ``analysis.json`` into ``output_dir`` atomically and return its path."""
    return atomic_write_text(Path(output_dir) / ANALYSIS_FILE, dumps_analysis(analysis))


#: Folder of the SHAP files inside the output folder.
SHAP_DIR = "explanations_shap"


def _write_atomic(path: Path, frame: pd.DataFrame, header: bool) -> None:
    with atomic_open(path, "w", newline="") as handle:
        frame.to_csv(handle, index=False, header=header)


def write_shap_outputs(
    output_dir: str | Path,
    result: KernelShapResult,
    feature_names: Sequence[str],
    baseline: pd.DataFrame,
    *,
    label_headers: Sequence[str] | None = None,
    join_values: pd.Series | None = None,
    save_local: bool = True,
) -> list[Path]:
    """Write ``explanations_shap/baseline.csv`` (always) and ``out.csv`` (when ``save_local``).

    ``baseline.csv`` has no header row (it can be passed back as ``methods.shap.baseline``);
    ``out.csv`` is :func:`analyzer.explain.results.local_frame`. Both are written atomically.
    """
    from analyzer.explain.results import local_frame

    folder = Path(output_dir) / SHAP_DIR
    written: list[Path] = []
    baseline_path = folder / "baseline.csv"
    _write_atomic(baseline_path, baseline, header=False)
    written.append(baseline_path)
    if save_local:
        out_path = folder / "out.csv"
        _write_atomic(out_path, local_frame(result, feature_names, label_headers, join_values), header=True)
        written.append(out_path)
    return written
