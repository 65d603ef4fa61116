"""Stream an Atlassian user export into UserRecords, a block of rows at a time.

The reader holds one block of rows in memory (BLOCK_ROWS, parsed together by
export_blocks.py), a few bounded caches of cells seen before, plus about 8 bytes a user to
refuse duplicates (a key's hash, sorted after the last row: repeats.py; about 48 bytes when
the export has a group column and may repeat a user once a group, group_rows.py), so a
million-row export costs little more memory than a ten-row one. Every problem becomes an
InputError naming the file, the line and the column, because an admin fixing a CSV by hand
needs to know exactly where to look.

This module opens the file and streams it (blocks, repeats, decoding and CSV errors); a row
becomes a UserRecord in export_rows.py, by the words of export_cells.py.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path

from scimrecon.errors import InputError
from scimrecon.identity import identity_key
from scimrecon.limits import check_columns
from scimrecon.recon.columns import DIRECTORY, MANAGED, ColumnPlan, plan_columns
from scimrecon.recon.csvrows import FastRows, split_lines
from scimrecon.recon.export_blocks import block_parser
from scimrecon.recon.export_rows import RowReader
from scimrecon.recon.group_rows import expected_rows, merge_group_rows
from scimrecon.recon.model import UserRecord
from scimrecon.recon.repeats import LIMIT, KeyHashes
from scimrecon.recon.textio import locate_decode_error, open_text


@dataclass
class Export:
    """An opened export: its detected format and column plan, and its records (one pass)."""

    source: str
    path: Path
    encoding: str
    plan: ColumnPlan
    _rows: Iterator[UserRecord]

    @property
    def format(self) -> str:
        return self.plan.format

    def records(self) -> Iterator[UserRecord]:
        return self._rows


_account_id = itemgetter(UserRecord._fields.index("account_id"))
#: rows parsed together (export_blocks.py): enough that a block's own costs vanish, few
#: enough that its strings stay in the processor's cache (2,000 was a third slower than 128)
BLOCK_ROWS = 128
PIECE_ROWS = 16  # a block the block parser refuses is tried again in pieces this long


@contextmanager
def open_export(
    path: Path,
    *,
    source: str | None = None,
    columns: Mapping[str, str] | None = None,
    domains: Iterable[str] = (),
    export_format: str | None = None,
    encoding: str | None = None,
    block_rows: int = BLOCK_ROWS,
    suspects: Mapping[int, int] | None = None,
) -> Iterator[Export]:
    """Open an export for one streaming pass; every input problem raises InputError.

    `domains` are the org's verified domains: in a Directory export a user is managed when the
    email's domain is one of them or when the export has a `Claimed` column that says Yes.
    `block_rows`: rows read and parsed together (export_blocks.py); 0 parses every row on its
    own (the tests compare the two). `suspects`: the pass that looks for the first repeated
    user among keys of these hashes (repeats.py; each with the times the first pass saw it),
    made by the first pass when it needs it.
    """
    name = source or str(path)
    domains = tuple(domains)  # the second read (suspects) needs them too
    suspects = suspects or None  # an empty mapping is no second read: every key is checked
    if export_format is not None and export_format not in (DIRECTORY, MANAGED):
        raise InputError(f"unknown export format {export_format!r} (use {DIRECTORY} or {MANAGED})")
    with open_text(path, encoding, label=name) as (text, codec):
        reader = FastRows(text, name)

        def decode_failure() -> InputError:
            line, offset, bad = locate_decode_error(path, codec)
            return InputError(
                f"{name}:{line}: cannot decode byte(s) {bad.hex(' ')} at offset {offset} as "
                f"{codec} (save the export as UTF-8 or pass --encoding)"
            )

        def next_row() -> list[str] | None:
            try:
                return next(reader)
            except StopIteration:
                return None
            except UnicodeDecodeError:
                raise decode_failure() from None
            except csv.Error as exc:
                raise InputError(f"{name}:{reader.line_num}: not valid CSV ({exc})") from None

        header = next_row()
        while header is not None and not any(h.strip() for h in header):
            header = next_row()
        if header is None:
            raise InputError(f"{name}: empty file (no header row)")
        check_columns(len(header), name, line=reader.line_num)
        plan = plan_columns(header, source=name, overrides=columns, export_format=export_format)
        rows = RowReader(plan, name, domains)

        def group_records() -> Iterator[UserRecord]:
            """One row per group membership: a user's rows merged (group_rows.py)."""
            try:
                yield from merge_group_rows(
                    reader,
                    rows.parser(),
                    group=plan.fields["groups"],
                    headers=plan.headers,
                    source=name,
                    row_at=lambda line: _row_at(path, codec, line),
                    expected=expected_rows(path),
                )
            except UnicodeDecodeError:
                raise decode_failure() from None
            except csv.Error as exc:
                raise InputError(f"{name}:{reader.line_num}: not valid CSV ({exc})") from None

        def record_lists() -> Iterator[list[UserRecord]]:
            seen = KeyHashes()
            first_lines: dict[str, int] = {}  # with suspects: key -> the line it was first on
            times: dict[int, int] = {}  # with suspects: hash -> keys of it seen this time

            def admit(block: list[UserRecord]) -> None:
                """Keep the block's keys' hashes; on the second pass, refuse the first key
                seen twice among the suspected hashes."""
                keys = list(map(_account_id, block))
                if not all(keys):
                    keys = [k or identity_key(r.email) for k, r in zip(keys, block, strict=True)]
                if suspects is None:
                    seen.add(keys)
                    return
                for key, record in zip(keys, block, strict=True):
                    h = hash(key)
                    if h in suspects:
                        times[h] = times.get(h, 0) + 1
                        first = first_lines.setdefault(key, record.line)
                        if first != record.line:
                            raise InputError(
                                f"{name}:{record.line}: duplicate user {key!r} "
                                f"(already on line {first})"
                            )

            parse = rows.parser()
            fast = block_parser(rows) if block_rows else None

            def parsed(
                start: int, texts: list[str] | None, block: list[list[str]] | None
            ) -> Iterator[list[UserRecord]]:
                """The records of a block (plain lines, or rows), checked for repeats, in
                lists. Plain lines the block parser refuses go in pieces (a date not seen
                before costs one piece), a piece it refuses row by row: each row parsed, then
                checked, then the next."""
                if texts is not None and fast is not None:
                    records = fast(texts, start)
                    if records is not None:
                        admit(records)
                        yield records
                        return
                    if len(texts) > PIECE_ROWS:
                        for k in range(0, len(texts), PIECE_ROWS):
                            yield from parsed(start + k, texts[k : k + PIECE_ROWS], None)
                        return
                for n, row in enumerate(block if texts is None else split_lines(texts)):
                    if not row or (not row[0].strip() and not "".join(row).strip()):
                        continue  # a blank line, or a row of empty cells (Excel leaves those)
                    record = parse(row, start + n)
                    admit([record])
                    yield [record]

            try:
                for start, texts, block in reader.blocks(block_rows or 1):
                    yield from parsed(start, texts, block)
            except UnicodeDecodeError:
                raise decode_failure() from None
            except csv.Error as exc:
                raise InputError(f"{name}:{reader.line_num}: not valid CSV ({exc})") from None
            if suspects is not None:
                if times != suspects:  # no repeat now, and not the keys of the first read
                    raise InputError(
                        f"{name}: the file changed while it was read (its users differ between "
                        "two reads); read it again when nothing writes to it"
                    )
                if len(suspects) >= LIMIT:  # collisions all, and maybe repeats past the limit
                    raise InputError(
                        f"{name}: {len(suspects)} keys share a hash with another and none of "
                        "them repeats: the rest were not compared; refusing the export"
                    )
                return
            repeated = seen.repeated()
            if repeated:  # a key's hash came twice: read again, comparing those keys
                again = open_export(
                    path,
                    source=source,
                    columns=columns,
                    domains=domains,
                    export_format=export_format,
                    encoding=codec,
                    block_rows=block_rows,
                    suspects=repeated,
                )
                with again as second:
                    deque(second.records(), maxlen=0)

        merging = "groups" in plan.fields
        # the records of a list come out of a C iterator: no generator step per record
        rows_out = group_records() if merging else chain.from_iterable(record_lists())
        yield Export(source=name, path=path, encoding=codec, plan=plan, _rows=rows_out)


def _row_at(path: Path, codec: str, line: int) -> list[str] | None:
    """The row that starts on `line` (for an error message naming what differs)."""
    with open_text(path, codec) as (text, _):
        reader = csv.reader(text)
        last = 0
        for row in reader:
            start, last = last + 1, reader.line_num
            if start == line:
                return row
            if start > line:
                break
    return None


def read_records(path: Path, **options: object) -> list[UserRecord]:
    """Read a whole (small) export into a list; tests and the reconcile join use this."""
    with open_export(path, **options) as export:  # type: ignore[arg-type]
        return list(export.records())
