"""`scimrecon` with the test step library, for tests that must run the CLI in a subprocess
(SIGKILL at chosen points). The World file comes from SCIMRECON_TEST_WORLD."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.steplib import REGISTRY, world_from_env
from scimrecon.cli import run as run_cli
from scimrecon.cli.main import main

run_cli.HOOKS.registry = lambda: REGISTRY
run_cli.HOOKS.services = lambda state: world_from_env()

if __name__ == "__main__":
    main()
