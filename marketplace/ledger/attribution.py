"""Attribution rules of DESIGN §3: each a named function that posts one cause exactly once.

The rules live in `marketplace.ledger.rules`, one module per subject; this module is the one
place other packages import them from. Functions that take an actor or close a cause whole
(`attribute_*`, `pay_order_from_earnings`, `post_dividends`, `post_fixed_returns`,
`record_love_fund_donation`) commit (`attribute_payments`: one transaction for a whole batch);
`post_floor_purchase`, `post_payout_*`, `post_stripe_payout` and `post_love_fund_aid` join the
caller's transaction.
"""
from marketplace.ledger.rules.dividends import (
    distributable_profit_fen, freeze_dividend_preview, post_dividends, preview_dividends, preview_is_current, rule_at_end,
)
from marketplace.ledger.rules.earnings import pay_order_from_earnings
from marketplace.ledger.rules.funds import (
    post_fixed_returns, post_love_fund_aid, record_fixed_return_received, record_love_fund_donation,
)
from marketplace.ledger.rules.late_fees import post_late_fee
from marketplace.ledger.rules.lots import allocate_units_to_lots, post_floor_purchase
from marketplace.ledger.rules.payouts import (
    post_payout_approved, post_payout_failed, post_payout_paid, post_stripe_payout,
)
from marketplace.ledger.rules.refunds import attribute_refund
from marketplace.ledger.rules.sales import attribute_payment, attribute_payments

__all__ = [
    "allocate_units_to_lots", "attribute_payment", "attribute_payments", "attribute_refund", "distributable_profit_fen",
    "freeze_dividend_preview", "pay_order_from_earnings", "post_dividends", "post_fixed_returns", "post_floor_purchase",
    "post_late_fee",
    "post_love_fund_aid", "post_payout_approved", "post_payout_failed", "post_payout_paid",
    "post_stripe_payout", "preview_dividends", "preview_is_current", "record_fixed_return_received",
    "record_love_fund_donation", "rule_at_end",
]
