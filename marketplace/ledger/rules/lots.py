"""Supply lots: the floor purchase at intake (rule 3) and first-in-first-out allocation of sold units."""
from sqlalchemy import select

from marketplace.catalog.models import SupplyLot
from marketplace.extensions import db
from marketplace.ledger.models import LotAllocation
from marketplace.ledger.rules.names import FLOOR_PURCHASE
from marketplace.ledger.services import account_id, household_account, post_entry


def post_floor_purchase(lot):
    """Rule 3, guaranteed floor purchase (保底收购) at lot intake.

    Dr cooperative_inventory[C] q×floor, Cr household_payable[H] q×floor. The household earns
    this at intake, whatever the goods later sell for, and a refund never takes it back.
    Joins the caller's transaction.
    """
    amount = lot.quantity * lot.floor_price_fen
    return post_entry(
        f"lot:{lot.id}:floor",
        FLOOR_PURCHASE,
        [
            (account_id("cooperative_inventory", "cooperative", lot.cooperative_id), amount),
            (household_account(lot.household_id), -amount),
        ],
        rule_settings={"floor_price_fen": lot.floor_price_fen, "quantity": lot.quantity,
                       "household_id": lot.household_id},
        memo=f"floor purchase of lot {lot.id}",
        lot_id=lot.id,
    )


def lock_lots_of_products(product_ids):
    """Row-lock the lots that still hold units of these products, oldest first (the FIFO order)."""
    if not product_ids:
        return []
    return db.session.scalars(
        select(SupplyLot)
        .where(SupplyLot.product_id.in_(sorted(product_ids)), SupplyLot.quantity_remaining > 0)
        .order_by(SupplyLot.product_id, SupplyLot.received_on, SupplyLot.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def allocate_units_to_lots(line, lots):
    """Take `line`'s sold lot units from `lots` (locked, oldest first) and record each allocation.

    Returns (allocations, units left over beyond every lot).
    """
    wanted = line.quantity * line.lot_units
    allocations = []
    for lot in lots:
        if wanted == 0:
            break
        if lot.product_id != line.product_id or lot.quantity_remaining == 0:
            continue
        taken = min(wanted, lot.quantity_remaining)
        lot.quantity_remaining -= taken
        wanted -= taken
        allocation = LotAllocation(order_line_id=line.id, lot_id=lot.id, household_id=lot.household_id,
                                   lot_units=taken, floor_price_fen=lot.floor_price_fen)
        db.session.add(allocation)
        allocations.append(allocation)
    db.session.flush()
    return allocations, wanted


def return_units_to_lots(order_line_id, units):
    """Goods came back: give `units` back to the line's lots, latest allocation first."""
    allocations = db.session.scalars(
        select(LotAllocation).where(LotAllocation.order_line_id == order_line_id).order_by(LotAllocation.id.desc())
    ).all()
    for allocation in allocations:
        if units == 0:
            break
        back = min(units, allocation.lot_units - allocation.returned_units)
        if back == 0:
            continue
        lot = db.session.execute(
            select(SupplyLot).where(SupplyLot.id == allocation.lot_id).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        lot.quantity_remaining += back
        allocation.returned_units += back
        units -= back
