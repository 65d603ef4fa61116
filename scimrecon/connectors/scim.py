"""The Atlassian SCIM directory, through scim2-client driven by our HTTP layer.

scim2-client builds and validates SCIM messages (filters, PatchOp, ListResponse, Error bodies);
it never retries and ships an engine for a different HTTP stack, so a ~30-line engine here sends
its requests through `HttpClient` to get our retries, rate limit and redaction. Callers get a
small `ScimUser` view and project exceptions, never raw JSON or scim2 exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from scim2_client import (
    BaseSyncSCIMClient,
    SCIMClientException,
    SCIMResponseException,
    UnexpectedStatusCodeException,
)
from scim2_client.client import RawResponse
from scim2_models import (
    URN,
    Email,
    Extension,
    Group,
    ListResponse,
    PatchOp,
    PatchOperation,
    ResourceType,
    SCIMException,
    ScimProvider,
    SearchRequest,
    User,
)

from scimrecon.connectors.scim_errors import (
    IdentityMismatch,
    NotFound,
    ScimError,
    error_class,
)
from scimrecon.http import HttpClient, HttpError
from scimrecon.identity import same_identity

ATLASSIAN_EXTENSION = "urn:scim:schemas:extension:atlassian-external:1.0"
PAGE_SIZE = 100  # Atlassian's maximum
SCIM_JSON = "application/scim+json"


class AtlassianExtension(Extension):
    """The extension Atlassian adds to every SCIM user: the linked account's id."""

    __schema__ = URN(ATLASSIAN_EXTENSION)

    atlassian_account_id: str | None = None


ScimUserModel = User[AtlassianExtension]


def quote_filter_value(value: str) -> str:
    """A SCIM filter string literal: a JSON string, so `"`, `\\` and control characters are
    escaped and `userName eq "a\\" or \\"x"` can never become two comparisons."""
    return json.dumps(value, ensure_ascii=False)


def eq_filter(attribute: str, value: str) -> str:
    return f"{attribute} eq {quote_filter_value(value)}"


