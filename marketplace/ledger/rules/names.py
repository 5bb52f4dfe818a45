"""The names of the attribution rules as recorded in `JournalEntry.rule`, and what they mean to a household."""

PAYMENT_RECEIVED = "payment_received"        # rule 1
DIRECT_SALE = "direct_sale"                  # rule 2
FLOOR_PURCHASE = "floor_purchase"            # rule 3
COOPERATIVE_SALE = "cooperative_sale"        # rule 4 (sale and profit return in one entry)
SUPPLIER_SALE = "supplier_sale"              # a daily-goods line: supplier less its agreed commission
DIVIDEND = "dividend"                        # rule 5
LOVE_FUND_DONATION = "love_fund_donation"    # rule 6, round-up at checkout
SHIPPING = "shipping"                        # rule 6
PAYMENT_FEE = "payment_fee"                  # rule 7
REFUND = "refund"                            # rule 8, reversal of one line (or shipping/donation)
REFUND_PAID = "refund_paid"                  # rule 8, the money going back to the buyer
REFUND_FAILED = "refund_failed"              # rule 8 undone: Stripe failed the refund, the money stayed
STORE_CREDIT_ISSUED = "store_credit_issued"  # rule 8's money going back as the buyer's store credit: Dr sales_pending, Cr store_credit[buyer]
STORE_CREDIT_SPENT = "store_credit_spent"    # store credit paying (part of) an order: Dr store_credit[buyer], Cr sales_pending
CLAIM = "after_sales_claim"                  # an after-sales claim's refund of a line, charged to its bearers
EARNINGS_PAYMENT = "earnings_payment"        # rule 9
CASH_PAYMENT = "cash_payment"                # a downlink order paid in cash at pickup (rule 1's counterpart)
TRANSFER_PAYMENT = "transfer_payment"        # an organisation's company transfer (对公转账) paid its order: Dr bank, Cr sales_pending
TRANSFER_REFUND_OWED = "transfer_refund_owed"  # rule 8's money owed back to that organisation: Dr sales_pending, Cr organisation_refunds[O]
TRANSFER_REFUND_PAID = "transfer_refund_paid"  # staff's outgoing bank transfer paid it back: Dr organisation_refunds[O], Cr bank
# A refund recorded before the organisation paid (pay after acceptance): it was deducted from the
# transfer instead of paid back: Dr organisation_refunds[O], Cr sales_pending.
TRANSFER_REFUND_DEDUCTED = "transfer_refund_deducted"
PAYOUT_APPROVED = "payout_approved"          # rule 10
PAYOUT_PAID = "payout_paid"                  # rule 10
PAYOUT_FAILED = "payout_failed"              # rule 10
STRIPE_PAYOUT = "stripe_payout"              # rule 11
FIXED_RETURN = "fixed_return"                # rule 12
FIXED_RETURN_RECEIVED = "fixed_return_received"  # rule 12, the company's payment clears the receivable
LOVE_FUND_AID = "love_fund_aid"              # rule 13
LOVE_FUND_GIFT = "love_fund_gift"            # charity-market takings and gifts recorded by staff
COOPERATIVE_DEPOSIT = "cooperative_deposit"  # a cooperative funds its floor purchases: Dr bank, Cr cooperative_deposit[C]
FLOOR_PAID_BY_COOPERATIVE = "floor_paid_by_cooperative"  # the cooperative paid a household's floor money itself
PRESALE_PAYMENT = "presale_payment"          # a pre-order's deposit or balance paid: held in presale_deposits[P]
PRESALE_FILL = "presale_fill"                # a filled pre-order pays its ordinary order out of the hold
PRESALE_REFUND = "presale_refund"            # an unfilled pre-order's payment goes back to the buyer
PRESALE_FORFEIT = "presale_forfeit"          # a deposit forfeited (balance unpaid) goes to the cooperative

# Entries that carry an order's money to the people it is owed to (the per-order invariant).
ORDER_ATTRIBUTION_RULES = (DIRECT_SALE, COOPERATIVE_SALE, SUPPLIER_SALE, SHIPPING, LOVE_FUND_DONATION, REFUND, CLAIM)
# Entries through which an order is paid.
# An order paid partly by card and partly with store credit has two of them (payment_received and store_credit_spent).
ORDER_PAYMENT_RULES = (PAYMENT_RECEIVED, EARNINGS_PAYMENT, CASH_PAYMENT, TRANSFER_PAYMENT, PRESALE_FILL, STORE_CREDIT_SPENT)
# Account kinds that receive an order's money, and those that bear what a settled sale's payees
# could not give back when it was refunded (the bearer's debit stands in for theirs).
RECIPIENT_KINDS = ("household_payable", "cooperative_revenue", "supplier_payable", "platform_fees", "shipping",
                   "love_fund", "refund_losses", "claims_receivable")

# How a posting on a household's account reads on its statement.
MECHANISM_OF_RULE = {
    DIRECT_SALE: "direct_sale",
    FLOOR_PURCHASE: "floor_purchase",
    COOPERATIVE_SALE: "profit_return",
    DIVIDEND: "dividend",
    FIXED_RETURN: "fixed_return",
    LOVE_FUND_AID: "love_fund_aid",
    EARNINGS_PAYMENT: "downlink_spending",
    PAYOUT_APPROVED: "payout",
    PAYOUT_FAILED: "payout",
    FLOOR_PAID_BY_COOPERATIVE: "payout",
}
INCOME_MECHANISMS = ("direct_sale", "floor_purchase", "profit_return", "dividend", "fixed_return", "love_fund_aid")


def household_mechanism(entry):
    """The mechanism of a household posting made by `entry` (a refund counts against what it reverses)."""
    return mechanism_of(entry.rule, entry.rule_settings)


def mechanism_of(rule, rule_settings):
    """The mechanism of a household posting made by an entry of `rule` with these recorded settings."""
    if rule in (REFUND, CLAIM):
        return MECHANISM_OF_RULE.get((rule_settings or {}).get("reverses_rule"), "other")
    return MECHANISM_OF_RULE.get(rule, "other")
