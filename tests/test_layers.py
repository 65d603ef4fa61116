"""The import arrows point one way: cli -> engine/steps/recon -> connectors -> the base modules
(http, config, errors, limits, the identity rule, ...), and nothing outside the simulator and
the command line imports the simulator.

Why a test: the layers are what lets a connector be tested against the simulator alone and the
engine without any connector; an import that points back compiles and runs fine, so only a
check like this one notices it. Every import counts, including those inside functions (a lazy
import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scimrecon"

#: what each part of the package may not import (the parts above it, and the simulator)
FORBIDDEN: dict[str, frozenset[str]] = {
    "base": frozenset({"cli", "engine", "steps", "recon", "connectors", "sim"}),
    "connectors": frozenset({"cli", "engine", "steps", "recon", "sim"}),
    "recon": frozenset({"cli", "engine", "steps", "sim"}),
    "engine": frozenset({"cli", "steps", "connectors", "sim"}),
    "steps": frozenset({"cli", "sim"}),
    "sim": frozenset({"cli", "engine", "steps"}),
    "cli": frozenset(),
}
#: top-level modules that are tools over the whole package, not a layer under it
TOOLS = frozenset({"docgen", "__main__"})


def _part(path: Path) -> str | None:
    """The layer a module belongs to (None: a tool, or data such as the fixture builders)."""
    relative = path.relative_to(PACKAGE)
    if len(relative.parts) == 1:
        return None if relative.stem in TOOLS else "base"
    top = relative.parts[0]
    return top if top in FORBIDDEN else None


def _imported_parts(tree: ast.AST) -> set[tuple[str, int]]:
    """(the package part named, line) for each `scimrecon.<part>` import in the module."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "scimrecon":  # from scimrecon import recon
                names = [f"scimrecon.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "scimrecon" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


def _violations() -> list[str]:
    out: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        if part is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for imported, line in sorted(_imported_parts(tree)):
            if imported in FORBIDDEN[part]:
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {part} imports {imported}")
    return out


def test_no_import_points_back_up_the_layers() -> None:
    assert _violations() == []


def test_only_the_command_line_imports_click() -> None:
    """Steps, engine, recon and connectors speak through `Interaction` and exceptions, never
    Click: a step that printed or prompted itself would bypass `--yes`, `--format json` and
    the tests' scripted answers."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        if part in (None, "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "click" or n.startswith("click.") for n in names):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from scimrecon.recon.model import UserRecord\n", {("recon", 1)}),
        ("def f():\n    import scimrecon.cli.main\n", {("cli", 2)}),
        ("from scimrecon import engine, http\n", {("engine", 1), ("http", 1)}),
        ("from .model import X\nimport os\n", set()),
    ],
)
def test_every_kind_of_import_is_seen(source: str, expected: set[tuple[str, int]]) -> None:
    """The checker itself: module, nested and `from scimrecon import x` imports all count;
    relative imports stay inside their own part."""
    assert _imported_parts(ast.parse(source)) == expected
