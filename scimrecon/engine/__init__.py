"""scimrecon.engine."""
