"""What a person sees on a terminal: tables and prose fit its width, states are in colour
(unless NO_COLOR), and the same commands piped print whole, plain lines.

The commands run as a subprocess whose stdout is a pseudo-terminal 100 columns wide
(tests/ptyterm.py): only a real terminal makes `isatty()` true.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.cli import terminal
from tests.playbooks.harness import in_process, targets
from tests.ptyterm import ROOT, Seen, run

DATA = ROOT / "tests" / "recon" / "data"
FIXTURES = ROOT / "fixtures"
GREEN_DONE = "\x1b[32mdone\x1b[0m"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state file holding one finished reprovision run (made in-process on a fake clock)."""
    tmp = tmp_path_factory.mktemp("term-state")
    with in_process("acme-trello", tmp) as env:
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 0, result.output
    return tmp / "state.db"


WIDE_COMMANDS = {
    # the widths each printed at 100 columns before tables were fitted (issue 15)
    "status": ("status", "--state", "{state}"),
    "report": ("report", "1", "--state", "{state}"),
    "log": ("log", "1", "--state", "{state}"),
    "billing": ("billing", "--events", str(DATA / "events-2026.csv"), "--start", "41",
                "--price", "8", "--as-of", "2026-11-23", "--remove", "6", "--on", "2026-11-24"),
    "reconcile": ("reconcile", "--world", str(FIXTURES / "guard-billing" / "world.json"), "--all"),
    "analyze": ("analyze", str(FIXTURES / "acme-trello" / "users-export.csv"), "--tier", "50",
                "--as-of", "2026-11-23"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(WIDE_COMMANDS))
def test_every_line_fits_a_100_column_terminal(name: str, state: Path) -> None:
    args = [a.format(state=state) for a in WIDE_COMMANDS[name]]
    seen = run(*args, columns=100, env={"SCIMRECON_PROFILE": ""})
    assert seen.code == 0, seen.stdout + seen.stderr
    assert 0 < Seen.widest(seen.stdout) <= 100, seen.stdout
    piped = run(*args, stdout_tty=False, env={"SCIMRECON_PROFILE": ""})
    assert Seen.widest(piped.stdout) > 100  # piped, nothing is cut: the full values are there
    assert "…" not in piped.stdout and "\x1b[" not in piped.stdout


def test_a_cut_cell_ends_in_an_ellipsis_and_a_long_summary_wraps(state: Path) -> None:
    seen = Seen.plain(run("log", "1", "--state", str(state), columns=100).stdout)
    lines = seen.splitlines()
    assert lines[0].split() == ["time", "user", "target", "step", "outcome", "summary"]
    # dates are never cut; the e-mail address in the target column is
    assert all(line[:20].endswith("Z") for line in lines[2:] if line[:4] == "2026")
    assert any(re.search(r"\s[a-z.]+@[a-z.]*…\s", line) for line in lines)
    # a lookup's summary (its ids) continues on the lines below, in the summary column
    column = lines[1].rindex(" ") + 1
    assert any(line.startswith(" " * column) and line.strip() for line in lines[2:])


def _columns(text: str) -> int:
    """Display width, computed here from the Unicode tables (not by wcwidth): East Asian wide
    and full-width characters take two columns, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def test_wide_and_combining_names_line_up(tmp_path: Path) -> None:
    """Names in Japanese (two columns a character) and Yoruba (tone marks that take none) pad
    by the columns they take: piped, every row's reason starts in one column; on a terminal of
    80, every line fits, shortened by what it shows, not by its length."""
    names = {"Kenji Watanabe": "渡辺健二", "Fatima Okafor": "Fátímà O\u0323\u0300kàfọ̀r"}
    text = (FIXTURES / "acme-trello" / "users-export.csv").read_text(encoding="utf-8")
    for old, new in names.items():
        text = text.replace(old, unicodedata.normalize("NFD", new) if "O" in new else new)
    export = tmp_path / "users.csv"
    export.write_text(text, encoding="utf-8")
    args = ("analyze", str(export), "--tier", "50", "--as-of", "2026-11-23")
    piped = run(*args, stdout_tty=False, env={"SCIMRECON_PROFILE": ""})
    assert piped.code == 0, piped.stderr
    rows = [line for line in piped.stdout.splitlines() if "billable only through Trello" in line]
    assert any("渡辺健二" in row for row in rows) and len(rows) == 6
    assert len({_columns(row[: row.index("billable only")]) for row in rows}) == 1
    narrow = run(*args, columns=80, env={"SCIMRECON_PROFILE": ""})
    lines = Seen.plain(narrow.stdout).splitlines()
    assert max(map(_columns, lines)) <= 80
    assert any("渡辺健二" in line for line in lines)


_WORD = st.text(alphabet="ab.é渡辺Ọ\u0300\u0323-", min_size=1, max_size=30).filter(
    lambda w: not unicodedata.combining(w[0])  # a word starts with a letter
)


@given(st.lists(_WORD, max_size=12), st.integers(0, 4), st.integers(2, 40), st.integers(0, 3))
def test_wrapped_lines_fit_their_columns_and_keep_every_character(
    words: list[str], lead: int, room: int, indent: int
) -> None:
    """terminal.wrap, measured by the Unicode tables (`_columns`): every line fits the width
    when a line has room for the indent and one wide character, no character is lost or
    moved, the first line keeps the text's own indent and the others start with `indent`."""
    text = " " * lead + " ".join(words)
    width = max(room, lead, indent) + 2
    lines = terminal.wrap(text, width, " " * indent)
    assert all(_columns(line) <= width for line in lines), lines
    assert "".join("".join(line.split()) for line in lines) == "".join(words)
    if lines:
        assert lines[0].startswith(" " * lead)
        assert all(line.startswith(" " * indent) for line in lines[1:])


def test_states_are_coloured_on_a_terminal_and_not_with_no_color(state: Path) -> None:
    coloured = run("status", "--state", str(state), columns=100)
    assert GREEN_DONE in coloured.stdout
    assert "\x1b[2mn/a\x1b[0m" in coloured.stdout  # the false `when` (decision 75), dimmed
    plain = run("status", "--state", str(state), columns=100, env={"NO_COLOR": "1"})
    assert "\x1b[" not in plain.stdout
    assert Seen.plain(coloured.stdout) == plain.stdout


def test_help_one_liners_use_the_terminal_not_80_columns() -> None:
    seen = run("--help", columns=100)
    assert "checkpointing each step." in seen.stdout
    assert Seen.widest(seen.stdout) <= 100


@pytest.mark.slow
def test_the_demo_fits_100_columns(tmp_path: Path) -> None:
    seen = run("demo", columns=100, stderr_tty=True, cwd=tmp_path, env={"SCIMRECON_PROFILE": ""})
    assert seen.code == 0, seen.stdout + seen.stderr
    assert Seen.widest(seen.stdout) <= 100, seen.stdout
    assert Seen.widest(seen.stderr) <= 100, seen.stderr


# -- progress --------------------------------------------------------------------------------


@pytest.fixture
def slow_sim(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """acme-trello served in this process with 900 ms on every org/SCIM request, so planning
    takes a few seconds; yields the profile path and the secrets as environment variables."""
    from scimrecon.sim.app import SimApp
    from scimrecon.sim.profile_toml import profile_toml
    from scimrecon.sim.server import serve_in_thread
    from scimrecon.sim.world import load_world

    world = load_world("acme-trello")
    world["faults"] = {"/atlassian": {"latency_ms": 900}}
    app = SimApp(world, seed=1)
    with serve_in_thread(app) as url:
        profile = tmp_path / "sim.toml"
        profile.write_text(profile_toml(app.profile(url)), encoding="utf-8")
        yield profile, dict(app.secrets())


PLAN = ("plan", "reprovision", "--targets", str(FIXTURES / "acme-trello" / "targets.csv"))
BAR = re.compile(r"plan lookup .*\d/6 .*left")


@pytest.mark.slow
def test_a_slow_plan_shows_progress_on_a_terminal_and_nowhere_else(
    slow_sim: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    profile, secrets = slow_sim
    env = {**secrets, "SCIMRECON_PROFILE": str(profile)}
    variants = [
        {"stderr_tty": True},
        {"stderr_tty": False},  # stderr a pipe
        {"stderr_tty": True, "before": ("--quiet",)},
        {"stderr_tty": True, "after": ("--quiet",)},
        {"stderr_tty": True, "after": ("--format", "json")},
    ]

    def one(v: dict[str, Any]) -> Seen:
        args = (*v.get("before", ()), *PLAN, *v.get("after", ()))
        return run(*args, stderr_tty=v["stderr_tty"], env=env, cwd=tmp_path)

    with ThreadPoolExecutor(max_workers=len(variants)) as pool:  # they mostly wait on latency
        shown, *quiet_ones = pool.map(one, variants)
    assert shown.code == 0, shown.stderr
    frames = [Seen.plain(f) for f in re.split(r"[\r\n]", shown.stderr)]
    assert any(BAR.search(f) for f in frames), shown.stderr  # step, done/total, time left
    assert any(re.search(r"\d+\.\d/s", f) for f in frames)  # the rate
    assert "plan lookup" not in shown.stdout  # progress is never on stdout
    for quiet in quiet_ones:
        assert quiet.code == 0, quiet.stderr
        assert "plan lookup" not in quiet.stderr and "\x1b[" not in quiet.stderr
