"""Writing a file whole or not at all, and never through a link.

Every file the tool writes for people (target lists, plans, reports, profiles) goes through
`write_atomic`: the text goes to a temp file beside the destination, then a rename replaces the
destination. A crash leaves the old file or the new one, never half of one; and a destination
that is a symbolic link is replaced by the file rather than followed, so `--out plan.json`
cannot overwrite whatever the link points at.
"""

from __future__ import annotations

import os
from pathlib import Path

from scimrecon.errors import InputError


def write_atomic(path: Path, text: str, *, private: bool = False) -> None:
    """Replace `path` with `text`. `private` files (holding secrets) are 0600 before any byte
    is written; others get the usual permissions (umask applies), so a report or target list
    can be shared like any other file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
