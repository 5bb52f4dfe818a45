"""The town love fund (爱心基金): donations in, aid out (rule 13), maker-checker.

Staff record charity-market takings and gifts (storefront round-ups arrive by rule 6); one staff
member proposes aid for a household's serious illness, temporary hardship or education, another
approves it, and neither proposal nor approval may exceed what the fund holds.
"""
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.errors import Conflict, Forbidden, NotFound, Yuan
from marketplace.extensions import db
from marketplace.funds.models import AID_PURPOSES, LoveFundGrant
from marketplace.ledger.attribution import post_love_fund_aid, record_love_fund_donation
from marketplace.ledger.balances import love_fund_summary
from marketplace.places.scope import household_in_town, staff_town_id

DONATION_SOURCES = ("charity_market", "gift")


def _check_amount(amount_fen):
    if not isinstance(amount_fen, int) or amount_fen <= 0 or amount_fen > 100_000_000:
        raise Conflict("Enter an amount above zero and at most ¥1,000,000.", field="amount")


def record_donation(actor_id, source, amount_fen, reference):
    """Charity-market takings or a gift, once per reference (a receipt or market-day number)."""
    town_id = staff_town_id(actor_id)
    _check_amount(amount_fen)
    reference = (reference or "").strip()
    if source not in DONATION_SOURCES:
        raise Conflict("Choose charity market or gift.", field="source")
    if not reference or len(reference) > 80:
        raise Conflict("Enter the receipt or market-day reference (at most 80 characters).", field="reference")
    return record_love_fund_donation(town_id, amount_fen, source, reference, actor_id)  # audits and commits


def _committed_fen(town_id):
    """Aid proposed but not yet decided: it is spoken for."""
    grants = db.session.scalars(select(LoveFundGrant.amount_fen).filter_by(town_id=town_id, status="proposed"))
    return sum(grants)


def propose_grant(actor_id, household_id, purpose, amount_fen, note):
    town_id = staff_town_id(actor_id)
    household_in_town(household_id, town_id)
    _check_amount(amount_fen)
    if purpose not in AID_PURPOSES:
        raise Conflict("Choose serious illness, temporary hardship or education.", field="purpose")
    note = (note or "").strip()
    if not note or len(note) > 300:
        raise Conflict("Say why the household needs the aid (at most 300 characters).", field="note")
    free = love_fund_summary(town_id)["available_fen"] - _committed_fen(town_id)
    if amount_fen > free:
        raise Conflict("The fund has only %(amount)s not yet granted or proposed.", field="amount",
                       amount=Yuan(max(free, 0)))
    grant = LoveFundGrant(town_id=town_id, household_id=household_id, purpose=purpose, amount_fen=amount_fen,
                          note=note, proposed_by_id=actor_id)
    db.session.add(grant)
    db.session.flush()
    record("love_fund.propose", actor_id, grant, town_id=town_id, household_id=household_id, amount_fen=amount_fen)
    db.session.commit()
    return grant


def _proposed_grant(actor_id, grant_id):
    town_id = staff_town_id(actor_id)
    grant = db.session.scalar(select(LoveFundGrant).where(LoveFundGrant.id == grant_id).with_for_update())
    if grant is None or grant.town_id != town_id:
        raise NotFound("No such aid proposal in your town.")
    if grant.status != "proposed":
        raise Conflict("This proposal has already been decided.")
    return town_id, grant


def approve_grant(actor_id, grant_id):
    """A second staff member approves; rule 13 credits the household (refused beyond the fund)."""
    town_id, grant = _proposed_grant(actor_id, grant_id)
    if grant.proposed_by_id == actor_id:
        raise Forbidden("You proposed this aid: another staff member must approve it.")
    grant.status, grant.approved_by_id, grant.decided_at = "approved", actor_id, utcnow()
    db.session.flush()
    post_love_fund_aid(grant.id)
    record("love_fund.approve", actor_id, grant, town_id=town_id, household_id=grant.household_id,
           amount_fen=grant.amount_fen)
    db.session.commit()
    return grant


def reject_grant(actor_id, grant_id):
    town_id, grant = _proposed_grant(actor_id, grant_id)
    grant.status, grant.decided_at = "rejected", utcnow()
    record("love_fund.reject", actor_id, grant, town_id=town_id, household_id=grant.household_id)
    db.session.commit()
    return grant


def town_grants(town_id, limit=50):
    return db.session.scalars(select(LoveFundGrant).filter_by(town_id=town_id)
                              .order_by(LoveFundGrant.id.desc()).limit(limit)).all()
