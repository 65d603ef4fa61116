"""The filters the Atlassian SCIM directory accepts: `userName eq "..."` and `externalId eq "..."`.

Atlassian rejects every other filter with 400 invalidFilter, so the simulator does too: a
connector that relies on `sw`, `and` or `emails.value` must fail here before it fails in
production. Parsing (string escapes included) is scim2-models' job; this module only decides
what is allowed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from scim2_models import ScimFilter
from scim2_models.path import Comparison

from scimrecon.sim.web import ApiError

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
_ALLOWED = {"username": "userName", "externalid": "externalId"}


@dataclass(frozen=True)
class EqFilter:
    """One accepted filter: the attribute (canonical spelling) and the exact value."""

    attribute: str
    value: str


@functools.lru_cache(maxsize=1024)
def parse_filter(text: str) -> EqFilter:
    """Parse and vet a filter, or raise ApiError 400 invalidFilter naming the reason."""
    try:
        node = ScimFilter(text).ast
    except Exception as exc:
        raise ApiError(400, f"invalid filter {text!r}: {exc}", code="invalidFilter") from exc
    if not isinstance(node, Comparison):
        raise ApiError(
            400,
            "only a single 'eq' comparison on userName or externalId is supported",
            code="invalidFilter",
        )
    path = node.attr_path
    if path.uri and path.uri.rstrip(":").lower() != USER_URN.lower():
        raise ApiError(400, f"unsupported attribute {path.uri}:{path.attr}", code="invalidFilter")
    attribute = _ALLOWED.get(str(path.attr).lower()) if path.sub_attr is None else None
    if attribute is None:
        name = f"{path.attr}.{path.sub_attr}" if path.sub_attr else str(path.attr)
        raise ApiError(400, f"filtering on {name!r} is not supported", code="invalidFilter")
    if str(node.op.value).lower() != "eq":
        raise ApiError(
            400, f"operator {node.op.value!r} is not supported; use eq", code="invalidFilter"
        )
    if not isinstance(node.value, str):
        raise ApiError(400, f"{attribute} must be compared with a string", code="invalidFilter")
    return EqFilter(attribute, node.value)


def quote(value: str) -> str:
    """Write a value as a filter string literal (the escaping clients must do)."""
    import json

    return json.dumps(value, ensure_ascii=False)
