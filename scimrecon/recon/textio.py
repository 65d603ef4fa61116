"""Open an export as decoded text, whatever Excel or the admin console saved it as.

Atlassian's exports are UTF-8 (sometimes with a BOM); a file re-saved by Excel can be UTF-16.
We decide from the BOM (or, without one, from the NUL bytes UTF-16 leaves in ASCII text) and
decode strictly while streaming, so a bad byte is reported where it is instead of becoming a
silent replacement character in someone's email address.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from scimrecon.errors import InputError
from scimrecon.limits import check_size, open_regular


def detect_encoding(head: bytes) -> str:
    """The codec for a file that starts with `head` (its first few bytes)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4:
        if head[1] == 0 and head[3] == 0 and head[0] != 0:
            return "utf-16-le"
        if head[0] == 0 and head[2] == 0 and head[1] != 0:
            return "utf-16-be"
    return "utf-8"


@contextmanager
def open_text(
    path: Path,
    encoding: str | None = None,
    *,
    max_bytes: int | None = None,
    label: str | None = None,
) -> Iterator[tuple[IO[str], str]]:
    """Yield (text stream for the csv module, codec name). Decoding errors surface on read.

    Only a regular file opens (a device, FIFO or directory is refused, see limits.py);
    `max_bytes` is for callers that keep the whole content: a larger file is refused. Callers
    that stream should read lines through `limits.GuardedLines`.
    """
    raw = open_regular(path, label)
    try:
        if max_bytes is not None:
            check_size(raw, label or str(path), max_bytes)
        if encoding is None:
            encoding = detect_encoding(raw.read(4))
            raw.seek(0)
        else:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise InputError(f"--encoding: unknown encoding {encoding!r}") from None
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        try:
            yield text, encoding
        finally:
            text.detach()
    finally:
        raw.close()


def locate_decode_error(path: Path, encoding: str) -> tuple[int, int, bytes]:
    """Find the line, byte offset and bytes of the first undecodable sequence (error path)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line, offset = 1, 0
    with open_regular(path) as fh:
        while chunk := fh.read(1):
            # a lead byte waits in the decoder until the byte that proves it wrong comes: the
            # bad sequence starts at the first byte waiting (Latin-1 `Zo\xeb,` fails at ",")
            waiting = decoder.getstate()[0]
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError:
                rest = fh.read(3)
                return line, offset - len(waiting), (waiting + chunk + rest)[:4]
            line += text.count("\n")
            offset += 1
    return line, offset, b""
