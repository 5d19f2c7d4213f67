"""Progress reporting for long prediction runs: a bar on a terminal, log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

logger = logging.getLogger("analyzer.model_client")


class Progress:
    """Report rows done out of a total.

    Args:
        total: Rows to predict.
        enabled: Draw a bar on stderr (True), log plain lines (False), or decide from
            whether stderr is a terminal (None).
        min_interval: Seconds between two log lines in plain mode.
    """

    def __init__(self, total: int, enabled: bool | None = None, min_interval: float = 10.0) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.bar = sys.stderr.isatty() if enabled is None else enabled
        self.min_interval = min_interval
        self._start = time.monotonic()
        self._last = self._start

    def update(self, rows: int) -> None:
        """Add ``rows`` finished rows and redraw or log when due."""
        self.done += rows
        now = time.monotonic()
        if self.bar:
            frac = self.done / self.total
            filled = int(30 * frac)
            rate = self.done / max(now - self._start, 1e-9)
            sys.stderr.write(
                f"\rPredicting [{'#' * filled}{'.' * (30 - filled)}] "
                f"{self.done}/{self.total} rows {rate:,.0f} rows/s"
            )
            sys.stderr.flush()
        elif now - self._last >= self.min_interval and self.done < self.total:
            self._last = now
            logger.info("Predicted %d of %d rows (%.0f%%)", self.done, self.total,
                        100.0 * self.done / self.total)

    def close(self) -> None:
        """Finish the bar line."""
        if self.bar:
            sys.stderr.write("\n")
            sys.stderr.flush()
