"""Notice templates: a plain-text file, `Subject: ...` on the first line, a blank line, the body.

The same layout as the mail it becomes, so whoever edits the wording sees the mail. Both parts
fill the documented placeholders (NOTICE_PLACEHOLDERS) through `steps.templates`, which refuses
anything else when the plan is made, naming the file and the placeholder. Shipped templates
live in scimrecon/playbooks/templates/ and are named without their `.txt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scimrecon.errors import InputError
from scimrecon.limits import read_document
from scimrecon.steps.templates import fill, template_problem

SHIPPED = Path(__file__).resolve().parent.parent / "playbooks" / "templates"

#: Placeholder -> what it is filled with (docs/writing-playbooks.md lists the same).
NOTICE_PLACEHOLDERS: dict[str, str] = {
    "email": "the recipient's email (the target)",
    "products": "the products the account can use now, read live (e.g. Jira, Confluence)",
    "notice_days": "the length of the notice period in days",
    "act_on": "the date (YYYY-MM-DD, UTC) the notice period ends; nothing happens before it",
    "run": "the run id (quote it when replying)",
    "sender": "the profile's [smtp] sender address",
}
MAX_TEMPLATE_BYTES = 64 * 1024


@dataclass(frozen=True)
class NoticeTemplate:
    source: str
    subject: str
    body: str

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        """(subject, body) with the placeholders filled; values are never parsed."""
        return (
            fill(f"{self.source} (subject)", self.subject, values),
            fill(f"{self.source} (body)", self.body, values),
        )


def template_path(ref: str) -> Path:
    """A shipped template by name (`inactive-notice`), else a file path."""
    if ref and "/" not in ref and "\\" not in ref and not ref.endswith(".txt"):
        return SHIPPED / f"{ref}.txt"
    return Path(ref)


def load_notice(ref: str) -> NoticeTemplate:
    """Read and vet a template; InputError (exit 2) naming the file, line and problem."""
    path = template_path(ref)
    try:
        raw = read_document(path, f"notice template {path}", limit=MAX_TEMPLATE_BYTES)
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"notice template {path}: not UTF-8 text") from None
    lines = text.replace("\r\n", "\n").split("\n")
    first = lines[0]
    if not first.lower().startswith("subject:"):
        raise InputError(f"notice template {path}: line 1 must be 'Subject: <subject>'")
    subject = first[len("subject:") :].strip()
    if not subject:
        raise InputError(f"notice template {path}: line 1: the subject is empty")
    if len(lines) < 3 or lines[1].strip():
        raise InputError(f"notice template {path}: line 2 must be blank, the body follows it")
    body = "\n".join(lines[2:]).strip("\n") + "\n"
    if not body.strip():
        raise InputError(f"notice template {path}: the body is empty")
    label = f"notice template {path}"
    for part, template in (("subject", subject), ("body", body)):
        problem = template_problem(template, NOTICE_PLACEHOLDERS)
        if problem is not None:
            raise InputError(f"{label}: the {part}: {problem}")
    return NoticeTemplate(label, subject, body)


__all__ = ["NOTICE_PLACEHOLDERS", "NoticeTemplate", "load_notice", "template_path"]
