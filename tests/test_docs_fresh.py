"""The generated reference docs must match the code: regenerate with `make docs`."""

import pytest

from scimrecon.docgen import expected_files


@pytest.mark.parametrize("path,text", sorted(expected_files().items()), ids=lambda v: str(v)[-40:])
def test_generated_doc_is_fresh(path, text) -> None:
    assert path.exists(), f"{path} is missing: run `make docs`"
    assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make docs`"
