"""Supply lots: the floor purchase at intake (rule 3) and first-in-first-out allocation of sold units."""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select, text, update

from marketplace.catalog.models import SupplyLot
from marketplace.database import is_postgres
from marketplace.extensions import db
from marketplace.ledger.models import LotAllocation
from marketplace.ledger.rules.names import FLOOR_PURCHASE
from marketplace.ledger.services import account_id, among, bulk_insert, household_account, post_entry


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


@dataclass
class LotStock:
    """A locked lot's units still unsold, as the batch allocating from it sees them."""

    id: int
    product_id: int
    household_id: int
    floor_price_fen: int
    received_on: date
    remaining: int


@dataclass(frozen=True)
class Allocation:
    lot_id: int
    household_id: int
    lot_units: int
    floor_price_fen: int


def lock_lots_of_products(product_ids):
    """Row-lock the lots that still hold units of these products; {product id: its lots, oldest first}.

    Locked in id order, whatever the products, so transactions locking overlapping lots wait for
    each other instead of deadlocking; then sorted into the FIFO order (received, then id).
    """
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(SupplyLot.id, SupplyLot.product_id, SupplyLot.household_id, SupplyLot.floor_price_fen,
               SupplyLot.received_on, SupplyLot.quantity_remaining)
        .where(among(SupplyLot.product_id, product_ids), SupplyLot.quantity_remaining > 0,
               SupplyLot.confirmed_at.is_not(None))
        .order_by(SupplyLot.id)
        .with_for_update()
    ).all()
    lots = {}
    for row in sorted(rows, key=lambda row: (row.received_on, row.id)):
        lots.setdefault(row.product_id, []).append(LotStock(*row))
    return lots


def allocate_units_to_lots(line, lots):
    """Take `line`'s sold lot units from its product's `lots` (locked, oldest first), lowering their stock.

    Returns (allocations, units left over beyond every lot); `record_allocations` writes them.
    """
    wanted = line.quantity * line.lot_units
    allocations = []
    for lot in lots:
        if wanted == 0:
            break
        taken = min(wanted, lot.remaining)
        if taken == 0:
            continue
        lot.remaining -= taken
        wanted -= taken
        allocations.append(Allocation(lot.id, lot.household_id, taken, lot.floor_price_fen))
    return allocations, wanted


def record_allocations(allocations_by_line):
    """Write {order line id: allocations} and take their units off the lots, in two bulk statements."""
    rows = [{"order_line_id": line_id, "lot_id": a.lot_id, "household_id": a.household_id,
             "lot_units": a.lot_units, "floor_price_fen": a.floor_price_fen, "returned_units": 0}
            for line_id, allocations in allocations_by_line.items() for a in allocations]
    if not rows:
        return
    bulk_insert(LotAllocation, rows)
    taken = {}
    for row in rows:
        taken[row["lot_id"]] = taken.get(row["lot_id"], 0) + row["lot_units"]
    if is_postgres():
        # One statement for every lot (their rows are locked already, in id order).
        db.session.execute(text(
            "UPDATE supply_lots SET quantity_remaining = quantity_remaining - taken.units "
            "FROM unnest(CAST(:lots AS INTEGER[]), CAST(:units AS INTEGER[])) AS taken(lot, units) "
            "WHERE supply_lots.id = taken.lot"), {"lots": list(taken), "units": list(taken.values())})
        return
    lots = SupplyLot.__table__
    db.session.execute(
        update(lots).where(lots.c.id == bindparam("lot"))
        .values(quantity_remaining=lots.c.quantity_remaining - bindparam("units")),
        [{"lot": lot, "units": units} for lot, units in sorted(taken.items())])


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
