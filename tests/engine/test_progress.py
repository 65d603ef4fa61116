"""The engine reports progress through a listener, and the terminal draws it (decision 77).

The run half goes through the CLI with a recording listener in place of the terminal's (the
engine must not care who listens); the drawing half feeds the terminal listener events and
reads what a 100-column terminal would show.
"""

from __future__ import annotations

import io
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from scimrecon.cli import progress as cli_progress
from tests.engine.conftest import Harness

ADA = "ada@example.com"
BOB = "bob@example.com"
DATA = Path(__file__).parent / "data"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def begin(self, key: str, label: str, total: int | None) -> None:
        self.events.append(("begin", key, total))

    def advance(self, key: str, count: int = 1) -> None:
        self.events.append(("advance", key, count))

    def waiting(self, key: str, label: str, until: float) -> None:
        self.events.append(("waiting", key, label, until))

    def end(self, key: str) -> None:
        self.events.append(("end", key))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    seen = Recorder()

    @contextmanager
    def listening(fmt: str | None = None) -> Any:
        monkeypatch.setattr(cli_progress, "_ACTIVE", seen)
        yield seen

    monkeypatch.setattr("scimrecon.cli.run.progress_for", listening)
    return seen


def test_a_run_reports_each_step_and_each_wait(harness: Harness, recorder: Recorder) -> None:
    t = harness.targets(f"email\n{ADA}\n{BOB}\n")
    started = time.time()
    assert harness.run("wait.toml", t, "--yes").exit_code == 3  # parks after 0.2 s
    events = recorder.events
    one = [e for e in events if e[1] == "step one"]
    assert one == [("begin", "step one", 2), ("advance", "step one", 1),
                   ("advance", "step one", 1), ("end", "step one")]  # fmt: skip
    waits = [e for e in events if e[1] == "wait ready"]
    assert waits[0][:3] == ("waiting", "wait ready", "ready: 2 waiting")
    # until when: the end of this process's window (park_after_s = 0.2)
    assert started + 0.2 <= waits[0][3] <= time.time() + 0.2
    assert waits[-1] == ("end", "wait ready")
    assert not any(e[1] == "step after" for e in events)  # parked before it


def test_a_plan_reports_each_target_step(harness: Harness, recorder: Recorder) -> None:
    t = harness.targets(f"email\n{ADA}\n{BOB}\n")
    assert harness.invoke("plan", str(DATA / "basic.toml"), "--targets", str(t)).exit_code == 0
    begun = [e for e in recorder.events if e[0] == "begin"]
    assert begun and all(key.startswith("plan ") and total == 2 for _, key, total in begun)
    assert len([e for e in recorder.events if e[0] == "advance"]) == 2 * len(begun)


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work is drawn after 0.2 s here instead of a second: the same rule, a faster test."""
    monkeypatch.setattr(cli_progress, "SHOW_AFTER_S", 0.2)


def _drawn(feed: Any) -> list[str]:
    out = io.StringIO()
    shown = cli_progress.RichProgress(Console(file=out, force_terminal=True, width=100))
    feed(shown)
    time.sleep(cli_progress.SHOW_AFTER_S + 0.3)
    shown.bars.refresh()
    shown.close()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    return [f.strip() for f in re.split(r"[\r\n]", plain) if f.strip()]


def test_a_wait_is_drawn_with_what_is_awaited_until_when_and_the_time_left() -> None:
    until = time.time() + 90
    frames = _drawn(lambda p: p.waiting("w", "await-login: 2 waiting for the first login", until))
    # the time of day (with its date when that is not today: 90 s may cross midnight)
    local = time.localtime(until)
    today = time.strftime("%H:%M:%S", local)
    other_day = time.strftime("%Y-%m-%d %H:%M", local)
    assert any(
        re.match(rf"await-login: 2 waiting for the first login, until ({today}|{other_day}) ", f)
        and re.search(r"0:01:[23]\d left$", f)
        for f in frames
    ), frames
    assert all(len(f) <= 100 for f in frames)


def test_work_is_drawn_with_done_total_rate_and_time_left() -> None:
    def feed(p: cli_progress.RichProgress) -> None:
        p.begin("s", "step provision", 26)
        p.advance("s", 13)

    frames = _drawn(feed)
    assert any(re.search(r"^step provision .* 13/26 \d+\.\d/s 0:00:0\d left$", f) for f in frames)


def test_work_that_ends_within_a_second_is_never_drawn() -> None:
    out = io.StringIO()
    shown = cli_progress.RichProgress(Console(file=out, force_terminal=True, width=100))
    shown.begin("s", "step lookup", 6)
    shown.advance("s", 6)
    shown.end("s")
    time.sleep(cli_progress.SHOW_AFTER_S + 0.2)
    shown.close()
    assert "step lookup" not in out.getvalue()
