"""The HTML reports: one self-contained page (no scripts, no external assets), escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner

from scimrecon.cli.main import cli


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(path: Path) -> tuple[str, _Collect]:
    page = path.read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(page)
    return page, parser


def _self_contained(page: str, parsed: _Collect) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert not [a for a in parsed.attrs if a[0] in ("src", "href", "srcset")]
    assert "http" not in page and "url(" not in page and "@import" not in page


def test_analyze_html_report(tmp_path: Path, data: Path) -> None:
    export = tmp_path / "users.csv"
    text = (data / "directory.csv").read_text(encoding="utf-8")
    export.write_text(text.replace("Hal Loom", "<b>Hal</b> & Co"), encoding="utf-8")
    html = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli,
        [
            "analyze",
            str(export),
            "--as-of",
            "2026-11-23",
            "--domain",
            "acme.example",
            "--tier",
            "8",
            "--html",
            str(html),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {html}\n"
    page, parsed = _parse(html)
    _self_contained(page, parsed)
    assert "svg" in parsed.tags and parsed.tags.count("rect") == 12  # 4 products x 3 bars
    assert "&lt;b&gt;Hal&lt;/b&gt; &amp; Co" in page and "<b>Hal" not in page
    text_nodes = " ".join(parsed.text)
    for needle in (
        "8 of 8",
        "100.0 %, over",
        "trello-only (1)",
        "inactive (2)",
        "protected (1)",
        "billable only through Trello",
        "last seen 2026-08-01, 114 days before 2026-11-23",
    ):
        assert needle in text_nodes


def test_counts_html_report(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("2026-09-03,ada,added\n2026-10-02,ada,removed\n", encoding="utf-8")
    html = tmp_path / "counts.html"
    result = CliRunner().invoke(
        cli,
        [
            "counts",
            "--events",
            str(events),
            "--start",
            "4",
            "--as-of",
            "2026-11-23",
            "--html",
            str(html),
        ],
    )
    assert result.exit_code == 0, result.output
    page, parsed = _parse(html)
    _self_contained(page, parsed)
    text = " ".join(parsed.text)
    assert "2025-12" in text and "2026-11" in text
    assert parsed.tags.count("rect") == 3  # Sep, Oct, and Nov carried; earlier months have no data
    assert "5 (+1)" not in text and "4 (-1)" in text
