"""docs/fidelity.md is a ledger, not prose: every row names its public source and the test that
proves it, and those tests exist.

A ledger that names a test nobody wrote (or one that was renamed) claims a fidelity nobody
checks, so this test reads the Markdown tables and resolves every `tests/path.py::name` with
`ast` (a function at module level or a method of a class; a parametrised id like `name[x]` is
the function `name`). Rows of the section "Sources for behaviours in progress" may say
`pending: issue N` instead; nowhere else may. Each failure names the row's id.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "docs" / "fidelity.md"
MAIN = "## Ledger"
PENDING = "## Sources for behaviours in progress"
COLUMNS = ("id", "behaviour", "source", "simulator", "connector", "test", "status")
OPEN_ISSUES = {"11", "12", "13", "14", "18"}
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::([\w:\[\]\-.,]+)")
PENDING_REF = re.compile(r"^pending: issue (\d+)$")
URL = re.compile(r"https?://[^\s)\]>]+")
ISSUE = re.compile(r"\bissue (\d+)")
STATUSES = ("matches", "deviates on purpose", "not yet matching")


@dataclass(frozen=True)
class Row:
    section: str  # MAIN or PENDING
    line: int
    cells: dict[str, str]

    @property
    def name(self) -> str:
        what = self.cells.get("behaviour", "")
        short = what if len(what) <= 70 else what[:67] + "..."
        return f"docs/fidelity.md:{self.line} row {self.cells.get('id', '?')} ({short})"


def split_cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse(text: str) -> tuple[list[Row], list[str]]:
    """The table rows of the two sections, and the problems found reading them."""
    rows: list[Row] = []
    problems: list[str] = []
    section: str | None = None
    seen_sections: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            section = line.strip() if line.strip() in (MAIN, PENDING) else None
            if section:
                seen_sections.add(section)
            continue
        if section is None or not line.startswith("|"):
            continue
        cells = split_cells(line)
        if cells[0] == "id" or set("".join(cells)) <= set("-: "):
            continue  # header or separator
        if len(cells) != len(COLUMNS):
            problems.append(
                f"docs/fidelity.md:{number}: a row needs {len(COLUMNS)} cells "
                f"({', '.join(COLUMNS)}), found {len(cells)} (a '|' inside a cell?)"
            )
            continue
        rows.append(Row(section, number, dict(zip(COLUMNS, cells, strict=True))))
    for wanted in (MAIN, PENDING):
        if wanted not in seen_sections:
            problems.append(f"docs/fidelity.md has no section '{wanted}'")
    return rows, problems


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """`name` and `Class::name` for every test function of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{item.name}")
    return frozenset(names)


def resolve(root: Path, file: str, name: str) -> str | None:
    """None when `file::name` is a test that exists, else what is wrong with it."""
    path = root / file
    if not path.is_file():
        return f"names {file}::{name}, but {file} does not exist"
    base = name.split("[", 1)[0]
    try:
        names = defined_tests(path)
    except SyntaxError as exc:
        return f"names {file}::{name}, but {file} does not parse ({exc.msg})"
    if base not in names:
        return f"names {file}::{name}, but {file} has no test '{base}'"
    if not base.rsplit("::", 1)[-1].startswith("test"):
        return f"names {file}::{name}, which is not a test (its name must start with 'test')"
    return None


def row_problems(row: Row, root: Path) -> list[str]:
    out: list[str] = []
    cells = row.cells
    for column in ("id", "behaviour", "simulator", "connector"):
        if not cells[column]:
            out.append(f"{row.name}: the '{column}' cell is empty")
    if not URL.search(cells["source"]):
        out.append(f"{row.name}: the source cell has no URL (link the public documentation)")
    test_cell, status = cells["test"], cells["status"]
    if row.section == PENDING:
        match = PENDING_REF.match(test_cell)
        if match is None:
            out.append(
                f"{row.name}: a row in '{PENDING}' says 'pending: issue N' in its test cell, "
                f"not {test_cell!r} (move it into the ledger once its test exists)"
            )
        elif match.group(1) not in OPEN_ISSUES:
            out.append(
                f"{row.name}: issue {match.group(1)} is not one of the open issues "
                f"({', '.join(sorted(OPEN_ISSUES, key=int))})"
            )
        return out
    if "pending" in test_cell.lower():
        out.append(
            f"{row.name}: 'pending' is allowed only in the section '{PENDING}'; "
            "name the test that proves the row, or move the row there"
        )
    refs = TEST_REF.findall(test_cell)
    if not refs:
        out.append(f"{row.name}: names no test (write tests/path.py::test_name)")
    for file, name in refs:
        wrong = resolve(root, file, name)
        if wrong:
            out.append(f"{row.name}: {wrong}")
    if not status.startswith(STATUSES):
        out.append(f"{row.name}: the status must start with one of {', '.join(STATUSES)}")
    elif status.startswith("not yet matching") and not ISSUE.search(status):
        out.append(f"{row.name}: 'not yet matching' must name the issue that fixes it")
    elif status.startswith("deviates on purpose") and len(status) < len("deviates on purpose: ab"):
        out.append(f"{row.name}: 'deviates on purpose' must say why")
    return out


