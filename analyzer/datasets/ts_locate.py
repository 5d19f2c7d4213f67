"""Locating time-series fields in JSON documents and rows (``time_series_data_config`` locators).

A locator is a JMESPath string or a column index (clarify-contract.md §2.2). Two details
differ from plain ``jmespath.search``:

* Projections keep ``null`` results. ``[].p_mbar`` over the rows of Clarify's BYOM example
  (where the future rows have ``"p_mbar": null``) must give one entry per row, or the target
  values could not be matched with their item ids and timestamps. Standard JMESPath drops
  the nulls; Clarify's real output (target series of 3 values, related series of 9, for the
  same 9 rows) is only possible if they are kept. INFERRED: Clarify aligns fields row by row.
* Expressions are compiled once, with the config key in the error message.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jmespath
from jmespath import visitor

from analyzer.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import TimeSeriesDataConfig

__all__ = ["Locator", "compile_locator", "header_names", "locator_name"]

_LAST_NAME = re.compile(r'"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)')


class _KeepNulls(visitor.TreeInterpreter):
    """JMESPath interpreter whose projections keep ``null`` results (one entry per element)."""

    def visit_projection(self, node: dict[str, Any], value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, list):
            return None
        return [self.visit(node["children"][1], element) for element in base]

    def visit_value_projection(self, node: dict[str, Any], value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, dict):
            return None
        return [self.visit(node["children"][1], element) for element in base.values()]

    def visit_filter_projection(self, node: dict[str, Any], value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, list):
            return None
        comparator = node["children"][2]
        return [
            self.visit(node["children"][1], element)
            for element in base
            if self._is_true(self.visit(comparator, element))
        ]


class Locator:
    """A compiled locator: ``search(document)`` for JMESPath, ``pick(row)`` for an index.

    Attributes:
        key: The config key it came from (``time_series_data_config.related_time_series[1]``).
        text: The JMESPath expression, or ``None`` for an index.
        index: The column index, or ``None`` for a JMESPath expression.
    """

    def __init__(self, value: str | int, key: str) -> None:
        self.key = key
        self.text: str | None = None
        self.index: int | None = None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ConfigError(f"{key}: expected a JMESPath string or a column index, got {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise ConfigError(f"{key}: a column index must be 0 or more, got {value}")
            self.index = value
            return
        if not value.strip():
            raise ConfigError(f"{key}: the JMESPath expression is empty")
        try:
            self._parsed = jmespath.compile(value).parsed
        except jmespath.exceptions.JMESPathError as exc:
            raise ConfigError(f"{key}: {value!r} is not a valid JMESPath expression: {exc}") from None
        self.text = value
        self._interpreter = _KeepNulls()

    def search(self, document: Any) -> Any:
        """Evaluate the expression on a JSON document, keeping nulls in projections."""
        assert self.text is not None, "search() needs a JMESPath locator"
        return self._interpreter.visit(self._parsed, document)

    def pick(self, row: Any) -> Any:
        """The value at this index of a row (a list); ``None`` when the row is shorter."""
        assert self.index is not None, "pick() needs an index locator"
        if isinstance(row, list | tuple) and self.index < len(row):
            return row[self.index]
        return None

    def describe(self) -> str:
        """How the locator reads in an error message."""
        return f"{self.key} ({self.text!r})" if self.text is not None else f"{self.key} (column {self.index})"


def compile_locator(value: str | int, key: str) -> Locator:
    """Compile one ``time_series_data_config`` locator; raises :class:`ConfigError` naming ``key``."""
    return Locator(value, key)


def locator_name(value: str | int) -> str:
    """A feature name derived from a locator when ``headers`` is not given.

    The last field name of a JMESPath (``[].p_mbar`` → ``p_mbar``, ``[*].timeseries[].rts1``
    → ``rts1``), or ``column_<i>`` for an index.
    """
    if isinstance(value, int):
        return f"column_{value}"
    matches = _LAST_NAME.findall(value)
    if not matches:
        return value
    quoted, plain = matches[-1]
    return plain or quoted


def header_names(ts: TimeSeriesDataConfig, headers: Sequence[str] | None) -> tuple[str, ...]:
    """Item id, timestamp, target, related... and static... names: ``headers``, else from the locators.

    Lenient: a ``headers`` list of the wrong length is a config problem reported by the config
    checks; the locator names are used then.
    """
    related: Sequence[str | int] = ts.related_time_series or ()
    static: Sequence[str | int] = ts.static_covariates or ()
    locators: list[str | int] = [ts.item_id, ts.timestamp, ts.target_time_series, *related, *static]
    if headers is not None and len(headers) == len(locators):
        return tuple(str(h) for h in headers)
    return tuple(locator_name(v) for v in locators)
