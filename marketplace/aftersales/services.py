"""After-sales claims: opened by the buyer, answered by the seller, decided by town staff.

A buyer opens a claim on some units of one line of a delivered shipment within AFTER_SALES_DAYS
of delivery. Opening it holds the shipment (`Shipment.claim_opened_at`): the settlement sweep
skips it, so the line's credits stay pending while the claim is open. The hold is taken by one
conditional UPDATE that also requires the shipment to be delivered and still inside its window,
so a claim and the settlement sweep racing each other cannot both win.

The seller (cooperative manager, the village agent for a household selling directly, or the
supplier) answers within CLAIM_RESPONSE_HOURS: accepts (a refund of the units, or a replacement
sent as a new shipment), offers a partial refund (the buyer accepts it, or declines and town
staff decide), or rejects with a reason (the buyer may appeal to town staff while the sale has
not settled). Silence past the deadline escalates (`escalate_overdue`, a beat task). Town staff
of the seller's town decide an escalated claim: the refund, and who bears it (seller, carrier,
platform, or a split in whole percent), with a reason.

Every move is one conditional UPDATE of the claim's status, so two people answering or deciding
at once move it once; the loser is told the claim has moved on. A refund goes to the buyer's
original method through the refund path (`refund_claim_uncommitted`); the ledger posts it under
the claim rule when Stripe reports it succeeded, and only then releases the shipment's hold, so
the sale never settles (and is never paid out) with a claim refund still to be taken back.
"""
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import String, cast, exists, func, literal, select, update

from marketplace.aftersales.models import (
    BEARERS, CLAIM_REASONS, CLAIM_REMEDIES, OPEN_CLAIM_STATUSES, REFUND_DESTINATIONS, Claim, ClaimPhoto,
)
from marketplace.audit.services import record
from marketplace.catalog.models import Seller, Variant
from marketplace.catalog.photos import reencoded_photo, write_reencoded
from marketplace.database import lock_for_update, utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.orders import fulfilment
from marketplace.orders.models import Order, OrderEvent, OrderLine, Shipment
from marketplace.payments.models import Refund
from marketplace.payments.refunds import refund_claim_uncommitted
from marketplace.people.models import User

MAX_PHOTOS = 4
MAX_NOTE = 500
NOT_REFUNDED = ("failed", "canceled")


def _now():
    return utcnow()


def _deadline(now):
    return now + timedelta(hours=current_app.config["CLAIM_RESPONSE_HOURS"])


def _window_cutoff(now):
    return now - timedelta(days=current_app.config["AFTER_SALES_DAYS"])


def _event(claim, status, actor_id, note=""):
    db.session.add(OrderEvent(order_id=claim.order_id, shipment_id=claim.shipment_id, status=status,
                              note=note, actor_id=actor_id, at=utcnow()))


def _audit(action, claim, actor_id, **details):
    record(action, actor_id=actor_id, obj=claim, town_id=fulfilment._town_of_seller(claim.seller_id),
           order_id=claim.order_id, **details)


