"""Shared test configuration. Each test package keeps its own fixtures in its own conftest.

Hypothesis's per-example deadline (200 ms) measures the machine, not the code: on CI's two
cores shared by two pytest workers and the crash suite's subprocesses, a first example that
warms caches can exceed it and fail a property that holds. Speed is measured in bench/, so the
deadline is off; the example counts stay as each test sets them.
"""

from hypothesis import settings

settings.register_profile("scimrecon", deadline=None)
settings.load_profile("scimrecon")
