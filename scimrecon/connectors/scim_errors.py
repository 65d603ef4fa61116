"""The errors the SCIM directory connector raises, by what they mean to a step: not found, a
refused token (the run stops), an answer for another identity (the target is skipped), or any
other refusal. Apart from the connector so steps and tests can name them without it."""

from __future__ import annotations

from typing import Any

from scimrecon.errors import CredentialsRefused
from scimrecon.http import HttpError


class ScimError(HttpError):
    """The SCIM directory refused a request; `scim_type` is the SCIM error keyword if any."""

    def __init__(self, message: str, *, scim_type: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.scim_type = scim_type


class NotFound(ScimError):
    """404: no such SCIM user (or directory)."""


class ScimCredentialsRefused(ScimError, CredentialsRefused):
    """401: the directory refused the bearer token (every later call fails alike)."""


class IdentityMismatch(ScimError):
    """The directory answered a look-up with a user that is not the one asked for."""

    identity_mismatch = True  # what steps test for (steps/_util.is_identity_mismatch)


def error_class(status: int) -> type[ScimError]:
    """The error a status means: 404 NotFound, 401 a refused token (the run stops), else
    ScimError."""
    return {404: NotFound, 401: ScimCredentialsRefused}.get(status, ScimError)