def claimed_units(order_line_id):
    """Units of the line under a claim that is open or was resolved (a rejected claim frees its units)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Claim.quantity), 0)).where(
        Claim.order_line_id == order_line_id, Claim.status != "rejected")) or 0)


def claimable_units(line):
    """Units of `line` a new claim may cover: bought, less refunded outside claims, less already claimed."""
    refunded_by_claims = int(db.session.scalar(
        select(func.coalesce(func.sum(Claim.quantity), 0))
        .join(Refund, Refund.id == Claim.refund_id)
        .where(Claim.order_line_id == line.id, Refund.status.not_in(NOT_REFUNDED))) or 0)
    return line.quantity - (line.refunded_quantity - refunded_by_claims) - claimed_units(line.id)


def _parse_int(value, message, field):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError(message, field=field) from None
    return number


def _buyer_order(public_no, buyer_id):
    order = db.session.scalar(select(Order).where(Order.public_no == public_no))
    if order is None or order.buyer_id is None or order.buyer_id != buyer_id:
        raise NotFound(_("No such order."))
    return order


def open_claim(public_no, order_line_id, buyer_id, reason, quantity, remedy, note="", photos=(), refund_to="original"):
    """The buyer claims `quantity` units of one line of a delivered shipment; commits. Returns the Claim.

    Refused with nothing changed (no claim, no photo kept, no hold) when the order is not the
    buyer's, the parcel is not delivered or its window has closed, the units are more than were
    bought or are claimed already, or a photo is not a picture or too large."""
    order = _buyer_order(public_no, buyer_id)
    line = db.session.scalar(lock_for_update(select(OrderLine).where(OrderLine.id == order_line_id,
                                                                     OrderLine.order_id == order.id)))
    if line is None:
        raise NotFound(_("That item is not part of this order."))
    if reason not in CLAIM_REASONS:
        raise DomainError(_("Choose what is wrong."), field="reason")
    if remedy not in CLAIM_REMEDIES:
        raise DomainError(_("Choose a refund or a replacement."), field="remedy")
    if refund_to not in REFUND_DESTINATIONS:
        raise DomainError(_("Choose where the refund goes."), field="refund_to")
    quantity = _parse_int(quantity, _("Enter how many units are affected."), "quantity")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(_("Keep the note under %(n)d characters.", n=MAX_NOTE), field="note")
    photos = [data for data in photos if data]
    if len(photos) > MAX_PHOTOS:
        raise DomainError(_("Attach at most %(n)d photos.", n=MAX_PHOTOS), field="photos")
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id,
                                                        Shipment.seller_id == line.seller_id,
                                                        Shipment.replaces_claim_id.is_(None)))
    now = _now()
    if shipment is None or shipment.status != "delivered" or shipment.delivered_at is None:
        raise Conflict(_("A claim can be opened only on a parcel that was delivered and has not settled."))
    if shipment.delivered_at <= _window_cutoff(now):
        raise Conflict(_("The after-sales window of %(days)d days after delivery has closed.",
                         days=current_app.config["AFTER_SALES_DAYS"]))
    available = claimable_units(line)
    if not 1 <= quantity <= available:
        if available <= 0:
            raise Conflict(_("Every unit of this item is already claimed or refunded."))
        raise DomainError(_("Claim between 1 and %(n)d units.", n=available), field="quantity")
    reencoded = [reencoded_photo(data) for data in photos]  # every photo checked before anything is kept
    held = db.session.execute(
        update(Shipment).where(Shipment.id == shipment.id, Shipment.status == "delivered",
                               Shipment.delivered_at > _window_cutoff(now))
        .values(claim_opened_at=func.coalesce(Shipment.claim_opened_at, now))
        .execution_options(synchronize_session=False)).rowcount
    if not held:
        db.session.rollback()
        raise Conflict(_("The after-sales window of %(days)d days after delivery has closed.",
                         days=current_app.config["AFTER_SALES_DAYS"]))
    claim = Claim(order_id=order.id, shipment_id=shipment.id, order_line_id=line.id, seller_id=line.seller_id,
                  product_id=line.product_id, buyer_id=buyer_id, reason=reason, quantity=quantity, note=note,
                  remedy=remedy, refund_to=refund_to, status="awaiting_seller", opened_at=now, respond_by=_deadline(now))
    db.session.add(claim)
    db.session.flush()
    for pair in reencoded:
        path, thumbnail = write_reencoded(pair, "claims")
        db.session.add(ClaimPhoto(claim_id=claim.id, path=path, thumbnail_path=thumbnail))
    _event(claim, "claim_opened", buyer_id, note=f"claim:{claim.id}")
    _audit("claim.opened", claim, buyer_id, reason=reason, quantity=quantity, remedy=remedy, refund_to=refund_to)
    db.session.commit()
    return claim


# --- who may see and answer a claim ------------------------------------------------------------

def seller_ids_for(actor_id):
    """The sellers whose claims the actor answers: a manager's cooperative, an agent's direct-selling
    households, a supplier's own seller."""
    user = db.session.get(User, actor_id)
    if user is not None and user.role == "supplier":
        return list(db.session.scalars(select(Seller.id).where(Seller.supplier_id == user.supplier_id)))
    return fulfilment.seller_ids_of(actor_id)


def claim_for_seller(actor_id, claim_id):
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.seller_id not in seller_ids_for(actor_id):
        raise NotFound(_("No such claim."))
    return claim


