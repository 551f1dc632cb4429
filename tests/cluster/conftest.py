"""The cluster test's marker (`make cluster-test` runs only it; `make test` runs it with the rest)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the `cluster` marker."""
    config.addinivalue_line("markers", "cluster: two of every process, killed one by one (make cluster-test)")
