"""Fixtures for the analysis tests: the hand-made exports and the fixture worlds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

DATA = Path(__file__).parent / "data"
FIXTURES = Path(__file__).resolve().parents[2] / "scimrecon" / "fixtures"


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def load_world(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name / "world.json").read_text(encoding="utf-8"))


def world_names() -> list[str]:
    return sorted(p.parent.name for p in FIXTURES.glob("*/world.json"))
