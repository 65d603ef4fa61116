"""A block of export rows turned into UserRecords column by column, by C calls, when every
cell in it is one the row parser has already checked.

An export repeats its cells: a handful of statuses, roles and domains, a few thousand dates,
a few hundred product cells. The row parser (export_rows.RowReader.parser) checks each distinct
cell once and remembers the answer; after the first rows, a row is a dozen dictionary look-ups
of cells seen before, and Python's cost per row is most of `analyze`'s time (issue 14,
docs/performance.md). Here the same look-ups run over a whole column at once (`map` of the
caches' `__getitem__` over a column of `zip(*rows)`), and the records are built by one `map`,
so a block of a few thousand rows costs a few dozen interpreter steps instead of a few per cell.

The block parser never decides anything on its own: it only reads the row parser's caches,
whose every entry the row parser made. A block with any cell not in them (a `KeyError`), any
row of another width, a first cell that is blank (a blank row is skipped, not parsed), or an
email without "@" is refused (None), and the caller parses that block row by row, which either
fills the caches or raises the error naming file, line and column exactly as before. So the
records are the row parser's, cell for cell (tests/recon/test_export_blocks.py checks both
ways against each other on random exports, errors included).

Columns whose cells the row parser does not cache (claimed, billable, external, policy type,
groups) make every block go row by row: the managed-accounts export with those columns reads
at the old speed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from itertools import compress, repeat
from operator import add, contains, not_
from typing import TYPE_CHECKING, Any

from scimrecon.recon.model import NEVER, UserRecord

if TYPE_CHECKING:
    from scimrecon.recon.export_rows import RowReader

BlockParser = Callable[[list[str], int], "list[UserRecord] | None"]

# a last-active cell's parsed value -> what the record keeps: the date, or None for "never"
# or no date (dict.get(value, value): a date is not a key, so it comes back as itself)
_DATE_ONLY: dict[Any, None] = {NEVER: None, None: None}
_EMPTY: dict[str, Any] = {}


def _tail(rows: RowReader) -> int | None:
    """The first product column when the product columns are the export's last ones (as in
    Atlassian's Directory export), else None."""
    columns = {i for spec in rows.specs for i in (spec[2], spec[3]) if i is not None}
    if not columns:
        return None
    tail = min(columns)
    return tail if columns == set(range(tail, rows.width)) else None


