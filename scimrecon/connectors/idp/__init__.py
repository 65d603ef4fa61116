"""IdP adapters behind one protocol: Entra (Graph API), Okta and any other IdP (manual)."""

from scimrecon.connectors.idp.base import (
    OPERATIONS,
    UNKNOWN,
    Capability,
    IdpAdapter,
    ManualOperation,
)
from scimrecon.connectors.idp.entra import EntraAdapter
from scimrecon.connectors.idp.manual import ManualAdapter
from scimrecon.connectors.idp.okta import OktaAdapter

__all__ = [
    "OPERATIONS",
    "UNKNOWN",
    "Capability",
    "EntraAdapter",
    "IdpAdapter",
    "ManualAdapter",
    "ManualOperation",
    "OktaAdapter",
]
