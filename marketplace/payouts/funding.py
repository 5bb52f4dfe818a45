"""Funding floor money (DESIGN §3 "Settlement"): a payout never spends money the platform does not hold.

A cooperative owes its households the floor price of what they delivered (rule 3) from intake,
but the cash behind it is the cooperative's. Its floor money becomes payable as the cooperative
covers it: with its settled sales revenue held by the platform, with deposits it transfers in
(recorded by one town staff member with the bank's reference, approved by another: Dr bank,
Cr cooperative_deposit[C]), or by paying a household itself, which staff record against the lot
(Dr household_payable[H], Cr cooperative_deposit[C]). What is covered is computed in
marketplace/ledger/balances.py; until then the household's floor money shows as awaiting the
cooperative's funding and no payout batch drafts it.
"""
from flask_babel import lazy_gettext as _
from sqlalchemy import select, update

from marketplace.audit.services import record
from marketplace.catalog.models import SupplyLot
from marketplace.coops.models import Cooperative
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.ledger.balances import (
    cooperative_cover, lot_awaiting_funding, lots_with_funding, unfunded_floor_by_household,
)
from marketplace.ledger.rules.names import COOPERATIVE_DEPOSIT, FLOOR_PAID_BY_COOPERATIVE
from marketplace.ledger.services import account_id, household_account, post_entry
from marketplace.money import format_fen
from marketplace.payouts.models import CooperativeDeposit
from marketplace.people.models import Household
from marketplace.places.models import Village
from marketplace.places.scope import staff_town_id

MAX_DEPOSIT_FEN = 100_000_000_00  # ¥100 million: far beyond any cooperative's transfer


def _cooperative_in_town(cooperative_id, town_id):
    cooperative = db.session.get(Cooperative, cooperative_id)
    if cooperative is None or cooperative.town_id != town_id:
        raise NotFound(_("No such cooperative in your town."))
    return cooperative


def _reference(reference):
    reference = (reference or "").strip()
    if not reference or len(reference) > 80:
        raise DomainError(_("Enter the bank reference (at most 80 characters)."), field="reference")
    return reference


def _amount(amount_fen, most=MAX_DEPOSIT_FEN):
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= most:
        raise DomainError(_("Enter an amount above zero."), field="amount")
    return amount_fen


def record_deposit(actor_id, cooperative_id, amount_fen, bank_reference):
    """Maker: a cooperative's transfer into the platform's bank, by its bank reference. Posts nothing yet."""
    town_id = staff_town_id(actor_id)
    cooperative = _cooperative_in_town(cooperative_id, town_id)
    reference, amount = _reference(bank_reference), _amount(amount_fen)
    if db.session.scalar(select(CooperativeDeposit.id).filter_by(cooperative_id=cooperative.id, bank_reference=reference)):
        raise Conflict(_("A deposit with this bank reference is already recorded."), field="reference")
    deposit = CooperativeDeposit(cooperative_id=cooperative.id, amount_fen=amount, bank_reference=reference,
                                 recorded_by_id=actor_id)
    db.session.add(deposit)
    db.session.flush()
    record("cooperative_deposit.record", actor_id, deposit, town_id=town_id, cooperative_id=cooperative.id,
           amount_fen=amount, bank_reference=reference)
    db.session.commit()
    return deposit


def _deposit_in_town(deposit_id, town_id):
    deposit = db.session.get(CooperativeDeposit, deposit_id)
    if deposit is None:
        raise NotFound(_("No such deposit."))
    _cooperative_in_town(deposit.cooperative_id, town_id)
    return deposit


