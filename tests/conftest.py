"""Shared pytest fixtures. Area-specific fixtures live in the area's own test modules."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
CLARIFY_EXAMPLES = FIXTURES / "clarify_examples"
GERMAN_CREDIT_CSV = REPO_ROOT / "examples" / "german_credit" / "german_credit.csv"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clarify_examples() -> Path:
    """Folder of the real Clarify example files (configs, analysis.json, logs)."""
    return CLARIFY_EXAMPLES


@pytest.fixture
def german_credit_csv() -> Path:
    """Path of the German credit data set shipped with the README example."""
    return GERMAN_CREDIT_CSV
