"""Pre-sale money (预售): deposits and balances are held, never anyone's income, until their
pre-order is filled or refunded.

- A pre-order's payment succeeded (its deposit, later its balance), amount A:
  Dr stripe_receivable A, Cr presale_deposits[P] A (`presale:pay:{payment}`).
- Filled (paid in full, its units allocated from received lots): the hold pays an ordinary
  order of the pre-order's units: Dr presale_deposits[P] T, Cr sales_pending T
  (`presale:fill:{pre-order}`, naming the order); the order's line is then attributed as any
  cooperative line is (rule 4: FIFO lots and profit return), so a household sees money only
  from goods it delivered.
- Refunded (short harvest, or a balance not paid where the terms refund): Dr presale_deposits[P] R,
  Cr stripe_receivable R for each payment given back (`presale:refund:{payment}`).
- Stripe's fee on a pre-order's payment (as rule 7 for an order's payment, borne by the platform):
  Dr payment_fees F, Cr stripe_receivable F (`presale:fee:{payment}`, rule payment_fee); the hold
  keeps the whole amount the buyer paid, so a refund gives it all back.
- Forfeited (balance not paid where the terms forfeit): the deposit is the cooperative's, whose
  harvest then stood ready: Dr presale_deposits[P] D, Cr cooperative_revenue[C] D
  (`presale:forfeit:{pre-order}`).

Each function joins the caller's transaction; posting twice posts nothing new (keys above).
A pre-order's hold is therefore paid − refunded − filled − forfeited, and is 0 once it closes.
"""
from marketplace.ledger.rules.names import PAYMENT_FEE, PRESALE_FILL, PRESALE_FORFEIT, PRESALE_PAYMENT, PRESALE_REFUND
from marketplace.ledger.services import account_id, post_entry


def presale_hold(presale_id):
    return account_id("presale_deposits", "presale", presale_id)


def post_presale_payment(payment, preorder):
    """A succeeded deposit or balance: held for the pre-sale, nobody's income."""
    return post_entry(
        f"presale:pay:{payment.id}", PRESALE_PAYMENT,
        [(account_id("stripe_receivable"), payment.amount_fen), (presale_hold(preorder.presale_id), -payment.amount_fen)],
        rule_settings={"preorder_id": preorder.id, "presale_id": preorder.presale_id, "kind": payment.kind,
                       "amount_fen": payment.amount_fen, "payment_intent": payment.stripe_payment_intent_id},
        memo=f"pre-order {preorder.id}: {payment.kind} held")


def post_presale_fee(payment, preorder):
    """Stripe's fee on a succeeded deposit or balance, once it is known (nothing when 0)."""
    if not payment.fee_fen:
        return None
    return post_entry(
        f"presale:fee:{payment.id}", PAYMENT_FEE,
        [(account_id("payment_fees"), payment.fee_fen), (account_id("stripe_receivable"), -payment.fee_fen)],
        rule_settings={"fee_fen": payment.fee_fen, "balance_transaction": payment.balance_transaction_id,
                       "method": payment.payment_method_type, "borne_by": "platform",
                       "preorder_id": preorder.id, "presale_payment_id": payment.id},
        memo=f"payment fee on pre-order {preorder.id}'s {payment.kind}")


def post_presale_fill(preorder, order):
    """The hold pays the pre-order's ordinary order (then attributed as any order is)."""
    return post_entry(
        f"presale:fill:{preorder.id}", PRESALE_FILL,
        [(presale_hold(preorder.presale_id), order.total_fen), (account_id("sales_pending"), -order.total_fen)],
        rule_settings={"preorder_id": preorder.id, "presale_id": preorder.presale_id, "amount_fen": order.total_fen,
                       "allocated_quantity": preorder.allocated_quantity, "unit_price_fen": preorder.unit_price_fen},
        memo=f"pre-order {preorder.id} filled as order {order.public_no}", order_id=order.id)


def post_presale_refund(payment, preorder, amount_fen, excess=False):
    """A payment given back: what is left of it when the pre-order goes unfilled, or (`excess`) the
    part of a deposit above what a pro-rata cut left to pay. The hold returns to Stripe."""
    return post_entry(
        f"presale:{'excess' if excess else 'refund'}:{payment.id}", PRESALE_REFUND,
        [(presale_hold(preorder.presale_id), amount_fen), (account_id("stripe_receivable"), -amount_fen)],
        rule_settings={"preorder_id": preorder.id, "presale_id": preorder.presale_id, "kind": payment.kind,
                       "excess": excess, "amount_fen": amount_fen,
                       "stripe_refund": payment.excess_refund_id if excess else payment.stripe_refund_id},
        memo=f"pre-order {preorder.id}: {payment.kind} refunded")


def post_presale_forfeit(preorder, cooperative_id, amount_fen):
    """A deposit forfeited under the pre-sale's terms: the cooperative's, its harvest stood ready."""
    return post_entry(
        f"presale:forfeit:{preorder.id}", PRESALE_FORFEIT,
        [(presale_hold(preorder.presale_id), amount_fen),
         (account_id("cooperative_revenue", "cooperative", cooperative_id), -amount_fen)],
        rule_settings={"preorder_id": preorder.id, "presale_id": preorder.presale_id, "cooperative_id": cooperative_id,
                       "amount_fen": amount_fen},
        memo=f"pre-order {preorder.id}: deposit forfeited")