def claim_for_buyer(public_no, claim_id, buyer_id):
    order = _buyer_order(public_no, buyer_id)
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.order_id != order.id:
        raise NotFound(_("No such claim."))
    return claim


def claim_for_staff(actor_id, claim_id):
    user = db.session.get(User, actor_id)
    if user is None or user.role != "town_staff":
        raise Forbidden(_("Only town staff may decide a claim."))
    claim = db.session.get(Claim, claim_id)
    if claim is None or fulfilment._town_of_seller(claim.seller_id) != user.town_id:
        raise NotFound(_("No such claim."))
    return claim


def claims_of_order(order_id):
    return db.session.scalars(select(Claim).where(Claim.order_id == order_id).order_by(Claim.id)).all()


def seller_claims(actor_id, limit=100):
    """The actor's sellers' claims, those waiting for them first, then the latest."""
    waiting_first = (Claim.status != "awaiting_seller")
    return db.session.scalars(select(Claim).where(Claim.seller_id.in_(seller_ids_for(actor_id)))
                              .order_by(waiting_first, Claim.opened_at.desc()).limit(limit)).all()


def town_claims(actor_id, limit=100):
    """Claims of sellers in the staff member's town: escalated ones (to decide) first."""
    user = db.session.get(User, actor_id)
    return db.session.scalars(select(Claim).where(Claim.seller_id.in_(town_seller_ids(user.town_id)))
                              .order_by(Claim.status != "escalated", Claim.opened_at.desc()).limit(limit)).all()


# --- moves -----------------------------------------------------------------------------------

