"""One analysis pass over an export or the live org admin API, shared by `analyze` and
`options` so both see exactly the same users, classes and reasons.

The two taps let a command look at what goes by without a second read: `record_tap` sees every
UserRecord, `directory_tap` every v2 directory user (live only; it carries
`managementSource`, which says whether an IdP manages the account).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from scimrecon.cli.progress import counted, progress_for
from scimrecon.recon.analysis import Analysis, Analyzer
from scimrecon.recon.classify import Policy
from scimrecon.recon.columns import parse_column_overrides
from scimrecon.recon.export import open_export

T = TypeVar("T")


def _tapped(items: Iterable[T], tap: Callable[[T], None] | None) -> Iterable[T]:
    if tap is None:
        return items

    def gen() -> Iterator[T]:
        for item in items:
            tap(item)
            yield item

    return gen()


def read_analysis(
    *,
    export: Path | None,
    live: bool,
    policy: Policy,
    tier: int | None,
    domains: tuple[str, ...] = (),
    columns: tuple[str, ...] = (),
    export_format: str | None = None,
    encoding: str | None = None,
    explain: bool = False,
    record_tap: Callable[[Any], None] | None = None,
    directory_tap: Callable[[Any], None] | None = None,
) -> Analysis:
    """Analyse the export (or, with `live`, the org admin API) under `policy`."""
    if live:
        from scimrecon.cli.config_cmd import open_services
        from scimrecon.recon.live import (
            external_policy_warning,
            records_from_external_users,
            records_from_org_users,
            roles_and_externals,
        )

        admin = open_services(click.get_current_context()).admin
        with progress_for() as shown:
            # The v2 directory users first (admins' platformRoles, and the external users the v1
            # list does not hold), then the v1 list that has access_billable and last-active dates.
            directory = counted(admin.iter_directory_users(), shown, "reading directory users")
            roles, externals = roles_and_externals(_tapped(directory, directory_tap))

            def added_of(account_id: str) -> date | None:
                value = admin.last_active_dates(account_id).added_to_org
                return date.fromisoformat(value[:10]) if value else None

            org = counted(admin.iter_org_users(), shown, "reading the org's accounts")
            records = records_from_org_users(org, added_of, roles)
            analyzer = Analyzer(policy, explain=explain).add_all(_tapped(records, record_tap))
            outside = list(
                records_from_external_users(externals, admin.workspaces()) if externals else ()
            )
            analyzer.add_all(_tapped(outside, record_tap))
        result = analyzer.result(fmt="org-api", tier=tier, source="org admin API")
        external_billable = sum(r.verdict(policy.org_sites).billable for r in outside)
        if external_billable:
            result.warnings.append(external_policy_warning(external_billable))
        return result
    assert export is not None
    overrides = parse_column_overrides(columns)
    with open_export(
        export,
        columns=overrides,
        domains=domains,
        export_format=export_format,
        encoding=encoding,
    ) as opened:
        analyzer = Analyzer(policy, explain=explain).add_all(_tapped(opened.records(), record_tap))
        result = analyzer.result(fmt=opened.format, tier=tier, source=str(export))
        ignored = opened.plan.ignored
    if ignored:
        result.warnings.append(f"ignored columns: {', '.join(ignored)}")
    return result
