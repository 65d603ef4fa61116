"""Notice before removal: mail each target, park until the notice period ends, look again.

`notify.email` sends one notice per target through the profile's SMTP server; any playbook
may use it. `notify.await_notice_end` is a wait step (the run parks; `resume` or
`resume --all` from a timer picks it up) that ends one day after the notice period, because
Atlassian's last-active data can lag by up to 24 hours and a use on the last day must show
before anyone is judged. `account.recheck_after_notice` then keeps everyone active since the
notice.

Delivery is at least once (decision 85): the runner records the intent before the send and
the outcome after it; a notice recorded as sent is never sent again, but a crash between the
server's acceptance and that record resends it on resume (same Message-ID, so the copy is
recognisably the same mail). A notice lost for good would mean removal without warning; a
duplicate only costs a second mail.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from scimrecon.engine.action import Action, Skip, StepContext, StepFailed
from scimrecon.errors import InputError, ScimreconError
from scimrecon.identity import email_syntax_problem
from scimrecon.recon.model import product_name
from scimrecon.steps._util import require, target_email
from scimrecon.steps.account_steps import ACTIVITY_LAG, LAG_NOTE, _parse_day
from scimrecon.steps.notice_templates import load_notice

#: Longest notice period a playbook may ask for (a year: longer is a policy, not a notice).
MAX_NOTICE_DAYS = 365


def _days(ctx: StepContext) -> int:
    """The notice period: the parameter the step names (`days_param`), `notice_days` else."""
    name = str(ctx.step_options.get("days_param", "notice_days"))
    value = ctx.param(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NOTICE_DAYS:
        raise InputError(f"parameter {name!r}: must be a whole number of days, 0 to 365")
    return value


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_stamp(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise StepFailed(f"notice_sent_at {value!r} is not a time") from None


def _notice_ends(sent: datetime, days: int) -> datetime:
    """When the notice period is over AND a use on its last day shows in the activity data."""
    return sent + timedelta(days=days) + ACTIVITY_LAG


class NotifyEmail(Action):
    """Mail the target a notice from a template file (placeholders: notice_templates.py)."""

    name = "notify.email"
    idempotent = False
    #: A mail cannot be unsent, and leaves nobody half-moved: `undo` has nothing to do here.
    has_effect = False

    def _template_ref(self, ctx: StepContext) -> str:
        return str(ctx.param("notice_template", "") or ctx.step_options.get("template", ""))

    def validate(self, ctx: StepContext) -> None:
        if not self._template_ref(ctx):
            raise InputError("parameter 'notice_template': no template given")
        load_notice(self._template_ref(ctx))
        if _days(ctx) > 0 and ctx.services is not None:  # 0: the playbook sends no notice
            ctx.services.profile.require("smtp", "sending notices (notify.email)")

    def describe(self, ctx: StepContext) -> str:
        template = load_notice(self._template_ref(ctx))
        days = _days(ctx)
        return (
            f"would email {target_email(ctx)} the notice {template.subject!r} from "
            f"{template.source.removeprefix('notice template ')} ({days} days' notice)"
        )

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        # Whether a mail arrived cannot be read back; a notice recorded as sent never reaches
        # here (the runner skips done steps), so an unrecorded one is sent (at least once).
        return None

    def _products(self, ctx: StepContext) -> str:
        account_id = ctx.target.get("account_id")
        if not account_id:
            return "your Atlassian products"
        keys = [p.key for p in ctx.services.admin.last_active_dates(account_id).products]
        names = sorted({product_name(k) for k in keys if k})
        return ", ".join(names) or "your Atlassian products"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        from scimrecon.connectors.smtp import Mail

        to = target_email(ctx)
        problem = email_syntax_problem(to)
        if problem is not None:
            raise StepFailed(f"cannot mail {to!r}: {problem}")
        try:
            template = load_notice(self._template_ref(ctx))
        except InputError as exc:
            raise StepFailed(exc.message) from None
        days = _days(ctx)
        now = ctx.services.clock()
        sent = datetime.fromtimestamp(now, UTC)
        act_on = (sent + timedelta(days=days)).date().isoformat()
        mailer = ctx.services.mailer
        values = {
            "email": to,
            "products": self._products(ctx),
            "notice_days": str(days),
            "act_on": act_on,
            "run": ctx.run_id,
            "sender": mailer.config.sender,
        }
        subject, body = template.render(values)
        digest = hashlib.sha256(to.lower().encode()).hexdigest()[:16]
        domain = mailer.config.sender.rpartition("@")[2]
        message_id = f"<scimrecon.{ctx.run_id}.{ctx.step_id}.{digest}@{domain}>"
        try:
            mailer.send(Mail(to=to, subject=subject, body=body, message_id=message_id))
        except ScimreconError as exc:  # MailError, or a missing SMTP password (InputError)
            if getattr(exc, "maybe_delivered", False):
                raise StepFailed(
                    f"notice maybe not sent: {exc.message}; `scimrecon resume {ctx.run_id} "
                    "--retry-failed` sends it again (same Message-ID)"
                ) from None
            raise StepFailed(f"notice not sent: {exc.message}") from None
        return {
            "notice_to": to,
            "notice_sent_at": _stamp(now),
            "notice_act_on": act_on,
            "notice_subject": subject,
            "notice_message_id": message_id,
        }


class AwaitNoticeEnd(Action):
    """Park until the notice period is over (plus a day for activity data to catch up)."""

    name = "notify.await_notice_end"
    idempotent = True
    has_effect = False

    def describe(self, ctx: StepContext) -> str:
        return (
            f"wait {_days(ctx)} days after the notice to {target_email(ctx)}, plus one day "
            f"({LAG_NOTE})"
        )

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        (sent_at,) = require(ctx, "notice_sent_at")
        ends = _notice_ends(_parse_stamp(sent_at), _days(ctx))
        if ctx.services.clock() >= ends.timestamp():
            return {"notice_ended_at": _stamp(ends.timestamp())}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        outputs = self.check(ctx)
        if outputs is None:
            raise StepFailed(f"the notice period of {target_email(ctx)} is not over yet")
        return outputs


def _notice_day(ctx: StepContext) -> date:
    (sent_at,) = require(ctx, "notice_sent_at")
    return _parse_stamp(sent_at).date()


class RecheckAfterNotice(Action):
    """Read activity live once the notice period is over: anyone who used a product since the
    notice keeps their access (`kept: active on <date>, after the notice`).

    Dates are whole days: a use on the day of the notice counts as after it (the cautious
    side: a day-only date cannot say whether it came before the mail).
    """

    name = "account.recheck_after_notice"
    idempotent = True
    has_effect = False

    def describe(self, ctx: StepContext) -> str:
        return (
            f"re-check live that {target_email(ctx)} used nothing since the notice; keep "
            "them if they did"
        )

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return None  # a read, made fresh every time

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        (account_id,) = require(ctx, "account_id")
        since = _notice_day(ctx)
        activity = ctx.services.admin.last_active_dates(account_id)
        days = [d for p in activity.products if (d := _parse_day(p.last_active))]
        after = [d for d in days if d >= since]
        if after:
            raise Skip(f"kept: active on {max(after).isoformat()}, after the notice")
        if not activity.products:
            raise Skip("no product access left: nothing to suspend")
        return {"active_after_notice": "no"}


__all__ = ["AwaitNoticeEnd", "NotifyEmail", "RecheckAfterNotice"]
