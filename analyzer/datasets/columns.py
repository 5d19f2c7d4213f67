"""Finding configured columns (name or 0-based index) in a list of column names. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HEADERS_MUST_CONTAIN_LABEL = "Headers must contain label."
UNABLE_TO_LOCATE_FACET = "Unable to locate the facet."
FEATURE_NAMES_NOT_FOUND = "Feature names not found."


def locate(name_or_index: Any, columns: Sequence[str]) -> str | None:
    """The column named (str) or at 0-based position (int) ``name_or_index``, or ``None``."""
    if isinstance(name_or_index, bool):
        return None
    if isinstance(name_or_index, int):
        return columns[name_or_index] if 0 <= name_or_index < len(columns) else None
    if isinstance(name_or_index, str) and name_or_index in columns:
        return name_or_index
    return None


def why_missing(what: str, name_or_index: Any, columns: Sequence[str], where: str = "the headers") -> str:
    """Second half of an error message: why ``name_or_index`` is not found in ``columns``."""
    if isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
        return (
            f"{what} index {name_or_index} is out of range: {where} have {len(columns)} columns "
            f"{_fmt(columns)}"
        )
    if isinstance(name_or_index, str):
        return f"{what} {name_or_index!r} is not one of {where}: {_fmt(columns)}"
    return f"{what} must be a column name or a 0-based index, got {name_or_index!r}"


def _fmt(columns: Sequence[str]) -> str:
    cols = list(columns)
    if len(cols) > 50:
        return str(cols[:50])[:-1] + f", ... ({len(cols)} in all)]"
    return str(cols)


def duplicates(names: Sequence[str]) -> list[str]:
    """Names that occur more than once, in first-seen order."""
    seen: set[str] = set()
    dup: list[str] = []
    for n in names:
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    return dup


def unique_name(name: str, taken: Sequence[str], suffix: str) -> str:
    """``name`` if free, else ``name_<suffix>`` (with a counter if needed)."""
    if name not in taken:
        return name
    candidate = f"{name}_{suffix}"
    i = 2
    while candidate in taken:
        candidate = f"{name}_{suffix}{i}"
        i += 1
    return candidate
