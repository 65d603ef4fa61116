"""Prompts from worker threads, served one at a time on the main thread.

Actions run on worker threads, but a person can only answer one question at a time, and Ctrl-C
is delivered to the main thread only. So the Interaction an action sees is a broker: it posts
the question to the main thread's event queue and blocks until the main thread has asked the
real Interaction. A prompt interrupted there (Ctrl-C, no terminal) comes back to the worker as
`PromptInterrupted`, which leaves the step `running` for `resume` to settle.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from scimrecon.engine.action import Interaction, StepContext
from scimrecon.errors import RefusedError

_PLACEHOLDER = re.compile(r"\{(target|params|run)\.([A-Za-z0-9_-]+)\}|\{run_id\}")


def render_instructions(text: str, ctx: StepContext) -> str:
    """Fill `{target.x}`, `{params.x}`, `{run.x}` and `{run_id}` in manual instructions."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "{run_id}":
            return ctx.run_id
        scope: Mapping[str, Any] = {
            "target": ctx.target,
            "params": ctx.params,
            "run": ctx.run_outputs,
        }[m.group(1)]
        value = scope.get(m.group(2))
        return m.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(sub, text)


class PromptInterrupted(BaseException):
    """A prompt was interrupted or refused; the step stays `running` for resume to settle.

    A BaseException so that an action's `except Exception` cannot swallow it.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Prompt:
    """One question in flight between a worker and the main thread."""

    def __init__(self, method: str, args: tuple[Any, ...]) -> None:
        self.method = method
        self.args = args
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class PromptBroker:
    """The Interaction handed to actions.

    `stopping()` says whether the run is stopping (then nobody is asked anything any more);
    `on_error(exc)` is told when a prompt failed, so the run can stop.
    """

    def __init__(
        self,
        ui: Interaction,
        events: queue.Queue[tuple[str, Any]],
        *,
        stopping: Callable[[], bool],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self.ui = ui
        self._events = events
        self._stopping = stopping
        self._on_error = on_error
        self.print_lock = threading.Lock()

    @property
    def interactive(self) -> bool:
        """Whether a person can answer a manual step (an Interaction without the attribute is
        taken to be one): lets a step refuse up front what it would later have to ask."""
        return bool(getattr(self.ui, "interactive", True))

    def serve(self, prompt: Prompt) -> None:
        """Ask the real Interaction (main thread only) and wake the worker that asked."""
        try:
            if self._stopping():
                raise RefusedError("the run is stopping: no more prompts")
            if prompt.method == "confirm":
                prompt.result = self.ui.confirm(*prompt.args)
            else:
                prompt.result = self.ui.manual(*prompt.args)
        except BaseException as exc:  # Ctrl-C at a prompt, no terminal, click.Abort ...
            prompt.error = exc
            self._on_error(exc)
        finally:
            prompt.done.set()

    def _ask(self, method: str, *args: Any) -> Any:
        prompt = Prompt(method, args)
        if threading.current_thread() is threading.main_thread():
            self.serve(prompt)
        else:
            self._events.put(("prompt", prompt))
            prompt.done.wait()
        if prompt.error is not None:
            raise PromptInterrupted(prompt.error)
        return prompt.result

    def confirm(self, message: str) -> bool:
        return bool(self._ask("confirm", message))

    def manual(self, instructions: str, expect: str) -> None:
        self._ask("manual", instructions, expect)

    def info(self, message: str) -> None:
        with self.print_lock:
            self.ui.info(message)
