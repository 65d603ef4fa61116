"""Self-contained HTML reports: one file, inline CSS and SVG, no scripts, no external assets.

Admins attach these to tickets and e-mails and open them offline, and the page shows names
from an export, so everything is escaped and nothing is fetched from anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape
from pathlib import Path

from scimrecon.atomicfile import write_atomic
from scimrecon.recon.analysis import Analysis
from scimrecon.recon.classify import CLASSES
from scimrecon.recon.counts import MonthCount

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;
max-width:1100px;color:#172b4d;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #dfe1e6}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.25em .7em;border-bottom:1px solid #ebecf0;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#006644}.warning{color:#974f0c}.over{color:#bf2600}.muted{color:#6b778c}
svg text{font:12px system-ui,sans-serif;fill:#172b4d}
"""


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int]) -> str:
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{escape(str(v))}</td>' if i in numeric else f"<td>{escape(str(v))}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def product_chart(result: Analysis) -> str:
    """Horizontal bars per product: users, and how many used it in the last 30 / 90 days."""
    products = result.products
    if not products:
        return '<p class="muted">No product access in this export.</p>'
    label_w, bar_w, row_h = 260, 560, 26
    top = max(p.users for p in products) or 1
    height = row_h * len(products) + 40
    parts = [
        f'<svg role="img" width="{label_w + bar_w + 80}" '
        f'height="{height}" aria-label="Users per product">'
    ]
    for n, p in enumerate(products):
        y = 10 + n * row_h
        label = f"{p.product} - {p.site}" if p.site else p.product
        parts.append(f'<text x="0" y="{y + 15}">{escape(label)}</text>')
        for value, colour in (
            (p.users, "#dfe1e6"),
            (p.active_90d, "#79e2f2"),
            (p.active_30d, "#0065ff"),
        ):
            width = round(bar_w * value / top, 1)
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{width}" height="18" fill="{colour}"/>'
            )
        parts.append(f'<text x="{label_w + bar_w + 8}" y="{y + 15}">{p.users}</text>')
    legend_y = height - 8
    parts.append(
        f'<text x="{label_w}" y="{legend_y}">grey: users · light blue: active 90 days · '
        f"blue: active 30 days</text></svg>"
    )
    return "".join(parts)


def analysis_html(result: Analysis) -> str:
    """The analyze report: summary, tier, products with a chart, and every class list."""
    t = result.tier
    tier = (
        f"{t.used} billable (no tier given)"
        if t.limit is None
        else f'{t.used} of {t.limit} (<span class="{escape(str(t.status))}">{t.percent:.1f} %, '
        f"{escape(str(t.status))}</span>); remove {t.remove_to_get_under_80} to get under 80 %"
    )
    body = [
        f"<h1>User analysis: {escape(result.source)}</h1>",
        f'<p class="muted">{escape(result.format)}, as of {result.as_of.isoformat()}</p>',
        _table(
            ("figure", "value"),
            [("users", result.users), ("active", result.active), ("billable", result.billable)],
            {1},
        ),
        f"<p>Tier: {tier}</p>",
        "<h2>Products</h2>",
        product_chart(result),
        _table(
            ("product", "site", "users", "active 30d", "active 90d", "never accessed"),
            [
                (p.product, p.site, p.users, p.active_30d, p.active_90d, p.never_accessed)
                for p in result.products
            ],
            {2, 3, 4, 5},
        ),
    ]
    for cls in CLASSES:
        items = result.classes.get(cls, [])
        body.append(f"<h2>{escape(cls)} ({len(items)})</h2>")
        if items:
            body.append(
                _table(
                    ("email", "account id", "name", "why"),
                    [(c.email, c.account_id, c.name, c.reason) for c in items],
                    set(),
                )
            )
        else:
            body.append('<p class="muted">Nobody.</p>')
    for warning in result.warnings:
        body.append(f'<p class="warning">Warning: {escape(warning)}</p>')
    return _page(f"scimrecon analysis {result.as_of.isoformat()}", body)


def counts_chart(rows: Sequence[MonthCount]) -> str:
    """Monthly closing counts as columns, the change written above each."""
    col_w, chart_h, pad = 56, 220, 30
    top = max((r.count or 0) for r in rows) or 1
    width = col_w * len(rows) + 2 * pad
    parts = [
        f'<svg role="img" width="{width}" '
        f'height="{chart_h + 3 * pad}" aria-label="Monthly closing counts">'
    ]
    for n, r in enumerate(rows):
        x = pad + n * col_w
        if r.count is not None:
            h = round(chart_h * r.count / top, 1)
            y = pad + chart_h - h
            fill = "#c1c7d0" if r.source.startswith("no data") else "#0065ff"
            parts.append(
                f'<rect x="{x + 8}" y="{y}" width="{col_w - 16}" height="{h}" fill="{fill}"/>'
            )
            change = "" if r.change is None else f" ({r.change:+d})"
            parts.append(f'<text x="{x + 4}" y="{y - 6}">{r.count}{escape(change)}</text>')
        parts.append(f'<text x="{x + 6}" y="{pad + chart_h + 18}">{escape(r.month)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def counts_html(rows: Sequence[MonthCount], *, as_of: date, notes: Sequence[str] = ()) -> str:
    body = [
        "<h1>Monthly closing billable counts</h1>",
        f'<p class="muted">{len(rows)} months to {as_of.isoformat()}; grey columns carry the '
        "previous count (no snapshot that month)</p>",
        counts_chart(rows),
        _table(
            ("month", "billable", "change", "users", "date", "from"),
            [
                (
                    r.month,
                    "" if r.count is None else r.count,
                    "" if r.change is None else f"{r.change:+d}",
                    "" if r.users is None else r.users,
                    r.day.isoformat() if r.day else "",
                    r.source,
                )
                for r in rows
            ],
            {1, 2, 3},
        ),
        *(f'<p class="muted">Note: {escape(n)}</p>' for n in notes),
    ]
    return _page(f"scimrecon counts {as_of.isoformat()}", body)


def write_html(path: Path, text: str) -> None:
    """Write the page whole or not at all (temp file + rename)."""
    write_atomic(path, text)
