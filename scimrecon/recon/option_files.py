"""The files `scimrecon options` writes for people to review and upload: the accounts to claim
(option 1) and the deletion request for Atlassian support (option 5).

Claim list layout (support.atlassian.com/user-management/docs/verify-a-domain-to-manage-accounts,
"Unclaim accounts"; claiming selected accounts takes the same file): "a CSV file with a single
column of email accounts", "up to 10,000 email addresses in each CSV file", at most 5 MB. The
documentation does not say whether the column has a header; ours has one (`email`): a header
taken for an address is refused visibly by the upload, while a first address taken for a
header would be left out in silence.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from scimrecon import spreadsheet
from scimrecon.recon.classify import Candidate

CLAIM_HEADER = "email"
CLAIM_MAX_ROWS = 10_000
CLAIM_MAX_BYTES = 5 * 1024 * 1024

SUPPORT_WARNING = (
    "Deleting an account cannot be undone once Atlassian has processed it. Boards, pages and "
    "issues only this person could see are deleted with it; Jira and Jira Service Management "
    "keep their tickets, but the history shows a former user and nobody can reply as them."
)


def claim_csv(emails: Sequence[str]) -> str:
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow([CLAIM_HEADER])
    for email in emails:
        writer.writerow([email])
    return out.getvalue()


def claim_parts(path: Path, emails: Sequence[str]) -> list[tuple[Path, str]]:
    """The claim list as files of at most 10,000 addresses: `path` itself, then `NAME-2.csv`,
    `NAME-3.csv`... (the upload takes one file of up to 10,000 at a time)."""
    chunks = [emails[i : i + CLAIM_MAX_ROWS] for i in range(0, len(emails), CLAIM_MAX_ROWS)]
    parts = []
    for n, chunk in enumerate(chunks or [[]], start=1):
        where = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        parts.append((where, claim_csv(chunk)))
    return parts


def stale_claim_part(path: Path, written: int) -> Path | None:
    """The first `NAME-N.csv` beyond the `written` parts that exists already: the rest of an
    earlier, longer list, which a later, shorter one does not replace (an upload of it would
    claim accounts the new list leaves out)."""
    after = path.with_name(f"{path.stem}-{written + 1}{path.suffix}")
    return after if after.exists() else None


def support_request(
    users: Sequence[Candidate],
    products: Mapping[str, Sequence[str]],
    *,
    org: str,
    as_of: date,
) -> str:
    """The text of a deletion request for Atlassian support, one block per account, with the
    warning first: it is for the org admin to review before sending, never sent by us. `org`
    is the organization id ("" when no profile names it)."""
    whose = f"organization {org}" if org else "our organization"
    lines = [
        f"Request: delete {len(users)} managed Atlassian account(s) of {whose}",
        f"Prepared by scimrecon options on {as_of.isoformat()} - review before sending.",
        "",
        f"WARNING: {SUPPORT_WARNING}",
        "",
        "Reason: each account is billable under Atlassian Guard only through a product the org "
        "does not want to pay for, and the org asks for the account to be deleted.",
        "",
    ]
    for n, user in enumerate(users, start=1):
        used = ", ".join(products.get(user.account_id) or ()) or "(none listed)"
        lines += [
            f"{n}. account id: {_line(user.account_id)}",
            f"   email: {_line(user.email)}",
            f"   name: {_line(user.name)}",
            f"   products: {_line(used)}",
            f"   why: {_line(user.reason)}",
            "",
        ]
    return "\n".join(lines)


def _line(value: str) -> str:
    """A field kept on its one line, with every character that is not plainly visible (line
    breaks, bidi controls, zero-width and other format or control characters) written as a
    `\\uXXXX` escape. People choose their own display names: a name holding a line break
    and "7. account id: <someone else's>" must not add a block to a deletion request."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value)