@dataclass(frozen=True)
class ScimUser:
    """What callers need of a SCIM user. `id` is empty for a user not created yet."""

    id: str
    user_name: str
    external_id: str | None = None
    emails: tuple[str, ...] = ()
    primary_email: str | None = None
    active: bool = True
    account_id: str | None = None
    display_name: str | None = None
    email_types: tuple[str | None, ...] = field(default=(), repr=False, compare=False)
    #: the user's `groups` attribute as (group id, display) pairs, display None when absent
    groups: tuple[tuple[str, str | None], ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def new(
        cls,
        user_name: str,
        email: str | None = None,
        *,
        external_id: str | None = None,
        display_name: str | None = None,
        active: bool = True,
    ) -> ScimUser:
        email = email or user_name
        return cls(
            id="",
            user_name=user_name,
            external_id=external_id,
            emails=(email,),
            primary_email=email,
            active=active,
            display_name=display_name,
        )

    @classmethod
    def from_model(cls, model: Any) -> ScimUser:
        emails = list(model.emails or [])
        values = tuple(str(e.value) for e in emails if e.value)
        primary = next((str(e.value) for e in emails if e.primary and e.value), None)
        ext = getattr(model, "AtlassianExtension", None)
        return cls(
            id=str(model.id or ""),
            user_name=str(model.user_name or ""),
            external_id=model.external_id,
            emails=values,
            primary_email=primary or (values[0] if values else None),
            active=bool(model.active) if model.active is not None else True,
            account_id=ext.atlassian_account_id if ext is not None else None,
            display_name=model.display_name,
            email_types=tuple(
                (e.type.value if hasattr(e.type, "value") else e.type) for e in emails
            ),
            groups=tuple(
                (str(ref.value), str(ref.display) if ref.display else None)
                for ref in getattr(model, "groups", None) or []
                if ref.value
            ),
        )

    def group_names(self) -> dict[str, str] | None:
        """Display name -> group id of the user's groups, as read with the user; None when a
        membership came without its name (then the groups are read: `groups_of`)."""
        if any(display is None for _, display in self.groups):
            return None
        return {str(display): group_id for group_id, display in self.groups}

    def to_model(self) -> Any:
        emails = [
            Email(value=value, type="work", primary=(value == self.primary_email))
            for value in self.emails
        ]
        return ScimUserModel(
            user_name=self.user_name,
            external_id=self.external_id,
            display_name=self.display_name,
            emails=emails or None,
            active=self.active,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("email_types")
        data["emails"] = list(self.emails)
        return data


@dataclass(frozen=True)
class ScimGroup:
    """A SCIM group as a membership: its id, its name, and the IdP's id for it (`externalId`:
    Entra sends the group's objectId there, which is how its push on demand names it)."""

    id: str
    display_name: str
    external_id: str | None = None


class _Engine(BaseSyncSCIMClient):
    """scim2-client's sync client, sending through our HttpClient (retries, limits, redaction).

    Error statuses come back as responses (not exceptions) so scim2-client can read the SCIM
    Error body; only transport failures raise, already as one-line HttpErrors.
    """

    def __init__(self, http: HttpClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http = http

    def _stays_under_base_url(self, endpoint: str) -> bool:
        client = self.http.httpx_client
        try:
            url = client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        base = client.base_url
        same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
        return same_origin and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: RawResponse) -> Any:
        return response.json()  # type: ignore[attr-defined]

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Accept": f"{SCIM_JSON}, application/json", **(kwargs.pop("headers", {}))}
        if "json" in kwargs:
            kwargs["content"] = json.dumps(kwargs.pop("json")).encode()
            headers["Content-Type"] = SCIM_JSON
        return self.http.send(method, url, headers=headers, raise_for_status=False, **kwargs)


class ScimDirectory:
    """One Atlassian SCIM directory (the [scim] base URL includes the directory id)."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http
        #: group id -> the group, read once: its externalId is the IdP's id and never changes
        self._groups: dict[str, ScimGroup] = {}
        self._scim = _Engine(
            http,
            provider=ScimProvider(
                models=[User, AtlassianExtension, Group],
                resource_types=[
                    ResourceType.from_resource(ScimUserModel),
                    ResourceType.from_resource(Group),
                ],
            ),
            check_response_content_type=False,  # some answers come as application/json
        )

    def __repr__(self) -> str:
        return f"ScimDirectory({self.http!r})"

    # -- error mapping ---------------------------------------------------------------------------

    def _fail(self, method: str, path: str, exc: Exception) -> HttpError:
        source = getattr(exc, "source", None)
        if isinstance(source, httpx.Response):
            method = source.request.method
            path = self.http._display_path(source.request.url)
        if isinstance(exc, SCIMException):
            status = int(getattr(exc, "status", 0) or 0) or (
                source.status_code if isinstance(source, httpx.Response) else 400
            )
            scim_type = getattr(exc, "scim_type", "") or None
            detail = exc.detail
            shown = f"{detail} (scimType {scim_type})" if scim_type else detail
            return error_class(status)(
                self.http.scrub(f"{self.http.api}: {method} {path} → {status}: {shown}"),
                api=self.http.api,
                method=method,
                path=path,
                status=status,
                detail=self.http.scrub(detail),
                scim_type=scim_type,
            )
        if isinstance(exc, SCIMResponseException) and isinstance(source, httpx.Response):
            if isinstance(exc, UnexpectedStatusCodeException) or source.status_code >= 400:
                base = self.http._response_error(method, path, source)
                return error_class(source.status_code)(
                    str(base),
                    api=base.api,
                    method=method,
                    path=path,
                    status=base.status,
                    detail=base.detail,
                    body=base.body,
                )
            what = str(exc)
            if "content format" in what.lower():
                what = "the response is not JSON"
            return ScimError(
                self.http.scrub(f"{self.http.api}: {method} {path} → {source.status_code}: {what}"),
                api=self.http.api,
                method=method,
                path=path,
                status=source.status_code,
                detail=what,
            )
        return ScimError(
            self.http.scrub(f"{self.http.api}: {method} {path}: {exc}"),
            api=self.http.api,
            method=method,
            path=path,
        )

    def _run(self, method: str, path: str, call: Any) -> Any:
        try:
            return call()
        except HttpError:
            raise
        except (SCIMException, SCIMClientException) as exc:
            raise self._fail(method, path, exc) from None

    # -- reads -----------------------------------------------------------------------------------

    def _search(self, filter_text: str | None, start: int, count: int) -> Any:
        params: dict[str, Any] = {"start_index": start, "count": count}
        if filter_text is not None:
            params["filter"] = filter_text
        request = SearchRequest(**params)
        return self._run(
            "GET",
            "/Users",
            lambda: self._scim.query(ScimUserModel, query_parameters=request),
        )

    def _find(self, attribute: str, value: str) -> ScimUser | None:
        """The one user whose userName (identity rule) or externalId (exact) is `value`.

        The directory's own matching is not trusted: a server that folds case more loosely
        (`ſ` to `s`) would hand back somebody else. An answer that is not `value` under the
        rule raises IdentityMismatch, so the caller skips the target instead of acting on it.
        """
        page: ListResponse[Any] = self._search(eq_filter(attribute, value), 1, PAGE_SIZE)
        users = [ScimUser.from_model(r) for r in page.resources or []]
        if attribute == "userName":
            exact = [u for u in users if same_identity(u.user_name, value)]
        else:  # externalId is caseExact (RFC 7643)
            exact = [u for u in users if u.external_id == value]
        if len(exact) == 1:
            return exact[0]
        if not users:
            return None
        if not exact:
            shown = ", ".join(
                f"{u.id} ({u.user_name if attribute == 'userName' else u.external_id!r})"
                for u in users
            )
            raise IdentityMismatch(
                f"{self.http.api}: {attribute} {value!r}: the directory answered {shown}, "
                "which is not the same identity (NFC, then lower case); not acting on it",
                api=self.http.api,
                method="GET",
                path="/Users",
            )
        ids = ", ".join(u.id for u in exact)
        raise ScimError(
            f"{self.http.api}: {attribute} {value!r} matches {len(exact)} SCIM users ({ids}); "
            "refusing to guess which one",
            api=self.http.api,
            method="GET",
            path="/Users",
        )

    def find_by_username(self, user_name: str) -> ScimUser | None:
        return self._find("userName", user_name)

    def find_by_external_id(self, external_id: str) -> ScimUser | None:
        return self._find("externalId", external_id)

    def get(self, scim_id: str) -> ScimUser:
        """The user, or NotFound."""
        model = self._run(
            "GET", f"/Users/{scim_id}", lambda: self._scim.query(ScimUserModel, scim_id)
        )
        return ScimUser.from_model(model)

    def count(self) -> int:
        """How many users the directory holds (one tiny read; `config check` uses it)."""
        page = self._search(None, 1, 1)
        return int(page.total_results or 0)

    def iter_users(self, page_size: int = PAGE_SIZE) -> Iterator[ScimUser]:
        """Every user, a page (startIndex, 1-based) at a time."""
        start = 1
        while True:
            page = self._search(None, start, min(page_size, PAGE_SIZE))
            resources = page.resources or []
            for resource in resources:
                yield ScimUser.from_model(resource)
            start += len(resources)
            total = page.total_results or 0
            if not resources or start > total:
                return

    def groups_of(self, scim_id: str) -> list[ScimGroup]:
        """The groups a user is in, from the user's own `groups` attribute ("Groups to which
        the user is associated in SCIM", Atlassian's SCIM user): one read, however many groups
        the directory holds. A membership that names no group display is read from the group."""
        model = self._run(
            "GET", f"/Users/{scim_id}", lambda: self._scim.query(ScimUserModel, scim_id)
        )
        found = []
        for ref in getattr(model, "groups", None) or []:
            if not ref.value:
                continue
            found.append(
                ScimGroup(str(ref.value), str(ref.display))
                if ref.display
                else self.group(str(ref.value))
            )
        return sorted(found, key=lambda g: (g.display_name.lower(), g.id))

    def group(self, group_id: str) -> ScimGroup:
        """One group with its externalId (the IdP's id for it), or NotFound. Read once per
        group and kept: a run pushing the same group for hundreds of people asks once."""
        known = self._groups.get(group_id)
        if known is None:
            model = self._run(
                "GET", f"/Groups/{group_id}", lambda: self._scim.query(Group, group_id)
            )
            known = ScimGroup(str(model.id), str(model.display_name), model.external_id)
            self._groups[group_id] = known
        return known

    def iter_groups(self, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every group as `{id, displayName, externalId, members: [SCIM user ids]}`, a page
        (startIndex, 1-based) at a time. Read as plain JSON: the groups' only use is a capture
        (`sim capture`), which needs their ids and members and nothing scim2-models adds."""
        start = 1
        while True:
            params = {"startIndex": start, "count": min(page_size, PAGE_SIZE)}
            body = self.http.get("/Groups", params=params)
            resources = body.get("Resources") if isinstance(body, dict) else None
            if not isinstance(resources, list):
                raise self.http.unexpected("GET", "/Groups", "no Resources list")
            for item in resources:
                if isinstance(item, dict) and item.get("id"):
                    yield {
                        "id": str(item["id"]),
                        "displayName": str(item.get("displayName") or ""),
                        "externalId": item.get("externalId"),
                        "members": [
                            str(m["value"])
                            for m in item.get("members") or []
                            if isinstance(m, dict) and m.get("value")
                        ],
                    }
            start += len(resources)
            if not resources or start > int(body.get("totalResults") or 0):
                return

    # -- writes ----------------------------------------------------------------------------------

    def create(self, user: ScimUser) -> ScimUser:
        """POST /Users: links to the managed account holding the email, else creates one.
        A duplicate raises ScimError with scim_type "uniqueness" (409)."""
        model = user.to_model()
        created = self._run("POST", "/Users", lambda: self._scim.create(ScimUserModel, model))
        return ScimUser.from_model(created)

    def _patch(self, scim_id: str, operations: Sequence[PatchOperation[Any]]) -> ScimUser:
        patch = PatchOp[ScimUserModel](operations=list(operations))  # type: ignore[valid-type]
        result = self._run(
            "PATCH",
            f"/Users/{scim_id}",
            lambda: self._scim.modify(ScimUserModel, scim_id, patch),
        )
        return ScimUser.from_model(result) if result is not None else self.get(scim_id)

    def set_active(self, scim_id: str, active: bool) -> ScimUser:
        return self._patch(scim_id, [PatchOperation(op="replace", path="active", value=active)])

    def patch_emails(self, scim_id: str, primary: str, others: Sequence[str] = ()) -> ScimUser:
        """Replace the user's emails: `primary` first and primary, `others` as extra work
        addresses."""
        emails = [{"value": primary, "type": "work", "primary": True}] + [
            {"value": other, "type": "work", "primary": False}
            for other in others
            if other != primary
        ]
        return self._patch(scim_id, [PatchOperation(op="replace", path="emails", value=emails)])

    def delete(self, scim_id: str) -> None:
        """DELETE /Users/{id}: unlinks AND deactivates the Atlassian account; cannot be undone.
        NotFound when it is already gone."""
        self._run("DELETE", f"/Users/{scim_id}", lambda: self._scim.delete(ScimUserModel, scim_id))

    def close(self) -> None:
        self.http.close()


__all__ = [
    "ATLASSIAN_EXTENSION",
    "AtlassianExtension",
    "IdentityMismatch",
    "NotFound",
    "ScimDirectory",
    "ScimError",
    "ScimGroup",
    "ScimUser",
    "eq_filter",
    "quote_filter_value",
]
