"""Target lists in the one shape every playbook accepts: `email,account_id,name,reason`.

Written with the csv module (quotes, commas and newlines in names survive), with formula-like
cells neutralised for spreadsheets (scimrecon.spreadsheet; the target loader undoes it), and
atomically, so a half-written list can never be fed to a playbook that changes people's access.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from scimrecon import spreadsheet
from scimrecon.atomicfile import write_atomic
from scimrecon.recon.classify import Candidate

TARGET_COLUMNS = ("email", "account_id", "name", "reason")


def targets_csv(candidates: Iterable[Candidate]) -> str:
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow(TARGET_COLUMNS)
    for c in candidates:
        writer.writerow([c.email, c.account_id, c.name, c.reason])
    return out.getvalue()


def write_targets(path: Path, candidates: Iterable[Candidate]) -> int:
    """Write the list to `path` (replacing it whole); return how many targets it holds."""
    items = list(candidates)
    write_atomic(path, targets_csv(items))
    return len(items)