def approve_deposit(actor_id, deposit_id):
    """Checker: the money is in the bank. Posts Dr bank, Cr cooperative_deposit[C] once; commits."""
    town_id = staff_town_id(actor_id)
    deposit = _deposit_in_town(deposit_id, town_id)
    if deposit.recorded_by_id == actor_id:
        raise Forbidden(_("You recorded this deposit: another staff member must approve it."))
    moved = db.session.execute(
        update(CooperativeDeposit).where(CooperativeDeposit.id == deposit.id, CooperativeDeposit.status == "recorded")
        .values(status="approved", approved_by_id=actor_id, approved_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not moved:
        db.session.rollback()
        raise Conflict(_("This deposit has already been approved or rejected."))
    post_entry(
        f"deposit:{deposit.id}", COOPERATIVE_DEPOSIT,
        [(account_id("bank"), deposit.amount_fen),
         (account_id("cooperative_deposit", "cooperative", deposit.cooperative_id), -deposit.amount_fen)],
        rule_settings={"cooperative_id": deposit.cooperative_id, "amount_fen": deposit.amount_fen,
                       "bank_reference": deposit.bank_reference, "recorded_by_id": deposit.recorded_by_id,
                       "approved_by_id": actor_id},
        memo=f"cooperative deposit {deposit.bank_reference}", created_by_id=actor_id)
    record("cooperative_deposit.approve", actor_id, deposit, town_id=town_id, cooperative_id=deposit.cooperative_id,
           amount_fen=deposit.amount_fen)
    db.session.commit()
    db.session.refresh(deposit)
    return deposit


def reject_deposit(actor_id, deposit_id):
    """Checker: the transfer is not in the bank; nothing is posted."""
    town_id = staff_town_id(actor_id)
    deposit = _deposit_in_town(deposit_id, town_id)
    moved = db.session.execute(
        update(CooperativeDeposit).where(CooperativeDeposit.id == deposit.id, CooperativeDeposit.status == "recorded")
        .values(status="rejected", approved_by_id=actor_id if actor_id != deposit.recorded_by_id else None,
                approved_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not moved:
        db.session.rollback()
        raise Conflict(_("This deposit has already been approved or rejected."))
    record("cooperative_deposit.reject", actor_id, deposit, town_id=town_id, cooperative_id=deposit.cooperative_id)
    db.session.commit()
    return deposit


def record_paid_by_cooperative(actor_id, lot_id, amount_fen, reference):
    """The cooperative paid a household the floor money of one of its lots itself; staff record it.

    Dr household_payable[H], Cr cooperative_deposit[C], against the lot; at most what of the lot
    is still awaiting funding (what the platform could not pay yet). Commits."""
    town_id = staff_town_id(actor_id)
    lot = db.session.get(SupplyLot, lot_id)
    if lot is None or lot.confirmed_at is None:
        raise NotFound(_("No such lot."))
    _cooperative_in_town(lot.cooperative_id, town_id)
    reference, amount = _reference(reference), _amount(amount_fen)
    awaiting = lot_awaiting_funding(lot.id)
    if amount > awaiting:
        raise Conflict(_("Only %(amount)s of this lot's floor money is still awaiting funding.",
                         amount=format_fen(awaiting)), field="amount")
    key = f"floor_paid:{lot.id}:{reference}"
    entry = post_entry(
        key, FLOOR_PAID_BY_COOPERATIVE,
        [(household_account(lot.household_id), amount),
         (account_id("cooperative_deposit", "cooperative", lot.cooperative_id), -amount)],
        rule_settings={"cooperative_id": lot.cooperative_id, "household_id": lot.household_id, "amount_fen": amount,
                       "reference": reference, "awaiting_before_fen": awaiting},
        memo=f"floor money of lot {lot.id} paid by the cooperative", lot_id=lot.id, created_by_id=actor_id)
    record("lot.floor_paid_by_cooperative", actor_id, lot, town_id=town_id, household_id=lot.household_id,
           amount_fen=amount, reference=reference)
    db.session.commit()
    return entry


def town_cover(town_id):
    """[(cooperative, CooperativeCover)] for the town's cooperatives, by name."""
    cooperatives = db.session.scalars(select(Cooperative).where(Cooperative.town_id == town_id)
                                      .order_by(Cooperative.name_zh, Cooperative.id)).all()
    cover = cooperative_cover([cooperative.id for cooperative in cooperatives])
    return [(cooperative, cover[cooperative.id]) for cooperative in cooperatives]


def town_deposits(town_id, limit=50):
    return db.session.scalars(
        select(CooperativeDeposit).join(Cooperative, CooperativeDeposit.cooperative_id == Cooperative.id)
        .where(Cooperative.town_id == town_id).order_by(CooperativeDeposit.id.desc()).limit(limit)).all()


def households_awaiting_funding(town_id):
    """[(household, fen awaiting its cooperatives' funding)] of the town, largest first: the payout
    page says why they are not in the batch."""
    households = {household.id: household for household in db.session.scalars(
        select(Household).join(Village).where(Village.town_id == town_id,
                                              Household.id.in_(select(SupplyLot.household_id))))}
    awaiting = unfunded_floor_by_household(list(households))
    return sorted(((households[household], fen) for household, fen in awaiting.items()),
                  key=lambda pair: (-pair[1], pair[0].id))


def town_lots_awaiting_funding(town_id, limit=100):
    """The town's cooperatives' confirmed lots with floor money awaiting funding, oldest first, with what awaits."""
    cooperatives = list(db.session.scalars(select(Cooperative.id).where(Cooperative.town_id == town_id)))
    waiting = [(lot, unfunded) for lot, _c, _h, _owed, _itself, unfunded in lots_with_funding(cooperatives) if unfunded]
    lots = {lot.id: lot for lot in db.session.scalars(select(SupplyLot).where(
        SupplyLot.id.in_([lot for lot, _fen in waiting[:limit]])))}
    return [(lots[lot], fen) for lot, fen in waiting[:limit]]
