"""Refunds of an order an organisation paid by company transfer (对公转账): owed, then paid back by bank.

Such an order has no Stripe payment: its money came in by `transfer_payment` (Dr bank, Cr
sales_pending). A refund of it — whole or per line, or an after-sales claim's refund — reverses
the refunded lines exactly as a card refund does (rule 8, `reverse_line`, or the claim rule: the
same pro-rata shares, and after settlement the same cap at what a household, supplier or love
fund has available, the rest borne by the refund's bearer). Only the money's way back differs:

- `transfer_refund_owed`, under the refund's key `refund:{refund}` (where a card refund posts
  `refund_paid`): Dr sales_pending, Cr `organisation_refunds[organisation]`. Posted when the
  refund is recorded (nothing to wait for: no Stripe), so from then on the order's credits are
  paid − refunded and the ledger shows the platform owes the organisation that much.
- `transfer_refund_paid`, key `transfer_refund:{refund}`, when town/finance staff record the
  outgoing bank transfer that paid it back (date, bank reference): Dr
  `organisation_refunds[organisation]`, Cr bank, the refund's amount exactly.

- `transfer_refund_deducted`, key `transfer_refund:{refund}`, for a refund recorded before the
  organisation paid (an order on pay-after-acceptance terms, organisations/unpaid_orders.py): the
  organisation transferred the order's total less that refund, so nothing goes back by bank: Dr
  `organisation_refunds[organisation]`, Cr sales_pending, posted right after the refund's
  `transfer_refund_owed` (the company transfer posted only the money that came in).

An organisation's `organisation_refunds` balance is therefore what it is still owed, never below
zero (`ledger verify` re-derives both rules from the refund and the outgoing transfer).
"""
from marketplace.ledger.rules.names import TRANSFER_REFUND_DEDUCTED, TRANSFER_REFUND_OWED, TRANSFER_REFUND_PAID
from marketplace.ledger.services import account_id, post_entry


def organisation_refunds_account(organisation_id):
    return account_id("organisation_refunds", "organisation", organisation_id)


def owe_organisation(refund, order, organisation_id):
    """Post the money of `refund` as owed back to the organisation; joins the caller's transaction."""
    return post_entry(
        f"refund:{refund.id}", TRANSFER_REFUND_OWED,
        [(account_id("sales_pending"), refund.amount_fen), (organisation_refunds_account(organisation_id),
                                                             -refund.amount_fen)],
        rule_settings={"amount_fen": refund.amount_fen, "organisation_id": organisation_id},
        memo=f"refund {refund.id} of order {order.public_no} owed back to its organisation by bank transfer",
        order_id=order.id, refund_id=refund.id,
    )


def pay_organisation_back(refund, order, outgoing):
    """Post the outgoing bank transfer that paid `refund` back; joins the caller's transaction."""
    return post_entry(
        f"transfer_refund:{refund.id}", TRANSFER_REFUND_PAID,
        [(organisation_refunds_account(outgoing.organisation_id), outgoing.amount_fen),
         (account_id("bank"), -outgoing.amount_fen)],
        rule_settings={"amount_fen": outgoing.amount_fen, "organisation_id": outgoing.organisation_id,
                       "outgoing_transfer_id": outgoing.id, "bank_reference": outgoing.bank_reference,
                       "value_date": outgoing.value_date.isoformat()},
        memo=f"refund {refund.id} of order {order.public_no} paid back by bank transfer {outgoing.bank_reference}",
        order_id=order.id, refund_id=refund.id, created_by_id=outgoing.recorded_by_id,
    )


def refund_deducted(refund, order):
    """A refund recorded before the order was paid was deducted from the transfer: what it owed is
    settled at once, nothing to send (see the module docstring)."""
    return order.paid_at is not None and refund.method == "transfer" and refund.status == "deducted"


def deduct_from_transfer(refund, order, organisation_id):
    """Post a refund recorded before payment as deducted from the company transfer; joins the caller's transaction."""
    return post_entry(
        f"transfer_refund:{refund.id}", TRANSFER_REFUND_DEDUCTED,
        [(organisation_refunds_account(organisation_id), refund.amount_fen),
         (account_id("sales_pending"), -refund.amount_fen)],
        rule_settings={"amount_fen": refund.amount_fen, "organisation_id": organisation_id},
        memo=f"refund {refund.id} of order {order.public_no} deducted from the organisation's transfer",
        order_id=order.id, refund_id=refund.id,
    )
