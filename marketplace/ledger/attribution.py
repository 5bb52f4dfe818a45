"""Attribution rules of DESIGN §3: each a named function that posts one cause exactly once."""
from marketplace.ledger.services import account_id, household_account, post_entry


def post_floor_purchase(lot):
    """Rule 3, guaranteed floor purchase (保底收购) at lot intake.

    Dr cooperative_inventory[C] q×floor, Cr household_payable[H] q×floor. The household earns
    this at intake, whatever the goods later sell for, and a refund never takes it back.
    """
    amount = lot.quantity * lot.floor_price_fen
    return post_entry(
        f"lot:{lot.id}:floor",
        "floor_purchase",
        [
            (account_id("cooperative_inventory", "cooperative", lot.cooperative_id), amount),
            (household_account(lot.household_id), -amount),
        ],
        rule_settings={"floor_price_fen": lot.floor_price_fen, "quantity": lot.quantity},
        memo=f"floor purchase of lot {lot.id}",
        lot_id=lot.id,
    )
