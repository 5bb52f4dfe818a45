"""The audit log as people read it: what was done, to what, with which figures, in their language.

A row stores an action code (`payout_batch.approve`) and its details as recorded
(`amount_fen=30000, household_id=60`). `describe(row)` says it as a sentence: the action's
name, the household by its head's name, amounts as money, yes/no, known values by name; ids
and details with no name for a person are left out (they stay in the row for the auditor's export).
"""
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from marketplace.extensions import db
from marketplace.money import format_fen
from marketplace.people.models import Household

ACTIONS = {
    "organisation.registered": _l("registered an organisation"),
    "organisation.quota_set": _l("set an organisation's yearly quota"),
    "organisation.payment_terms_changed": _l("changed an organisation's payment terms"),
    "requisition.submitted": _l("submitted an order for approval"),
    "requisition.approved": _l("approved an organisation's order"),
    "requisition.returned": _l("returned an organisation's order to its buyer"),
    "requisition.payment_extended": _l("extended an organisation's time to pay by transfer"),
    "shipment.accepted": _l("recorded an organisation's acceptance of a delivery"),
    "invoice.requested": _l("asked for an order's invoices"),
    "invoice.uploaded": _l("uploaded an issued e-invoice"),
    "transfer.recorded": _l("recorded a company transfer"),
    "transfer.statement_imported": _l("imported a bank statement"),
    "transfer.refund_paid": _l("recorded the bank transfer paying an organisation's refund back"),
    "order.refund_before_payment": _l("refunded lines of an organisation's unpaid order: deducted from what it owes"),
    "order.cancelled_before_payment": _l("cancelled an organisation's unpaid order: nothing is owed"),
    "api_token.all_revoked": _l("revoked every API token"), "api_token.created": _l("created an API token"),
    "api_token.revoked": _l("revoked an API token"),
    "cooperative_deposit.approve": _l("approved a cooperative's deposit"),
    "cooperative_deposit.record": _l("recorded a cooperative's deposit"),
    "cooperative_deposit.reject": _l("rejected a cooperative's deposit"),
    "crypto.keys_rotated": _l("rotated the encryption keys"),
    "downlink.area_added": _l("added a delivery area"), "downlink.area_removed": _l("removed a delivery area"),
    "downlink.order_cancelled": _l("cancelled a daily-goods order"), "downlink.order_placed": _l("placed a daily-goods order"),
    "downlink.picked_up": _l("handed over a daily-goods order"), "downlink.product_listed": _l("listed daily goods"),
    "downlink.run_consolidated": _l("consolidated a delivery run"), "downlink.run_dispatched": _l("dispatched a delivery run"),
    "downlink.run_received": _l("received a delivery run"), "downlink.variant_updated": _l("updated daily goods"),
    "floor_price.changed": _l("changed a floor price"), "households.exported": _l("exported the households"),
    "import.applied": _l("applied an import"), "import.apply_requested": _l("asked to apply an import"),
    "import.checked": _l("checked an import file"), "import.failed": _l("an import failed"),
    "import.uploaded": _l("uploaded an import file"),
    "invitation.accepted": _l("accepted an invitation"), "invitation.sent": _l("sent an invitation"),
    "lot.confirmed": _l("confirmed a supply lot"),
    "lot.floor_paid_by_cooperative": _l("recorded floor money the cooperative paid itself"),
    "lot.recorded": _l("recorded a supply lot"),
    "love_fund.approve": _l("approved love-fund aid"), "love_fund.donation_recorded": _l("recorded a love-fund gift"),
    "love_fund.propose": _l("proposed love-fund aid"), "love_fund.reject": _l("rejected love-fund aid"),
    "member.admitted": _l("admitted a member"), "order.paid_from_earnings": _l("paid an order from a household's earnings"),
    "payments.refund_failed": _l("a refund failed at the payment provider"),
    "payments.refund_failed_stock_short": _l("could not take all of a failed refund's goods back out of stock"),
    "payout_batch.approve": _l("approved a payout batch"), "payout_batch.cancel": _l("cancelled a payout batch"),
    "payout_batch.create": _l("drafted a payout batch"), "payout_batch.export": _l("exported a payout batch's bank file"),
    "payout_item.failed": _l("recorded a failed payout"), "payout_item.paid": _l("confirmed a payout as paid"),
    "payouts.supplier_bank_account_set": _l("set a supplier's bank account"),
    "period.closed": _l("closed a dividend period"), "product.created": _l("listed a product"),
    "product.photo_added": _l("added a product photo"), "product.status": _l("changed a product's status"),
    "product.updated": _l("updated a product"), "shares.changed": _l("changed a member's shares"),
    "sharing_rule.changed": _l("changed the sharing rules"),
    "shipment.picked_up": _l("handed a buyer's parcels over at the service point"),
    "shipment.packed": _l("packed a parcel"), "shipment.shipped": _l("shipped a parcel"),
    "shipment.delivered": _l("recorded a parcel as delivered"),
    "claim.opened": _l("opened an after-sales claim"), "claim.accept": _l("accepted an after-sales claim"),
    "claim.offer": _l("offered a partial refund on an after-sales claim"),
    "claim.reject": _l("rejected an after-sales claim"), "claim.offer_accepted": _l("accepted a refund offer"),
    "claim.offer_declined": _l("declined a refund offer"), "claim.appealed": _l("appealed a rejected claim"),
    "claim.decided": _l("decided an after-sales claim"), "claim.escalated": _l("sent a claim to town staff"), "user.activated": _l("activated an account"),
    "town.created": _l("added a town"), "town.updated": _l("changed a town"),
    "village.created": _l("added a village"), "village.updated": _l("changed a village"),
    "service_point.created": _l("added a service point"), "service_point.updated": _l("changed a service point"),
    "cooperative.created": _l("added a cooperative"), "cooperative.updated": _l("changed a cooperative"),
    "supplier.created": _l("added a supplier"), "supplier.updated": _l("changed a supplier"),
    "variant.created": _l("added a product variant"), "variant.status": _l("changed a variant's status"),
    "variant.updated": _l("updated a product variant"),
}
# Details a person can read, by name; the rest (ids, hashes, raw settings) are not shown.
DETAILS = {
    "amount_fen": _l("amount"), "total_fen": _l("total"), "price_fen": _l("price"), "floor_price_fen": _l("floor price"),
    "cash_collected_fen": _l("cash collected"), "previewed_total_fen": _l("previewed total"),
    "quantity": _l("quantity"), "count": _l("count"), "stock": _l("stock"), "reference": _l("reference"),
    "bank_reference": _l("bank reference"), "reason": _l("reason"), "failure_reason": _l("reason"),
    "title_zh": _l("product"), "name": _l("name"), "email": _l("e-mail"), "order_no": _l("order"),
    "method": _l("paid by"), "payment_method": _l("paid by"), "status": _l("status"), "role": _l("role"),
    "period_start": _l("from"), "period_end": _l("to"), "filename": _l("file"), "source": _l("source"),
    "bank_name": _l("bank"), "household_id": _l("household"), "active": _l("on sale"), "is_active": _l("on sale"),
}
VALUES = {
    "bank": _l("bank transfer"), "cash": _l("cash"), "earnings": _l("earnings"), "card": _l("card"),
    "active": _l("on sale"), "paused": _l("paused"), "archived": _l("archived"), "draft": _l("draft"),
    "buyer": _l("buyer"), "coop_manager": _l("cooperative manager"), "town_staff": _l("town staff"),
    "agent": _l("village agent"), "supplier": _l("supplier"), "admin": _l("administrator"),
    "damaged": _l("damaged in transit"), "spoiled": _l("spoiled or rotten"), "short_weight": _l("short weight"),
    "wrong_item": _l("wrong item"), "not_received": _l("not received"),
    "charity_market": _l("charity market"), "gift": _l("gift"), "one_day_pay": _l("one day's pay"),
}


