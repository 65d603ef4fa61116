"""Read a Microsoft Graph collection page by page, and follow only next links we may follow.

Every Graph read of the Entra adapter (users, the app's assignments, a group's members, a
user's own assignments) is a paged collection whose next page is an absolute
`@odata.nextLink`. Following it blindly would hand our token to whatever host the link names,
and a 403 alone does not say which application permission is missing; both are answered here,
once, for every read. `link_under` is shared with Okta, whose next pages are links too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scimrecon.http import HttpClient, HttpError

PAGE_SIZE = 999  # Graph's largest page for users, assignments and members: fewest requests
# The application permission each read needs (least privileged), named in a 403's message.
READ_USERS = "User.Read.All"
READ_ASSIGNMENTS = "Application.Read.All"
# a user's own assignments: the permission the reassignment writes with reads them too
READ_OWN_ASSIGNMENTS = "AppRoleAssignment.ReadWrite.All"
READ_MEMBERS = "GroupMember.Read.All"


def graph_pages(
    graph: HttpClient, path: str, query: str, permission: str
) -> Iterator[dict[str, Any]]:
    """The items of a Graph collection, following `@odata.nextLink` to the last page."""
    url = f"{path.lstrip('/')}?{query}"
    seen = {url}
    while True:
        try:
            body = graph.get(url)
        except HttpError as exc:
            if exc.status != 403:
                raise
            raise exc.with_hint(
                f" (the app registration needs the {permission} application permission, with "
                "admin consent)"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            raise graph.unexpected("GET", path, "no value list")
        yield from (item for item in body["value"] if isinstance(item, dict))
        link = body.get("@odata.nextLink")
        if not link:
            return
        following = link_under(graph.base_url, str(link))
        if following is None:
            # following it would hand our token to whoever the link names
            raise graph.unexpected("GET", path, "@odata.nextLink points outside the Graph base URL")
        url = following
        if url in seen:
            raise graph.unexpected("GET", path, "@odata.nextLink repeats an earlier page")
        seen.add(url)


def link_under(base_url: str, link: str) -> str | None:
    """An absolute `link` as a path relative to `base_url` (query kept), or None when it points
    at another scheme, host or port, or outside the base path."""
    base, target = urlsplit(base_url), urlsplit(link)
    prefix = base.path.rstrip("/") + "/"
    if (target.scheme.lower(), target.netloc.lower()) != (
        base.scheme.lower(),
        base.netloc.lower(),
    ) or not target.path.startswith(prefix):
        return None
    relative = target.path[len(prefix) :]
    return f"{relative}?{target.query}" if target.query else relative