def ledger_problems(text: str, root: Path = ROOT) -> list[str]:
    rows, problems = parse(text)
    ids: dict[str, Row] = {}
    for row in rows:
        problems += row_problems(row, root)
        first = ids.setdefault(row.cells["id"], row)
        if first is not row:
            problems.append(f"{row.name}: the id is already used on line {first.line}")
    return problems


# -- the ledger itself --------------------------------------------------------------------------


def test_every_ledger_row_names_a_source_and_tests_that_exist() -> None:
    problems = ledger_problems(LEDGER.read_text(encoding="utf-8"))
    assert not problems, "docs/fidelity.md:\n" + "\n".join(problems)


def test_the_ledger_covers_every_api() -> None:
    rows, _ = parse(LEDGER.read_text(encoding="utf-8"))
    main = [r for r in rows if r.section == MAIN]
    pending = [r for r in rows if r.section == PENDING]
    assert len(main) >= 40, f"only {len(main)} ledger rows were read: is the table broken?"
    assert pending, "no rows read in the section for behaviours in progress"
    prefixes = {r.cells["id"].split("-", 1)[0] for r in rows}
    assert {"SCIM", "PROV", "UM", "ORG", "JIRA", "GRAPH", "OKTA"} <= prefixes


# -- the checker, on documents that are wrong on purpose ---------------------------------------

HEADER = "| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|"
GOOD_TEST = "tests/test_fidelity_ledger.py::test_the_ledger_covers_every_api"


def doc(main_rows: list[str], pending_rows: tuple[str, ...] = ()) -> str:
    return "\n".join(["# x", MAIN, HEADER, *main_rows, PENDING, HEADER, *pending_rows])


def row(test: str, *, source: str = "https://example.invalid/doc", status: str = "matches") -> str:
    return f"| T-1 | a behaviour | {source} | sim | conn | {test} | {status} |"


def test_a_correct_document_has_no_problems() -> None:
    pending = "| T-2 | b | https://example.invalid | s | c | pending: issue 12 | in work |"
    assert ledger_problems(doc([row(GOOD_TEST)], (pending,))) == []


def test_a_missing_test_is_reported_naming_the_row() -> None:
    (problem,) = ledger_problems(doc([row("tests/test_fidelity_ledger.py::test_nope")]))
    assert "row T-1 (a behaviour)" in problem
    assert "tests/test_fidelity_ledger.py has no test 'test_nope'" in problem


def test_a_missing_file_is_reported() -> None:
    (problem,) = ledger_problems(doc([row("tests/nowhere/test_x.py::test_a")]))
    assert "tests/nowhere/test_x.py does not exist" in problem and "row T-1" in problem


def test_parametrised_ids_and_class_methods_resolve(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('n', [1])\n"
        "def test_a(n): pass\n"
        "class TestB:\n"
        "    def test_c(self): pass\n"
        "def helper(): pass\n",
        encoding="utf-8",
    )
    refs = "tests/test_x.py::test_a[1]<br>tests/test_x.py::TestB::test_c"
    assert ledger_problems(doc([row(refs)]), tmp_path) == []
    (wrong,) = ledger_problems(doc([row("tests/test_x.py::TestB::test_d")]), tmp_path)
    assert "has no test 'TestB::test_d'" in wrong
    (helper,) = ledger_problems(doc([row("tests/test_x.py::helper")]), tmp_path)
    assert "not a test" in helper


def test_a_row_needs_a_source_url_and_a_known_status() -> None:
    problems = ledger_problems(doc([row(GOOD_TEST, source="RFC 7644", status="fine")]))
    assert any("the source cell has no URL" in p for p in problems)
    assert any("the status must start with one of" in p for p in problems)
    (issue,) = ledger_problems(doc([row(GOOD_TEST, status="not yet matching")]))
    assert "must name the issue" in issue
    (why,) = ledger_problems(doc([row(GOOD_TEST, status="deviates on purpose")]))
    assert "must say why" in why


def test_pending_is_allowed_only_in_its_own_section() -> None:
    in_ledger = ledger_problems(doc([row("pending: issue 12")]))
    assert any("'pending' is allowed only in the section" in p for p in in_ledger)
    named = "| T-2 | b | https://example.invalid | s | c | " + GOOD_TEST + " | matches |"
    (problem,) = ledger_problems(doc([], (named,)))
    assert "says 'pending: issue N'" in problem
    closed = "| T-3 | b | https://example.invalid | s | c | pending: issue 3 | x |"
    (unknown,) = ledger_problems(doc([], (closed,)))
    assert "issue 3 is not one of the open issues" in unknown


def test_a_broken_table_and_duplicate_ids_are_reported() -> None:
    broken = "| T-1 | a | https://example.invalid | sim or conn | " + GOOD_TEST + " | matches |"
    (cells,) = ledger_problems(doc([broken]))
    assert "a row needs 7 cells" in cells
    (dup,) = ledger_problems(doc([row(GOOD_TEST), row(GOOD_TEST)]))
    assert "the id is already used on line" in dup
    assert "has no section" in ledger_problems("# nothing here")[0]
