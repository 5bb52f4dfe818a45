"""Rules 12 and 13: fixed-return investments, and the town love funds (爱心基金)."""
import re
from datetime import date

from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound, Yuan
from marketplace.extensions import db
from marketplace.funds.models import FixedReturnInvestment, InvestmentHolding, LoveFundGrant
from marketplace.ledger.balances import lock_account, love_fund_summary
from marketplace.ledger.errors import InsufficientFunds
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.names import FIXED_RETURN, FIXED_RETURN_RECEIVED, LOVE_FUND_AID, LOVE_FUND_GIFT
from marketplace.ledger.services import account_id, entry_for_key, household_account, post_entry
from marketplace.money import apply_rate, split_largest_remainder
from marketplace.people.models import User

DONATION_SOURCES = ("charity_market", "gift", "one_day_pay")
MAX_DONATION_FEN = 100_000_000_00


def period_months(period_label):
    """The (year, month) pairs a label covers: "2026" a year, "2026-Q3" a quarter, "2026-07" a month."""
    match = re.fullmatch(r"(\d{4})(?:-Q([1-4])|-(\d{2}))?", str(period_label))
    if match is None or (match.group(3) and not 1 <= int(match.group(3)) <= 12):
        raise DomainError("Unknown period %(period)s: use 2026, 2026-Q3 or 2026-07.", field="period_label",
                          period=period_label)
    year = int(match.group(1))
    if match.group(2):
        first = 3 * (int(match.group(2)) - 1) + 1
        return [(year, month) for month in range(first, first + 3)]
    if match.group(3):
        return [(year, int(match.group(3)))]
    return [(year, month) for month in range(1, 13)]


def _months_posted(investment_id):
    keys = db.session.scalars(select(JournalEntry.idempotency_key).where(
        JournalEntry.idempotency_key.like(f"fixed_return:{investment_id}:%"))).all()
    return {month for key in keys for month in period_months(key.rsplit(":", 1)[1])}


def post_fixed_returns(investment_id, period_label):
    """Rule 12: the period's fixed return, principal × annual rate × months/12, to the holders; commits.

    Dr fixed_return_receivable[investment], Cr household_payable[H] split by holding units.
    Idempotent per label; refuses a label overlapping one already paid (a year after its quarters).
    """
    investment = db.session.get(FixedReturnInvestment, investment_id)
    if investment is None:
        raise NotFound("No such investment.")
    key = f"fixed_return:{investment.id}:{period_label}"
    existing = entry_for_key(key)
    if existing is not None:
        return existing
    months = period_months(period_label)
    if date(*months[0], 1) < date(investment.started_on.year, investment.started_on.month, 1):
        raise Conflict("%(investment)s had not started by %(period)s.", investment=investment.name_zh,
                       period=period_label)
    if _months_posted(investment.id) & set(months):
        raise Conflict("Fixed returns of %(investment)s were already paid for part of %(period)s.",
                       investment=investment.name_zh, period=period_label)
    holdings = db.session.scalars(select(InvestmentHolding).where(InvestmentHolding.investment_id == investment.id)
                                  .order_by(InvestmentHolding.household_id)).all()
    if not holdings:
        raise Conflict("%(investment)s has no holders to pay.", investment=investment.name_zh)
    amount = apply_rate(investment.principal_fen, investment.annual_rate * len(months) / 12)
    shares = split_largest_remainder(amount, [(h.household_id, h.units) for h in holdings])
    legs = [(account_id("fixed_return_receivable", "investment", investment.id), amount)]
    legs += [(household_account(household), -fen) for household, fen in shares.items()]
    entry = post_entry(
        key, FIXED_RETURN, legs,
        rule_settings={"investment_id": investment.id, "principal_fen": investment.principal_fen,
                       "annual_rate": str(investment.annual_rate), "period": period_label, "months": len(months),
                       "amount_fen": amount, "units": {str(h.household_id): str(h.units) for h in holdings}},
        memo=f"fixed return of {investment.name_zh} for {period_label}",
    )
    db.session.commit()
    return entry


