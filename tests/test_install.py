"""The README's install line for people who only want the CLI: the wheel carries everything
`scimrecon demo` needs (playbooks, schemas, fixture worlds), and the demo runs from it outside
the repository.

The wheel is built as pip builds it (an isolated build environment, `--no-deps`) and unpacked into a
directory put first on PYTHONPATH, so the repository's own editable install cannot stand in for
it: the test asserts that `scimrecon` was imported from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_runs_the_demo_outside_the_repository(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(dist),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("scimrecon-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for packaged in (
        "scimrecon/playbooks/reprovision.toml",
        "scimrecon/playbooks/templates/inactive-notice.txt",
        "scimrecon/schemas/world.schema.json",
        "scimrecon/fixtures/acme-trello/world.json",
    ):
        assert packaged in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1"}
    env.pop("SCIMRECON_PROFILE", None)
    where = subprocess.run(
        [sys.executable, "-c", "import scimrecon; print(scimrecon.__file__)"],
        cwd=away,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(site))
    demo = subprocess.run(
        [sys.executable, "-m", "scimrecon.cli.main", "demo"],
        cwd=away,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "billable" in demo.stdout
