"""Settlement (DESIGN §3): when what a shipment's sale credited becomes available to spend or pay out.

A shipment settles AFTER_SALES_DAYS after delivery when no after-sales claim is open on it;
a shipped parcel nobody confirmed counts as delivered AUTO_CONFIRM_DAYS after shipping. Both
are beat sweeps that move shipments in chunks of plain conditional UPDATEs (one transaction
each), so a national sales day's million lines settle in seconds and a sweep interrupted
half-way just carries on next time. Nothing is posted to the ledger here: a credit is pending
while its line's shipment has not settled (marketplace/ledger/balances.py reads the shipment),
so a shipment settles, and its credits become available, exactly once.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.services import among, bulk_insert
from marketplace.orders.fulfilment import complete_settled_orders, sync_order_statuses
from marketplace.orders.models import Order, OrderEvent, Shipment

CHUNK = 50_000
PASS = 500_000  # shipment ids held in memory at once (4 MB)


def _sweep(due, from_status, to_status, values, event_note, chunk):
    """Move the shipments `due` (conditions on Shipment) from `from_status` to `to_status` in
    chunks; each chunk is one UPDATE … RETURNING, its orders brought in line (and, for a
    delivery, its timeline events inserted in bulk), then commits. Returns how many moved."""
    moved = 0
    while True:
        # Up to PASS of them from the sweep's partial index, then chunks in id order: a chunk's
        # shipments, their orders and their index entries then sit together on disk, where chunks
        # in delivery-time order touched a million orders' pages at random (3× slower at scale).
        waiting = sorted(db.session.scalars(select(Shipment.id).where(Shipment.status == from_status, *due).limit(PASS)))
        for start in range(0, len(waiting), chunk):
            rows = db.session.execute(
                update(Shipment).where(among(Shipment.id, waiting[start:start + chunk]), Shipment.status == from_status, *due)
                .values(status=to_status, **values).returning(Shipment.id, Shipment.order_id)
                .execution_options(synchronize_session=False)).all()
            if rows:
                _follow(rows, to_status, event_note, values.get("settled_at") or values.get("delivered_at"))
            db.session.commit()
            moved += len(rows)
        if len(waiting) < PASS:
            return moved


def _follow(rows, to_status, event_note, at):
    """The orders' status follows the shipments just moved, and the buyer's timeline an automatic
    delivery. A settlement writes no timeline row: the timeline reads it from the shipment's
    `settled_at` (marketplace/orders/history.py), which spares a national sales day's million inserts."""
    order_ids = [order_id for _shipment_id, order_id in rows]
    if to_status == "settled":
        complete_settled_orders(order_ids)
        return
    bulk_insert(OrderEvent, [{"order_id": order_id, "shipment_id": shipment_id, "status": to_status,
                              "note": event_note, "actor_id": None, "at": at} for shipment_id, order_id in rows])
    sync_order_statuses(order_ids)


def auto_confirm_due(now=None, chunk=CHUNK):
    """Shipments shipped AUTO_CONFIRM_DAYS ago that nobody confirmed count as delivered. Returns how many."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["AUTO_CONFIRM_DAYS"])
    return _sweep((Shipment.shipped_at <= cutoff,), "shipped", "delivered", {"delivered_at": now, "delivery_confirmed_by": "auto"}, "auto", chunk)


def settle_due(now=None, chunk=CHUNK):
    """Settle the shipments delivered AFTER_SALES_DAYS ago with no open claim. Returns how many settled."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["AFTER_SALES_DAYS"])
    return _sweep((Shipment.delivered_at <= cutoff, Shipment.claim_opened_at.is_(None)), "delivered", "settled", {"settled_at": now}, "settled", chunk)


def deliver_at_pickup(order_id, settle):
    """The pickup code was checked: the order's shipments are delivered, and settled at once when
    `settle` (downlink goods: the supplier's credit is available once the villager has them).
    Joins the caller's transaction."""
    now = utcnow()
    values = {"status": "settled", "settled_at": now} if settle else {"status": "delivered"}
    db.session.execute(update(Shipment).where(Shipment.order_id == order_id, Shipment.status != "cancelled")
                       .values(delivered_at=now, delivery_confirmed_by="pickup", **values)
                       .execution_options(synchronize_session=False))
    sync_order_statuses([order_id])


def settle_order_now(order_id):
    """Deliver and settle every shipment of an order at once, for tests that start from money
    already settled (the app itself settles through `settle_due`); joins the caller's transaction."""
    now = utcnow()
    db.session.execute(update(Shipment).where(Shipment.order_id == order_id, Shipment.status != "cancelled")
                       .values(status="settled", delivered_at=now, settled_at=now, delivery_confirmed_by="carrier")
                       .execution_options(synchronize_session=False))
    sync_order_statuses([order_id])
    db.session.expire(db.session.get(Order, order_id))