def record_fixed_return_received(investment_id, amount_fen, reference):
    """Rule 12, settlement: the company paid; Dr bank, Cr fixed_return_receivable. Idempotent; commits."""
    if db.session.get(FixedReturnInvestment, investment_id) is None:
        raise NotFound("No such investment.")
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise DomainError("The amount must be a positive number of fen.", field="amount_fen")
    entry = post_entry(
        f"fixed_return_received:{investment_id}:{reference}", FIXED_RETURN_RECEIVED,
        [(account_id("bank"), amount_fen),
         (account_id("fixed_return_receivable", "investment", investment_id), -amount_fen)],
        rule_settings={"investment_id": investment_id, "reference": reference}, memo=f"company paid {reference}")
    db.session.commit()
    return entry


def post_love_fund_aid(grant_id):
    """Rule 13: an approved grant, Dr love_fund[town], Cr household_payable[H]. Idempotent.

    Locks the fund and raises InsufficientFunds beyond what it may grant: its balance less the
    round-ups of orders not settled yet, which a refund could still take back. Joins the
    caller's transaction (the approval that made the grant approved commits both).
    """
    grant = db.session.get(LoveFundGrant, grant_id)
    if grant is None:
        raise NotFound("No such grant.")
    key = f"aid:grant:{grant.id}"
    existing = entry_for_key(key)
    if existing is not None:
        return existing
    if grant.status != "approved" or grant.approved_by_id is None:
        raise Conflict("Only an approved grant is paid from the love fund.")
    fund = lock_account("love_fund", "town", grant.town_id)
    balance = love_fund_summary(grant.town_id)["available_fen"]
    if grant.amount_fen > balance:
        raise InsufficientFunds("The love fund holds %(balance)s; it cannot grant %(amount)s.",
                                balance=Yuan(balance), amount=Yuan(grant.amount_fen))
    return post_entry(
        key, LOVE_FUND_AID, [(fund, grant.amount_fen), (household_account(grant.household_id), -grant.amount_fen)],
        rule_settings={"purpose": grant.purpose, "fund_balance_before_fen": balance,
                       "proposed_by_id": grant.proposed_by_id, "approved_by_id": grant.approved_by_id},
        memo=f"love-fund aid ({grant.purpose}) grant {grant.id}", created_by_id=grant.approved_by_id,
    )


def record_love_fund_donation(town_id, amount_fen, source, reference, actor_id):
    """Charity-market takings and gifts received by town staff: Dr cash_collected, Cr love_fund[town].

    Idempotent on (town, reference); commits.
    """
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    if actor is None or not (actor.role == "admin" or (actor.role == "town_staff" and actor.town_id == town_id)):
        raise Forbidden("Only staff of this town record its love-fund donations.")
    reference = str(reference or "").strip()
    if not reference or len(reference) > 80:
        raise DomainError("Give a reference (receipt or event) of at most 80 characters.", field="reference")
    key = f"love_fund_gift:{town_id}:{reference}"
    existing = entry_for_key(key)
    if existing is not None:
        return existing
    if source not in DONATION_SOURCES:
        raise DomainError("Unknown source of the donation.", field="source")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= MAX_DONATION_FEN:
        raise DomainError("The amount must be above zero and below 1亿元.", field="amount_fen")
    entry = post_entry(
        key, LOVE_FUND_GIFT,
        [(account_id("cash_collected", "town", town_id), amount_fen),
         (account_id("love_fund", "town", town_id), -amount_fen)],
        rule_settings={"source": source, "reference": reference}, memo=f"love-fund {source}: {reference}",
        created_by_id=actor_id,
    )
    record("love_fund.donation_recorded", actor_id=actor_id, obj=entry, town_id=town_id, amount_fen=amount_fen,
           source=source, reference=reference)
    db.session.commit()
    return entry
