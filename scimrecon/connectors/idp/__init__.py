"""scimrecon.connectors.idp."""
