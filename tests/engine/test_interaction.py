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


def test_ctrl_d_at_a_manual_step_refuses() -> None:
    with CliRunner().isolation(input=""), pytest.raises(RefusedError) as err:
        ClickInteraction(interactive=True).manual("Pause the job.", "paused")
    assert err.value.message == "a manual step was not confirmed (end of input)"


def test_ctrl_d_at_a_question_is_a_no() -> None:
    with CliRunner().isolation(input=""), pytest.raises(RefusedError) as err:
        ClickInteraction(interactive=True).confirm("Go on?")
    assert err.value.message == "Go on?: not confirmed (end of input)"


def _ctrl_c(prompt: str) -> str:
    raise KeyboardInterrupt


@pytest.mark.parametrize("ask", ["confirm", "manual"])
def test_ctrl_c_at_a_question_or_manual_step_is_an_interrupt(
    ask: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Click turns Ctrl-C into Abort, like end of input; we give it back as an interrupt (130)."""
    ui = ClickInteraction(interactive=True)
    with CliRunner().isolation(input=""), pytest.raises(KeyboardInterrupt):
        monkeypatch.setattr(click.termui, "visible_prompt_func", _ctrl_c)  # after isolation's
        ui.confirm("Go on?") if ask == "confirm" else ui.manual("Pause it.", "paused")


def test_a_typed_no_declines() -> None:
    with CliRunner().isolation(input="n\n"):
        assert ClickInteraction(interactive=True).confirm("Go on?") is False
