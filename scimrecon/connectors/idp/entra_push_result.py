"""provisionOnDemand's answer, read into a PushResult.

Graph answers 200 whatever the push did (docs/fidelity.md GRAPH-7): the outcome is inside two
JSON *strings*. Reading them is its own small job, kept apart from the adapter that makes the
call, and cautious: an answer that cannot be read is a failure, never a success.
"""

from __future__ import annotations

import json
from typing import Any

from scimrecon.connectors.idp.base import PushResult


def parse_push_result(body: Any) -> PushResult:
    """Read provisionOnDemand's answer: `key` and `value` are JSON *strings* (Graph docs); the
    outcome is `key.result` with `key.details.errorCode/errorMessage`, and `value` carries the
    action, statusInfo and the target's id. An answer we cannot read is a failure, never a
    success: the caller would otherwise wait hours for a push that never happened."""

    def loads(text: Any) -> dict[str, Any]:
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        return data if isinstance(data, dict) else {}

    if not isinstance(body, dict):
        return PushResult("Failure", reason="provisionOnDemand answered without a JSON object")
    key, value = loads(body.get("key")), loads(body.get("value"))
    result = str(key.get("result") or "")
    if not result:
        return PushResult("Failure", reason="provisionOnDemand's answer has no result")
    details = key.get("details") if isinstance(key.get("details"), dict) else {}
    info = value.get("statusInfo") if isinstance(value.get("statusInfo"), dict) else {}
    target = value.get("targetIdentity") if isinstance(value.get("targetIdentity"), dict) else {}
    return PushResult(
        result=result,
        action=str(value["action"]) if value.get("action") else None,
        error_code=details.get("errorCode") or info.get("errorCode"),
        reason=details.get("errorMessage") or info.get("reason"),
        target_id=str(target["id"]) if target.get("id") else None,
    )
