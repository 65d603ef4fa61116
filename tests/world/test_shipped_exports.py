"""Each fixture ships the user export Atlassian would give for it; it must match the world."""

import pytest

from scimrecon.recon.world import export_from_world
from scimrecon.sim.world import fixture_names, load_world
from tests.playbooks.harness import FIXTURES


@pytest.mark.parametrize("name", fixture_names())
def test_shipped_export_is_the_worlds_own(name: str) -> None:
    shipped = (FIXTURES / name / "users-export.csv").read_bytes().decode("utf-8")
    assert shipped == export_from_world(load_world(name)), "run make_fixtures.py"
