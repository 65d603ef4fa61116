"""The terminal Interaction: --yes answers questions but never manual steps; no terminal, no
assumptions."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from scimrecon.cli.interaction import ClickInteraction
from scimrecon.errors import RefusedError


def test_yes_answers_questions_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert ClickInteraction(assume_yes=True, interactive=False).confirm("Delete 3?") is True
    assert capsys.readouterr().err == "Delete 3? -> yes (--yes)\n"


def test_without_a_terminal_questions_and_manual_steps_refuse() -> None:
    ui = ClickInteraction(assume_yes=False, interactive=False)
    with pytest.raises(RefusedError, match=r"^Delete 3\?: needs a yes, and there is no terminal"):
        ui.confirm("Delete 3?")
    with pytest.raises(RefusedError, match="--yes never answers manual steps"):
        ClickInteraction(assume_yes=True, interactive=False).manual("Pause it.", "paused")


def test_a_manual_step_wants_the_exact_word() -> None:
    runner = CliRunner()
    with runner.isolation(input="yes\n paused \n") as streams:
        ClickInteraction(assume_yes=True, interactive=True).manual("Pause the job.\n", "paused")
        shown = streams[1].getvalue().decode()
    assert "MANUAL STEP\n  Pause the job.\n" in shown
    assert "expected 'paused', got 'yes'\n" in shown


def test_ctrl_d_at_a_manual_step_aborts() -> None:
    with CliRunner().isolation(input=""), pytest.raises(click.exceptions.Abort):
        ClickInteraction(interactive=True).manual("Pause the job.", "paused")


def test_a_typed_no_declines() -> None:
    with CliRunner().isolation(input="n\n"):
        assert ClickInteraction(interactive=True).confirm("Go on?") is False