def _move(claim, from_statuses, **values):
    """One conditional UPDATE: two people answering at once move the claim once."""
    moved = db.session.execute(
        update(Claim).where(Claim.id == claim.id, Claim.status.in_(from_statuses)).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    if not moved:
        db.session.rollback()
        raise Conflict(_("This claim has already been answered or decided."))
    db.session.refresh(claim)


def _units_price(claim):
    line = db.session.get(OrderLine, claim.order_line_id)
    return line.unit_price_fen * claim.quantity


def respond(claim_id, actor_id, action, offer_fen=None, reason=""):
    """The seller answers an open claim: `accept`, `offer` (a partial refund, in fen) or `reject` (with
    a reason); commits."""
    claim = claim_for_seller(actor_id, claim_id)
    reason = (reason or "").strip()
    now = _now()
    if action == "accept":
        _move(claim, ("awaiting_seller",), status="resolved", responded_by_id=actor_id, responded_at=now,
              decided_at=now, seller_percent=100, carrier_percent=0, platform_percent=0)
        if claim.remedy == "replacement":
            _send_replacement(claim, actor_id)
        else:
            _refund(claim, _units_price(claim), actor_id)
        _event(claim, "claim_accepted", actor_id, note=f"claim:{claim.id}")
    elif action == "offer":
        full = _units_price(claim)
        if offer_fen is None or not isinstance(offer_fen, int) or not 0 < offer_fen < full:
            raise DomainError(_("Offer more than nothing and less than the full refund."), field="offer")
        _move(claim, ("awaiting_seller",), status="offered", offer_fen=offer_fen, responded_by_id=actor_id,
              responded_at=now, respond_by=_deadline(now))
        _event(claim, "claim_offered", actor_id, note=f"claim:{claim.id}")
    elif action == "reject":
        if not reason or len(reason) > MAX_NOTE:
            raise DomainError(_("Say why you reject the claim."), field="reason")
        _move(claim, ("awaiting_seller",), status="rejected", seller_reason=reason, responded_by_id=actor_id,
              responded_at=now, decided_at=now)
        release_hold_if_clear(claim.shipment_id)
        _event(claim, "claim_rejected", actor_id, note=f"claim:{claim.id}")
    else:
        raise DomainError(_("Choose how to answer the claim."), field="action")
    _audit(f"claim.{action}", claim, actor_id, offer_fen=offer_fen or 0)
    db.session.commit()
    return claim


def answer_offer(public_no, claim_id, buyer_id, accept):
    """The buyer accepts the seller's partial refund (refunded now) or declines it (town staff decide)."""
    claim = claim_for_buyer(public_no, claim_id, buyer_id)
    now = _now()
    if accept:
        _move(claim, ("offered",), status="resolved", decided_at=now, seller_percent=100, carrier_percent=0,
              platform_percent=0)
        _refund(claim, claim.offer_fen, buyer_id)
        _event(claim, "claim_offer_accepted", buyer_id, note=f"claim:{claim.id}")
    else:
        _move(claim, ("offered",), status="escalated", escalated_at=now)
        _event(claim, "claim_escalated", buyer_id, note=f"claim:{claim.id}")
    _audit("claim.offer_accepted" if accept else "claim.offer_declined", claim, buyer_id)
    db.session.commit()
    return claim


def appeal(public_no, claim_id, buyer_id):
    """The buyer asks town staff to decide a claim the seller rejected, while the sale has not settled."""
    claim = claim_for_buyer(public_no, claim_id, buyer_id)
    now = _now()
    _move(claim, ("rejected",), status="escalated", escalated_at=now, decided_at=None)
    held = db.session.execute(
        update(Shipment).where(Shipment.id == claim.shipment_id, Shipment.status == "delivered")
        .values(claim_opened_at=func.coalesce(Shipment.claim_opened_at, now))
        .execution_options(synchronize_session=False)).rowcount
    if not held:
        db.session.rollback()
        raise Conflict(_("This sale has settled: the claim can no longer be appealed."))
    _event(claim, "claim_escalated", buyer_id, note=f"claim:{claim.id}")
    _audit("claim.appealed", claim, buyer_id)
    db.session.commit()
    return claim


def parse_percents(seller, carrier, platform):
    """{bearer: percent} from three form values; DomainError unless whole, ≥ 0 and adding up to 100."""
    percents = {}
    for bearer, value in zip(BEARERS, (seller, carrier, platform)):
        percents[bearer] = _parse_int(value or 0, _("Shares are whole percentages adding up to 100."), "shares")
    if any(value < 0 for value in percents.values()) or sum(percents.values()) != 100:
        raise DomainError(_("Shares are whole percentages adding up to 100."), field="shares")
    return percents


def decide(claim_id, actor_id, refund_fen, percents, reason, refund_to=None):
    """Town staff decide an escalated claim: refund `refund_fen` (0: nothing is refunded) borne by
    `percents` ({seller, carrier, platform} in whole percent, adding up to 100), for `reason`, to
    `refund_to` (the original payment method or store credit; None keeps the buyer's choice); commits.
    Two staff deciding at once decide it once: the second is told it was decided."""
    claim = claim_for_staff(actor_id, claim_id)
    if refund_to is not None and refund_to not in REFUND_DESTINATIONS:
        raise DomainError(_("Choose where the refund goes."), field="refund_to")
    refund_to = refund_to or claim.refund_to
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_NOTE:
        raise DomainError(_("Give the reason for the decision."), field="reason")
    full = _units_price(claim)
    if not isinstance(refund_fen, int) or not 0 <= refund_fen <= full:
        raise DomainError(_("Refund between nothing and what the claimed units cost."), field="refund")
    if set(percents) != set(BEARERS) or sum(percents.values()) != 100 or min(percents.values()) < 0:
        raise DomainError(_("Shares are whole percentages adding up to 100."), field="shares")
    now = _now()
    _move(claim, ("escalated",), status="resolved" if refund_fen else "rejected", decided_by_id=actor_id,
          decided_at=now, decision_reason=reason, seller_percent=percents["seller"],
          carrier_percent=percents["carrier"], platform_percent=percents["platform"], refund_to=refund_to)
    if refund_fen:
        _refund(claim, refund_fen, actor_id)
    else:
        release_hold_if_clear(claim.shipment_id)
    _event(claim, "claim_decided", actor_id, note=f"claim:{claim.id}")
    _audit("claim.decided", claim, actor_id, refund_fen=refund_fen, reason=reason, refund_to=refund_to,
           **{f"{bearer}_percent": percent for bearer, percent in percents.items()})
    db.session.commit()
    return claim


def _refund(claim, amount_fen, actor_id):
    refund = refund_claim_uncommitted(claim.order_id, claim.order_line_id, claim.quantity, amount_fen, actor_id,
                                      reason=f"after-sales claim {claim.id}", method=claim.refund_to)
    claim.refund_fen, claim.refund_id = amount_fen, refund.id
    db.session.flush()


def _send_replacement(claim, actor_id):
    """A replacement ships as a new shipment of the claim's units, taken from stock; the claim frees its
    hold at once (no money moves: the seller bears the replacement in kind)."""
    line = db.session.get(OrderLine, claim.order_line_id)
    taken = db.session.execute(
        update(Variant).where(Variant.id == line.variant_id, Variant.stock_available >= claim.quantity)
        .values(stock_available=Variant.stock_available - claim.quantity)
        .execution_options(synchronize_session=False)).rowcount
    if not taken:
        db.session.rollback()
        raise Conflict(_("Not enough stock to send a replacement: offer a refund instead."))
    shipment = Shipment(order_id=claim.order_id, seller_id=claim.seller_id, status="open", carrier="",
                        tracking_no="", replaces_claim_id=claim.id)
    db.session.add(shipment)
    db.session.flush()
    claim.replacement_shipment_id = shipment.id
    claim.refund_fen = 0
    db.session.add(OrderEvent(order_id=claim.order_id, shipment_id=shipment.id, status="open",
                              note="replacement", actor_id=actor_id, at=utcnow()))
    release_hold_if_clear(claim.shipment_id)


def escalate_overdue(now=None):
    """Beat: claims nobody answered by their deadline go to town staff. Returns how many. Safe to run twice."""
    now = now or _now()
    rows = db.session.execute(
        update(Claim).where(Claim.status.in_(("awaiting_seller", "offered")), Claim.respond_by <= now)
        .values(status="escalated", escalated_at=now)
        .returning(Claim.id, Claim.order_id, Claim.shipment_id)
        .execution_options(synchronize_session=False)).all()
    for claim_id, order_id, shipment_id in rows:
        db.session.add(OrderEvent(order_id=order_id, shipment_id=shipment_id, status="claim_escalated",
                                  note=f"claim:{claim_id}", at=now))
    db.session.commit()
    return len(rows)


def release_hold_if_clear(shipment_id):
    """Let the shipment settle again once none of its claims is open and every claim refund is posted
    (or failed). Joins the caller's transaction."""
    open_claim_exists = exists().where(Claim.shipment_id == Shipment.id, Claim.status.in_(OPEN_CLAIM_STATUSES))
    unposted_refund = exists().where(
        Claim.shipment_id == Shipment.id, Claim.refund_id.is_not(None), Refund.id == Claim.refund_id,
        Refund.status.not_in(NOT_REFUNDED),
        ~exists().where(JournalEntry.idempotency_key == literal("refund:") + cast(Refund.id, String)))
    db.session.execute(update(Shipment).where(Shipment.id == shipment_id, ~open_claim_exists, ~unposted_refund)
                       .values(claim_opened_at=None).execution_options(synchronize_session=False))



def claim_visible_to(actor_id, claim_id):
    """The claim if the actor is its buyer, answers for its seller, or is staff of the seller's town; else NotFound."""
    claim = db.session.get(Claim, claim_id)
    user = db.session.get(User, actor_id)
    if claim is None or user is None:
        raise NotFound(_("No such claim."))
    if claim.buyer_id == user.id:
        return claim
    if user.role == "town_staff":
        return claim_for_staff(actor_id, claim_id)
    if user.role in ("coop_manager", "agent", "supplier"):
        return claim_for_seller(actor_id, claim_id)
    raise NotFound(_("No such claim."))


def claim_window_open(order):
    """Ids of the order's delivered shipments whose after-sales window is still open."""
    cutoff = _window_cutoff(_now())
    return {shipment.id for shipment in order.shipments
            if shipment.status == "delivered" and shipment.delivered_at and shipment.delivered_at > cutoff}


def town_seller_ids(town_id):
    """The sellers of a town: its cooperatives, the households of its villages, its suppliers."""
    from marketplace.coops.models import Cooperative
    from marketplace.people.models import Household, Supplier
    from marketplace.places.models import Village
    households = (select(Household.id).join(Village, Household.village_id == Village.id)
                  .where(Village.town_id == town_id))
    return list(db.session.scalars(select(Seller.id).where(
        Seller.cooperative_id.in_(select(Cooperative.id).where(Cooperative.town_id == town_id))
        | Seller.household_id.in_(households)
        | Seller.supplier_id.in_(select(Supplier.id).where(Supplier.town_id == town_id)))))
