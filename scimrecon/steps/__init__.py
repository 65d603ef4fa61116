"""scimrecon.steps."""
