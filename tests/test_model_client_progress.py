"""Progress on long prediction runs: a bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import io
import logging
import os
import select
import sys

import pytest

from analyzer.model_client.progress import Progress


def _read_all(fd: int) -> str:
    """Everything written to the pty so far: one os.read may return only the first write."""
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch):
    master, slave = os.openpty()
    tty = os.fdopen(slave, "w")
    try:
        monkeypatch.setattr(sys, "stderr", tty)
        progress = Progress(200)  # decides from the terminal
        assert progress.bar
        progress.update(100)
        progress.update(100)
        progress.close()
        tty.flush()
        drawn = _read_all(master)
    finally:
        tty.close()
        os.close(master)
    assert "Predicting [###############...............] 100/200 rows" in drawn
    assert "Predicting [##############################] 200/200 rows" in drawn
    assert drawn.endswith("\n") or drawn.endswith("\r\n")


def test_log_lines_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    caplog.set_level(logging.INFO, logger="analyzer.model_client")
    progress = Progress(1000, min_interval=0.0)
    assert not progress.bar
    progress.update(250)
    progress.update(750)  # finished: no "of" line for the last step
    progress.close()
    assert "Predicting [" not in stderr.getvalue()  # no bar drawn into a log file
    assert [r.getMessage() for r in caplog.records] == ["Predicted 250 of 1000 rows (25%)"]


def test_log_lines_are_rate_limited(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="analyzer.model_client")
    progress = Progress(1000, enabled=False, min_interval=3600.0)
    for _ in range(9):
        progress.update(100)
    assert caplog.records == []