def block_parser(rows: RowReader) -> BlockParser | None:
    """The block function for this export's columns, or None when a column it does not
    read from a cache (see the module's docstring) means every row must go row by row."""
    if any(
        i is not None
        for i in (rows.i_claimed, rows.i_billable, rows.i_external, rows.i_policy_type)
    ):
        return None
    if rows.i_groups is not None:
        return None
    commas = {rows.width - 1}
    i_email, i_status, i_id, i_name = rows.i_email, rows.i_status, rows.i_id, rows.i_name
    i_added, i_last, i_role, i_type = rows.i_added, rows.i_last, rows.i_role, rows.i_type
    i_policy_name = rows.i_policy_name
    status_of = rows.status_cache.__getitem__
    added_of = rows.added_cache.__getitem__
    role_of, kind_of = rows.roles.__getitem__, rows.kinds.__getitem__
    org_domains = rows.domains
    # "@domain" of each domain text seen that is one of the org's, in the case it was seen
    # in: an email ending so has it as its domain (a domain holds no "@")
    managed_ends: list[tuple[str, ...]] = [()]
    seen_of = rows.dates.cache.__getitem__
    managed_export = rows.managed_export
    # per product column pair: its access and last-seen column (None: none) and its cache
    pairs = tuple((spec[2], spec[3], spec[4]) for spec in rows.specs)
    # with the product columns last, the text of a row's product cells -> its products: one
    # look-up instead of two a product column pair (four in five rows hit, in the bench's
    # export; the key is the cells' exact text, and the cells have no comma, so it names them)
    tail = _tail(rows)
    tail_cache: dict[str, tuple[Any, ...]] = {}
    tail_width = {rows.width - tail} if tail is not None else set()  # cells in the text
    tail_get = tail_cache.get
    new_tuple = tuple.__new__
    strip = str.strip

    def products_of(cols: list[tuple[str, ...]], offset: int, n: int) -> list[Any] | Any:
        """Each row's products, from its product columns (cols[i - offset] is column i);
        KeyError for a cell pair the row parser has not checked."""
        products: Any = repeat((), n)
        first = True
        for ai, si, cache in pairs:
            a_col = cols[ai - offset] if ai is not None else repeat("", n)
            s_col = cols[si - offset] if si is not None else repeat("", n)
            found = list(map(dict.__getitem__, map(cache.get, a_col, repeat(_EMPTY, n)), s_col))
            products = found if first else list(map(add, products, found))
            first = False
        return products

    def tail_products(tails: tuple[str, ...]) -> list[Any]:
        """Each row's products, from the text of its product cells."""
        products = list(map(tail_get, tails))
        if None in products:
            missing = [k for k, found in enumerate(products) if found is None]
            cells = [tails[k].split(",") for k in missing]
            assert tail is not None
            if set(map(len, cells)) != tail_width:
                raise ValueError  # a row of another width: the row parser says why
            made = products_of(list(zip(*cells, strict=True)), tail, len(missing))
            for k, found in zip(missing, made, strict=True):
                products[k] = found
                if len(tail_cache) < 50_000:
                    tail_cache[tails[k]] = found
        return products

    def parse_block(texts: list[str], start: int) -> list[UserRecord] | None:
        n = len(texts)
        try:
            if tail is None:
                if set(map(str.count, texts, repeat(","))) != commas:
                    return None  # a row of another width (or a blank line): the row parser
                cols = list(zip(*map(str.split, texts, repeat(",")), strict=True))
            else:
                # the product cells stay one text, cols[tail]; a row of another width has
                # another number of cells before it (zip's ValueError, or fewer columns) or
                # of commas in it (tail_products' ValueError: a text it knows has the right
                # number, it checked that when it learnt it)
                cols = list(zip(*map(str.split, texts, repeat(","), repeat(tail, n)), strict=True))
                if len(cols) != tail + 1:
                    return None
        except ValueError:
            return None  # a row of another width (or a blank line): the row parser says why
        firsts = list(map(strip, cols[0]))
        if not all(firsts):
            return None  # a row that may be blank: the row parser skips or parses it
        emails = list(map(strip, cols[i_email]))
        if not all(map(contains, emails, repeat("@", n))):
            return None
        try:
            products = products_of(cols, 0, n) if tail is None else tail_products(cols[tail])
            if managed_export:
                managed: Iterator[bool] | list[bool] = repeat(True, n)
            else:
                managed = list(map(str.endswith, emails, repeat(managed_ends[0], n)))
                for k in compress(range(n), map(not_, managed)):
                    # a domain not seen in this case yet, or not the org's: the row
                    # parser's rule (the text after the last "@", any case)
                    domain = emails[k][emails[k].rfind("@") + 1 :]
                    if domain.lower() in org_domains:
                        managed[k] = True
                        managed_ends[0] += ("@" + domain,)
            last_active: Iterator[date | None] | map[Any] = repeat(None, n)
            if i_last is not None:
                values = list(map(seen_of, cols[i_last]))
                last_active = map(_DATE_ONLY.get, values, values)
            records = list(
                map(
                    new_tuple,
                    repeat(UserRecord, n),
                    zip(
                        (
                            firsts
                            if i_id == 0
                            else map(strip, cols[i_id])
                            if i_id is not None
                            else repeat("", n)
                        ),
                        map(strip, cols[i_name]) if i_name is not None else repeat("", n),
                        emails,
                        map(status_of, cols[i_status]),
                        managed,
                        products,
                        map(added_of, cols[i_added]) if i_added is not None else repeat(None),
                        map(role_of, cols[i_role]) if i_role is not None else repeat("member"),
                        map(kind_of, cols[i_type]) if i_type is not None else repeat("atlassian"),
                        last_active,
                        repeat(None),  # reported_billable: no Billable column
                        repeat(()),  # groups: no Groups column
                        range(start, start + n),
                        repeat(None),  # external: no column, the rule infers it (decision 115)
                        repeat(None),  # policy_billable: no Policy type column
                        (
                            map(strip, cols[i_policy_name])
                            if i_policy_name is not None
                            else repeat("")
                        ),
                    ),
                )
            )
        except KeyError:
            return None  # a cell the row parser has not checked yet
        except ValueError:
            return None  # a row of another width (tail_products): the row parser says why
        return records

    return parse_block
