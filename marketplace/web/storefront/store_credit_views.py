"""The buyer's store credit: what refunds credited to it, what orders spent of it, and what is left to spend."""
from flask import render_template
from flask_login import current_user, login_required

from marketplace.ledger.rules.store_credit import (
    held_store_credit_fen, spendable_store_credit_fen, store_credit_history,
)
from marketplace.web.storefront import bp


@bp.get("/store-credit")
@login_required
def store_credit():
    return render_template("storefront/store_credit.html", balance_fen=spendable_store_credit_fen(current_user.id),
                           held_fen=held_store_credit_fen(current_user.id), history=store_credit_history(current_user.id))