@dataclass(frozen=True)
class AuditSentence:
    action: str
    details: tuple  # (label, value) pairs, rendered when read

    def __str__(self):
        english = str(get_locale() or "zh").startswith("en")
        what = str(ACTIONS.get(self.action, _l("did something recorded")))
        if not self.details:
            return what
        figures = ("; " if english else "；").join(f"{label}{' ' if english else '：'}{value}"
                                                   for label, value in self.details)
        return f"{what} ({figures})" if english else f"{what}（{figures}）"

    def __html__(self):
        from markupsafe import escape
        return str(escape(str(self)))


def _value(key, value):
    if isinstance(value, bool):
        return _l("yes") if value else _l("no")
    if key.endswith("_fen") and isinstance(value, int):
        return _Money(value)
    if key == "household_id" and isinstance(value, int):
        household = db.session.get(Household, value)
        return household.head_name if household else None
    if isinstance(value, (dict, list)):
        return None
    return VALUES.get(value, value) if isinstance(value, str) else value


@dataclass(frozen=True)
class _Money:
    fen: int

    def __str__(self):
        return format_fen(self.fen, "en" if str(get_locale() or "zh").startswith("en") else "zh_CN")


def describe(row):
    """The row's action and its readable details as one sentence."""
    details = [(DETAILS[key], _value(key, value)) for key, value in sorted((row.details or {}).items())
               if key in DETAILS and value not in (None, "")]
    if row.on_behalf_of_household_id and "household_id" not in (row.details or {}):
        details.append((_l("on behalf of"), _value("household_id", row.on_behalf_of_household_id)))
    return AuditSentence(row.action, tuple((label, value) for label, value in details if value is not None))
