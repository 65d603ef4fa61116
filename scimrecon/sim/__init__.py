"""scimrecon.sim."""
