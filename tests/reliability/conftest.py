"""The reliability suites (issue 7): long end-to-end proofs, marked `reliability`."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Registered here as well as (eventually) in pyproject, so --strict-markers accepts it.
    config.addinivalue_line(
        "markers", "reliability: crash, fault, bad-input, secret and concurrency suites (issue 7)"
    )
