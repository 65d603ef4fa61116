"""scimrecon.cli."""
