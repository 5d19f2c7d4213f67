"""Writing time-series explanations: ``asymmetric_shapley_value/<granularity>_<direction>/out.jsonl``.

The lines are formatted by :func:`analyzer.explain.asv_outputs.item_line` (pure); this module
does the file I/O, atomically, like :mod:`analyzer.output`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from analyzer.explain.asv_outputs import OUT_FILE, item_line, results_subdir
from analyzer.explain.asymmetric_shapley import AsvResult
from analyzer.output import atomic_open

__all__ = ["write_asv_outputs"]

log = logging.getLogger(__name__)


def write_asv_outputs(
    output_dir: str | os.PathLike[str], result: AsvResult, *, shown_location: str | None = None
) -> Path:
    """Write ``<output_dir>/asymmetric_shapley_value/<granularity>_<direction>/out.jsonl`` atomically.

    Returns the file's path and logs Clarify's line ``Wrote <n> lines to <path>``, the path under
    ``shown_location`` (where the outputs end up: a folder or an ``s3://`` prefix) when given,
    since ``output_dir`` may be a staging folder; default: ``output_dir``.
    """
    relative = f"{results_subdir(result.granularity, result.direction)}/{OUT_FILE}"
    path = Path(output_dir) / relative
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        for item in result.items:
            f.write(json.dumps(item_line(item), allow_nan=False) + "\n")
    shown = f"{shown_location.rstrip('/')}/{relative}" if shown_location is not None else path
    log.info("Wrote %d lines to %s", len(result.items), shown)
    return path
