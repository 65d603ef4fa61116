"""The README tour and every guide run as written (issue 15: docs cannot drift).

Each document's ```sh blocks are pasted, in order, into one bash session in a scratch
directory that looks like a checkout (`fixtures/`, `.venv/bin/activate`); a command that fails
fails the test with the document, the line and what it printed. A block preceded by
`<!-- tour: sim=WORLD -->` runs against a simulator of WORLD that the test starts first (the
guides' readers have one from the README tour); the README and the support guide start their
own, as they say (a note may follow the world: `sim=acme-trello (the customer's org)`);
`targets.csv` in the directory is acme-trello's. `<!-- tour: skip (why) -->` leaves out a
block (the set-up: `make test` is the whole suite; the demo has tests of its own). The ports
8765 and 8766 the documents use are swapped for free ones.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"(?:<!-- tour: (?:sim=(?P<world>[\w-]+)|(?P<skip>skip))[^>]*-->\n)?```sh\n(?P<body>.*?)```",
    re.S,
)
DOCS = ["README.md", "docs/org-admin-guide.md", "docs/idp-admin-guide.md", "docs/support-guide.md"]

# A simulator for a block that needs one, started the way the README tour starts it.
START_SIM = """
start_sim() {{
  [ -n "${{SIM_PID:-}}" ] && kill "$SIM_PID" && wait "$SIM_PID" 2>/dev/null || true
  rm -f tour-sim.log tour.toml tour.toml.env  # never read the last simulator's
  scimrecon sim serve --world "$1" --port {port} --profile-out tour.toml > tour-sim.log 2>&1 &
  SIM_PID=$!
  until grep -q '^listening on' tour-sim.log; do sleep 0.1; done
  set -a; . ./tour.toml.env; set +a
  export SCIMRECON_PROFILE=tour.toml
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def blocks(doc: str) -> list[tuple[str | None, str]]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    return [(m["world"], m["body"]) for m in BLOCK.finditer(text) if not m["skip"]]


def script(doc: str, ports: dict[str, int]) -> str:
    parts = [
        "set -euo pipefail",
        "trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT",
        START_SIM.format(port=_free_port()),
    ]
    for world, body in blocks(doc):
        if world:
            parts.append(f"start_sim {world}")
        # a block's lines echoed as they run (set -x), so a failure names its line
        for doc_port, free in ports.items():
            body = body.replace(doc_port, str(free))
        parts += ["set -x", body, "set +x"]
    return "\n".join(parts) + "\n"


def sandbox(tmp: Path) -> Path:
    """A directory like a checkout after `make demo`: fixtures and an activate script."""
    (tmp / "fixtures").symlink_to(ROOT / "scimrecon" / "fixtures")
    # the target list a reader brings (the support guide's customer's): acme-trello's
    shutil.copy(ROOT / "scimrecon" / "fixtures" / "acme-trello" / "targets.csv", tmp)
    bin_dir = tmp / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "activate").write_text(
        f'export PATH="{Path(sys.executable).parent}:$PATH"\nexport PYTHONPATH="{ROOT}"\n',
        encoding="utf-8",
    )
    return tmp


def run_doc(doc: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    work = sandbox(tmp)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SCIMRECON_") and k != "NO_COLOR"
    }
    env.update(PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}", PYTHONPATH=str(ROOT))
    return subprocess.run(
        ["bash", "-c", script(doc, {"8765": _free_port(), "8766": _free_port()})],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_every_document_has_runnable_blocks() -> None:
    for doc in DOCS:
        assert blocks(doc), doc


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS)
def test_the_document_runs_as_written(doc: str, tmp_path: Path) -> None:
    done = run_doc(doc, tmp_path)
    assert done.returncode == 0, f"{doc}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_the_readme_tour_prints_the_counts_its_comments_promise() -> None:
    """`# 44 accounts, 42 billable` and `# ... trello-only: 6 billable only through ...`."""
    from click.testing import CliRunner

    from scimrecon.cli.main import cli

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "scimrecon sim check acme-trello             # 44 accounts, 42 billable" in text
    assert "# ... trello-only: 6 billable only through ... (trello)" in text
    runner = CliRunner(env={"SCIMRECON_PROFILE": ""})
    check = runner.invoke(cli, ["sim", "check", "acme-trello"]).stdout
    assert re.search(r"^accounts +44$", check, re.M) and re.search(r"^billable .* 42$", check, re.M)
    export = str(ROOT / "scimrecon" / "fixtures" / "acme-trello" / "users-export.csv")
    shown = runner.invoke(cli, ["analyze", export, "--tier", "50", "--as-of", "2026-11-23"]).stdout
    assert "trello-only: 6 billable only through an unwanted product (trello)" in shown
