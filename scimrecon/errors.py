"""The project's exception hierarchy and the exit codes they map to.

Every layer raises these instead of printing: the CLI is the only place that turns an error into
one line on stderr and an exit code, so library users get exceptions and scripts get the
documented codes (docs/exit-codes.md).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_TARGETS_FAILED = 1
EXIT_USAGE = 2
EXIT_PARKED = 3
EXIT_REFUSED = 4
#: Ctrl-C (128 + SIGINT), as shells report a process that SIGINT stopped.
EXIT_INTERRUPTED = 130
#: stdout's reader went away (`scimrecon ... | head -1`): 128 + SIGPIPE, as shells report
#: `yes | head -1`. Not 1, which here means "some targets failed" (decision 31).
EXIT_BROKEN_PIPE = 141


class ScimreconError(Exception):
    """Base class: an error whose message is fit to show a user as one line."""

    exit_code: int = EXIT_TARGETS_FAILED

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class InputError(ScimreconError):
    """Bad input from the user (file, option, profile): exit 2, nothing changed."""

    exit_code = EXIT_USAGE


class MissingSecret(InputError):
    """A secret the profile's APIs need is not set: one line for the whole command, not one
    per target and step that would have used it."""


class RefusedError(ScimreconError):
    """The tool refuses to go on (lock held, stale plan, threshold tripped): exit 4."""

    exit_code = EXIT_REFUSED


class StorageError(ScimreconError):
    """The state file cannot be written (disk full, read-only file system, I/O error).

    Raised by the store instead of sqlite3's own errors, so the runner can tell "the run could
    not record a step" from "the step failed": the first stops the run (exit 4) and says what
    it could not record; the second is a target's failure. The message names the file and the
    operating system's reason. Not a RefusedError, which a step raises to stop a run.
    """

    exit_code = EXIT_REFUSED


class Interrupted(ScimreconError):
    """Ctrl-C outside a run's own handling (planning, a question): exit 130, and the message
    says what is left (nothing, when it came before any change)."""

    exit_code = EXIT_INTERRUPTED


class RemoteError(ScimreconError):
    """A remote API answered with an error we cannot recover from."""

    exit_code = EXIT_TARGETS_FAILED


class CredentialsRefused(RemoteError):
    """The API refused our credentials (401): every later call with them fails alike, so a run
    stops (exit 4) rather than skipping or failing each target for it, and a plan says it once.
    A wrong or expired key must never end as a run "completed" with every target skipped."""

    exit_code = EXIT_REFUSED
