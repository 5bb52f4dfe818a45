"""Closing a cooperative's accounting period and paying share dividends (股份分红, ledger rule 5).

The manager previews the dividend of every member, which freezes the figures (sharing rule,
profit, each member's weighted shares and dividend) in a `DividendPreview`; confirming that
preview records the period and sends `ledger.post_dividends` through the outbox, which posts
exactly the preview. A period's days are the district's calendar days. A period closes once.
"""
from datetime import date, timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.coops import scope
from marketplace.coops.models import Cooperative, CooperativePeriod, DividendPreview
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger import attribution
from marketplace.ledger.rules.dividends import distributable_profit
from marketplace.ledger.rules.sales import sharing_rule_in_force
from marketplace.local_time import local_today
from marketplace.outbox.services import publish

MONTHS_IN = {"month": 1, "quarter": 3}


def today():
    """The district's date now: a period can be closed once it has ended there."""
    return local_today()


def period_end(period_start, kind):
    """The last day of the month or quarter starting on `period_start`."""
    month = period_start.month - 1 + MONTHS_IN[kind]
    first_of_next = date(period_start.year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def _period_kind(cooperative_id):
    rule = sharing_rule_in_force(cooperative_id, utcnow())
    if rule is None:
        raise DomainError(_("Set the cooperative's sharing rules first."))
    return rule.period


def _check_period_start(period_start, kind):
    if not isinstance(period_start, date) or period_start.day != 1 or (kind == "quarter" and period_start.month % 3 != 1):
        raise DomainError(_("Choose the first day of a month or quarter."), field="period_start")
    if period_end(period_start, kind) >= today():
        raise DomainError(_("A period can be closed only after it has ended."), field="period_start")


def _check_not_closed(cooperative_id, period_start):
    if db.session.scalar(select(CooperativePeriod.id).filter_by(cooperative_id=cooperative_id,
                                                                period_start=period_start)):
        raise Conflict(_("This period is already closed."))


def closable_periods(actor_id, on_day=None, count=6):
    """The last few ended periods (of the kind the rules say) that are not closed yet, newest first."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    kind = _period_kind(cooperative_id)
    now = on_day or today()
    start = date(now.year, now.month - (now.month - 1) % MONTHS_IN[kind], 1)
    closed = set(db.session.scalars(select(CooperativePeriod.period_start)
                                    .where(CooperativePeriod.cooperative_id == cooperative_id)))
    periods = []
    for _step in range(count):
        month = start.month - 1 - MONTHS_IN[kind]
        start = date(start.year + month // 12, month % 12 + 1, 1)
        if start not in closed:
            periods.append((start, period_end(start, kind)))
    return kind, periods


def closed_periods(actor_id):
    cooperative_id = scope.managed_cooperative_id(actor_id)
    return db.session.scalars(select(CooperativePeriod).where(CooperativePeriod.cooperative_id == cooperative_id)
                              .order_by(CooperativePeriod.period_start.desc())).all()


def preview_period(actor_id, period_start):
    """Freeze the period's dividends for the manager to confirm; commits. Returns the `DividendPreview`.

    Each preview is a new snapshot (rule, profit, every member's weighted shares and dividend);
    `close_period` posts the one the manager confirms.
    """
    cooperative_id = scope.managed_cooperative_id(actor_id)
    kind = _period_kind(cooperative_id)
    _check_period_start(period_start, kind)
    _check_not_closed(cooperative_id, period_start)
    preview = attribution.freeze_dividend_preview(cooperative_id, period_start, period_end(period_start, kind),
                                                  actor_id=actor_id)
    db.session.commit()
    return preview


def profit_breakdown(preview):
    """How the preview's distributable profit is computed, read from the ledger now (a preview
    that no longer matches these figures cannot be confirmed: see `close_period`)."""
    return distributable_profit(preview.cooperative_id, preview.period_start, preview.period_end)


def close_period(actor_id, preview_id):
    """Close the previewed period and post exactly that preview through the `ledger.post_dividends` task.

    If the ledger's figures changed since the preview (a late sale or refund, another sharing
    rule), nothing is closed and the manager previews again. Shares changed since do not matter:
    they were frozen when the manager previewed.
    """
    cooperative_id = scope.managed_cooperative_id(actor_id)
    preview = db.session.get(DividendPreview, preview_id)
    if preview is None or preview.cooperative_id != cooperative_id:
        raise NotFound(_("No such dividend preview."))
    _check_period_start(preview.period_start, _period_kind(cooperative_id))
    if preview.sharing_rule_id is None:
        raise DomainError(_("No sharing rules were in force in this period."))
    _check_not_closed(cooperative_id, preview.period_start)
    if not attribution.preview_is_current(preview):
        raise Conflict(_("The figures changed since your preview. Please look at the new preview and confirm again."))
    period = CooperativePeriod(cooperative_id=cooperative_id, period_start=preview.period_start,
                               period_end=preview.period_end, status="closing", dividend_rate=preview.dividend_rate,
                               sharing_rule_id=preview.sharing_rule_id, closed_by_id=actor_id,
                               distributable_profit_fen=preview.distributable_profit_fen, dividend_preview=preview)
    db.session.add(period)
    db.session.flush()
    publish("ledger.post_dividends", period_id=period.id)
    record("period.closed", actor_id=actor_id, obj=period, town_id=db.session.get(Cooperative, cooperative_id).town_id,
           period_start=preview.period_start.isoformat(), period_end=preview.period_end.isoformat(),
           dividend_preview_id=preview.id, previewed_total_fen=preview.total_fen)
    db.session.commit()
    return period
