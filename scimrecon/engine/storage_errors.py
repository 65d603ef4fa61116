"""Telling a state file that cannot be written (disk full, read-only) from a damaged one.

Why: a write the file system refuses is not damage and not a bug; it is reported in one line
with the operating system's own reason, which SQLite does not give, so it is read back here.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from scimrecon.errors import StorageError

#: SQLite result codes (`sqlite_errorname` prefixes) that mean "the file cannot be written":
#: disk full, I/O error, read-only file or file system, a file that cannot be opened.
_STORAGE_CODES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN")


def is_storage_failure(exc: BaseException) -> bool:
    name = getattr(exc, "sqlite_errorname", None) or ""
    return isinstance(exc, sqlite3.Error) and name.startswith(_STORAGE_CODES)


def os_reason(path: Path, exc: BaseException) -> str:
    """The operating system's reason a write to `path` failed, as `strerror` words.

    SQLite reports "database or disk is full" or "attempt to write a readonly database" but not
    the errno behind it, so the cause is read back from the file system itself.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"[Errno {exc.errno}] {exc.strerror}"
    name = getattr(exc, "sqlite_errorname", None) or ""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fs = os.statvfs(folder)
    except OSError:
        fs = None
    if name.startswith("SQLITE_FULL"):
        if fs is not None and fs.f_bavail * fs.f_frsize >= 1 << 20:
            return f"the database reached its size limit ({exc})"
        return f"[Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)} ({exc})"
    if fs is not None and fs.f_flag & os.ST_RDONLY:
        return f"[Errno {errno.EROFS}] {os.strerror(errno.EROFS)}"
    for candidate in (folder, path):
        if candidate.exists() and not os.access(candidate, os.W_OK):
            return f"[Errno {errno.EACCES}] {os.strerror(errno.EACCES)}: '{candidate}'"
    if name.startswith("SQLITE_IOERR"):
        return f"[Errno {errno.EIO}] {os.strerror(errno.EIO)} ({exc})"
    return str(exc)


def storage_error(path: Path, exc: BaseException) -> StorageError:
    return StorageError(f"{path}: cannot write the state file: {os_reason(path, exc)}")
