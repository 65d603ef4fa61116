"""Progress on stderr, drawn by rich, for work the engine reports (engine/progress.py).

Shown only where a person watches: stderr is a terminal, no `--quiet`, and the output is not
`--format json|csv` (a script reading stdout may still show stderr to a person, but it asked
for a machine format, so it gets no animation). Each piece of work appears once it has taken
a second, so quick commands look as they always did; a wait shows what is awaited and until
when, with the time left. The bars are transient: what stays on the screen afterwards is
the same as without them.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.text import Text

from scimrecon.cli.terminal import isatty
from scimrecon.engine.progress import NO_PROGRESS, ProgressListener

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: Work that ends sooner than this is never drawn.
SHOW_AFTER_S = 1.0

_ACTIVE: RichProgress | None = None  # the one being drawn, for `paused` (one per process)


def _rate(task: Task) -> float | None:
    """Pieces a second since the work began: steady, unlike a burst of targets finishing
    together (rich's own estimate reads those as thousands a second)."""
    elapsed = task.elapsed
    if task.fields.get("wait") or not elapsed or not task.completed:
        return None
    return task.completed / elapsed


class _Rate(ProgressColumn):
    """Pieces per second (waits have no rate: they count seconds)."""

    def render(self, task: Task) -> Text:
        rate = _rate(task)
        return Text("" if rate is None else f"{rate:.1f}/s", style="progress.data.speed")


class _Left(ProgressColumn):
    """Time left: for work, the pieces left at the rate so far; for a wait, until its end."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        if task.fields.get("wait"):  # counts down between polls too (a poll may be minutes)
            left: float | None = max(0.0, task.fields["until"] - time.time())
        else:
            rate = _rate(task)
            left = None if rate is None else (task.total - task.completed) / rate
        if left is None:
            return Text("-:--:-- left", style="progress.remaining")
        minutes, seconds = divmod(int(left + 0.5), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"{hours}:{minutes:02d}:{seconds:02d} left", style="progress.remaining")


class _Count(ProgressColumn):
    """done/total, or only done when the total is unknown (a listing); nothing for a wait."""

    def render(self, task: Task) -> Text:
        if task.fields.get("wait"):
            return Text("")
        if task.total is None:
            return Text(f"{int(task.completed)}", style="progress.download")
        return MofNCompleteColumn().render(task)


def _never_raises(method: F) -> F:
    """A listener must not stop a run: a display that fails is dropped, the work goes on."""

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception:
            return None

    return guarded  # type: ignore[return-value]


class RichProgress:
    """A ProgressListener drawing one line per piece of work on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            _Count(),
            _Rate(),
            _Left(),
            console=self.console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=True,
        )
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._started = False

    # -- ProgressListener ----------------------------------------------------------------

    @_never_raises
    def begin(self, key: str, label: str, total: int | None) -> None:
        with self._lock:
            self._drop(key)
            self._tasks[key] = self.bars.add_task(label, total=total, visible=False)
            self._show_later(key)

    @_never_raises
    def advance(self, key: str, count: int = 1) -> None:
        with self._lock:
            task = self._tasks.get(key)
            if task is not None:
                self.bars.advance(task, count)

    @_never_raises
    def waiting(self, key: str, label: str, until: float) -> None:
        now = time.time()
        left = max(0.0, until - now)
        when = datetime.fromtimestamp(until).astimezone()
        today = when.date() == datetime.now().astimezone().date()
        stamp = when.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M")
        description = f"{label}, until {stamp}"
        with self._lock:
            task = self._tasks.get(key)
            if task is None or not self.bars.tasks[self._index(task)].fields.get("wait"):
                self._drop(key)
                task = self.bars.add_task(
                    description, total=left or 1.0, visible=False, wait=True, since=now, until=until
                )
                self._tasks[key] = task
                self._show_later(key)
            since = self.bars.tasks[self._index(task)].fields["since"]
            self.bars.update(
                task,
                description=description,
                total=(until - since) or 1.0,
                completed=now - since,
                until=until,
            )

    @_never_raises
    def end(self, key: str) -> None:
        with self._lock:
            self._drop(key)
            if not self._tasks:
                self._stop()  # nothing to draw: a question asked next is seen as it is typed

    # -- display -------------------------------------------------------------------------

    def _index(self, task: TaskID) -> int:
        return next(i for i, t in enumerate(self.bars.tasks) if t.id == task)

    def _show_later(self, key: str) -> None:
        timer = threading.Timer(SHOW_AFTER_S, self._show, args=(key,))
        timer.daemon = True
        self._timers[key] = timer
        timer.start()

    def _show(self, key: str) -> None:
        with self._lock:
            task = self._tasks.get(key)
            if task is None:
                return
            if not self._started:
                self.bars.start()
                self._started = True
            self.bars.update(task, visible=True)

    def _drop(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        task = self._tasks.pop(key, None)
        if task is not None:
            self.bars.remove_task(task)

    def _stop(self) -> None:
        if self._started:
            with suppress(Exception):  # a closed terminal must not turn into an error
                self.bars.stop()
            self._started = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No drawing while a person answers a question (the bars would overwrite it)."""
        with self._lock:
            was = self._started
            self._stop()
        try:
            yield
        finally:
            with self._lock:
                if was and self._tasks and not self._started:
                    self.bars.start()
                    self._started = True

    def close(self) -> None:
        with self._lock:
            for key in list(self._tasks):
                self._drop(key)
            self._stop()


def wanted(obj: Any, fmt: str | None = None) -> bool:
    """Progress only for a person: stderr a terminal, no --quiet, no machine format."""
    quiet = bool(getattr(obj, "quiet", False))
    return not quiet and fmt in (None, "table") and isatty(sys.stderr)


@contextmanager
def progress_for(fmt: str | None = None) -> Iterator[ProgressListener]:
    """The listener for this command: a RichProgress when wanted (see `wanted`), else none.
    `fmt` defaults to the running command's `--format`."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    if fmt is None and ctx is not None:  # the command's own --format, when it has one
        fmt = ctx.params.get("fmt")
    if not wanted(obj, fmt):
        yield NO_PROGRESS
        return
    global _ACTIVE
    shown = RichProgress()
    _ACTIVE = shown
    try:
        yield shown
    finally:
        _ACTIVE = None
        shown.close()


def current_progress() -> ProgressListener:
    """The listener of the command running now (see `progress_for`), or none."""
    return _ACTIVE or NO_PROGRESS


@contextmanager
def paused() -> Iterator[None]:
    """Around a question: the progress being drawn (if any) steps aside until it is answered."""
    active = _ACTIVE
    if active is None:
        yield
        return
    with active.paused():
        yield


def counted(items: Iterable[T], listener: ProgressListener, label: str) -> Iterator[T]:
    """`items`, counted on `listener` as they come (a listing whose size is not known)."""
    listener.begin(label, label, None)
    try:
        for item in items:
            yield item
            listener.advance(label)
    finally:
        listener.end(label)
