"""Closing a cooperative's accounting period and paying share dividends (股份分红, ledger rule 5).

The manager previews the dividend of every member, then confirms; confirming records the
period and sends `ledger.post_dividends` through the outbox, which posts exactly what the
preview showed (the ledger computes both the same way). A period closes once.
"""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.coops import scope
from marketplace.coops.models import Cooperative, CooperativePeriod
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.database import utcnow
from marketplace.ledger import attribution
from marketplace.ledger.rules.sales import sharing_rule_in_force
from marketplace.outbox.services import publish
from marketplace.people.models import Household

MONTHS_IN = {"month": 1, "quarter": 3}


def today():
    """The date in China now: a period can be closed once it has ended there."""
    return utcnow().replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()


def period_end(period_start, kind):
    """The last day of the month or quarter starting on `period_start`."""
    month = period_start.month - 1 + MONTHS_IN[kind]
    first_of_next = date(period_start.year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def rule_at_end(cooperative_id, end):
    """The sharing rule in force when the period ended: it sets the dividend rate, weights and kind."""
    return sharing_rule_in_force(cooperative_id, datetime.combine(end + timedelta(days=1), time.min))


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
    """The dividend each member would receive for the period from `period_start`: list of (household, fen)."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    kind = _period_kind(cooperative_id)
    _check_period_start(period_start, kind)
    end = period_end(period_start, kind)
    amounts = attribution.preview_dividends(cooperative_id, period_start, end)
    households = {h.id: h for h in db.session.scalars(select(Household).where(Household.id.in_(list(amounts))))}
    rows = sorted(((households[household_id], fen) for household_id, fen in amounts.items()), key=lambda r: r[0].id)
    return end, rows


def close_period(actor_id, period_start, previewed_total_fen):
    """Close the period and post its dividends through the `ledger.post_dividends` task.

    `previewed_total_fen` is what the manager saw; if the figures changed since (a late sale
    or refund), nothing is closed and the manager previews again.
    """
    cooperative_id = scope.managed_cooperative_id(actor_id)
    end, rows = preview_period(actor_id, period_start)
    rule = rule_at_end(cooperative_id, end)
    if rule is None:
        raise DomainError(_("No sharing rules were in force in this period."))
    if sum(fen for _household, fen in rows) != previewed_total_fen:
        raise Conflict(_("The figures changed since your preview. Please look at the new preview and confirm again."))
    if db.session.scalar(select(CooperativePeriod).filter_by(cooperative_id=cooperative_id, period_start=period_start)):
        raise Conflict(_("This period is already closed."))
    period = CooperativePeriod(cooperative_id=cooperative_id, period_start=period_start, period_end=end,
                               status="closing", dividend_rate=rule.dividend_rate, sharing_rule_id=rule.id,
                               closed_by_id=actor_id,
                               distributable_profit_fen=attribution.distributable_profit_fen(cooperative_id, period_start, end))
    db.session.add(period)
    db.session.flush()
    publish("ledger.post_dividends", period_id=period.id)
    record("period.closed", actor_id=actor_id, obj=period, town_id=db.session.get(Cooperative, cooperative_id).town_id,
           period_start=period_start.isoformat(), period_end=end.isoformat(), previewed_total_fen=previewed_total_fen)
    db.session.commit()
    return period
