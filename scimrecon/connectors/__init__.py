"""scimrecon.connectors."""
