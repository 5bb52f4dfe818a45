"""Each ledger entry as a plain sentence in the reader's language, one template per rule.

A sentence is built from what the entry recorded (its settings, its lot, its order line),
never from today's configuration: `entry_sentences(entry, household_id)` returns the
sentences for one household's posting (a cooperative sale can return money on several lots
of one household, one sentence each). A `Sentence` keeps its message id and typed figures and
is rendered when it is read (`str()`), in the locale in force then — the page's, the PDF's
Chinese, the API caller's — with amounts, days, quantities and rates formatted for that reader.
"""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import get_locale, gettext

from marketplace.catalog.models import Product, SupplyLot
from marketplace.catalog.units import unit_name
from marketplace.coops.models import Cooperative, DividendPreview
from marketplace.extensions import db
from marketplace.funds.models import FixedReturnInvestment
from marketplace.ledger.rules import names
from marketplace.local_time import local_day
from marketplace.money import format_fen, format_percent
from marketplace.orders.models import Order, OrderLine
from marketplace.payouts.models import PayoutItem


def _english():
    try:
        return str(get_locale() or "zh").startswith("en")
    except RuntimeError:  # outside a request and an app
        return False


@dataclass(frozen=True)
class Money:
    fen: int

    def __str__(self):
        if _english():
            return format_fen(self.fen, "en")
        return format_fen(self.fen, "zh_CN").replace("¥", "") + " 元"


@dataclass(frozen=True)
class Day:
    """A calendar day as a person says it: 10月4日 (2026年10月4日 with `full`), 4 Oct (2026)."""

    day: date
    full: bool = False

    def __str__(self):
        if _english():
            return f"{self.day.day} {self.day:%b %Y}" if self.full else f"{self.day.day} {self.day:%b}"
        short = f"{self.day.month}月{self.day.day}日"
        return f"{self.day.year}年{short}" if self.full else short


@dataclass(frozen=True)
class Quantity:
    amount: object
    unit: str

    def __str__(self):
        return f"{self.amount} {unit_name(self.unit, 'en' if _english() else 'zh', plural=self.amount != 1)}" \
            if _english() else f"{self.amount} {unit_name(self.unit, 'zh')}"


@dataclass(frozen=True)
class Unit:
    unit: str

    def __str__(self):
        return unit_name(self.unit, "en" if _english() else "zh")


@dataclass(frozen=True)
class Rate:
    rate: Decimal

    def __str__(self):
        return format_percent(self.rate)


@dataclass(frozen=True)
class Both:
    """A name kept in both languages (a product, a cooperative)."""

    zh: str
    en: str

    def __str__(self):
        return (self.en or self.zh) if _english() else self.zh


@dataclass(frozen=True)
class Sentence:
    message_id: str
    params: dict

    def __str__(self):
        return gettext(self.message_id, **{key: str(value) for key, value in self.params.items()})

    def __html__(self):  # Jinja escapes the rendered text
        from markupsafe import escape
        return str(escape(str(self)))


def _product(product_id):
    product = db.session.get(Product, product_id)
    return Both(product.title_zh, product.title_en), product.lot_unit


def _sale_day(entry):
    order = db.session.get(Order, entry.order_id) if entry.order_id else None
    return Day(local_day(order.paid_at if order is not None and order.paid_at else entry.created_at))


def floor_purchase(entry, household_id, fen):
    lot = db.session.get(SupplyLot, entry.lot_id)
    product, unit = _product(lot.product_id)
    settings = entry.rule_settings or {}
    return [Sentence(
        "On %(day)s you delivered %(quantity)s of %(product)s, bought at the guaranteed floor price of "
        "%(price)s per %(unit)s: %(amount)s",
        {"day": Day(lot.received_on), "quantity": Quantity(settings.get("quantity", lot.quantity), unit),
         "product": product, "price": Money(settings.get("floor_price_fen", lot.floor_price_fen)),
         "unit": Unit(unit), "amount": Money(fen)})]


def profit_return(entry, household_id, fen):
    settings = entry.rule_settings or {}
    line = db.session.get(OrderLine, entry.order_line_id)
    product, unit = _product(line.product_id)
    price = Decimal(settings.get("unit_price_per_lot_unit_fen", line.unit_price_fen))
    rate = Decimal(settings.get("profit_return_rate", "0"))
    sentences = []
    for allocation in settings.get("allocations", []):
        if allocation["household_id"] != household_id or not allocation["return_fen"]:
            continue
        over = max(Decimal(0), price - allocation["floor_price_fen"])
        sentences.append(Sentence(
            "The %(quantity)s of %(product)s you delivered sold on %(day)s at %(price)s per %(unit)s, %(over)s above "
            "the floor price; the cooperative returns %(rate)s of that to you: %(amount)s",
            {"quantity": Quantity(allocation["lot_units"], unit), "product": product, "day": _sale_day(entry),
             "price": Money(_whole_fen(price)), "unit": Unit(unit), "over": Money(_whole_fen(over)), "rate": Rate(rate),
             "amount": Money(allocation["return_fen"])}))
    return sentences or [_plain(entry, fen)]


def _whole_fen(amount):
    return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def direct_sale(entry, household_id, fen):
    settings = entry.rule_settings or {}
    line = db.session.get(OrderLine, entry.order_line_id)
    figures = {"day": _sale_day(entry), "quantity": Quantity(line.quantity, line.unit),
               "product": Both(line.title_zh, line.title_en), "price": Money(line.unit_price_fen),
               "unit": Unit(line.unit), "amount": Money(fen)}
    if not settings.get("commission_fen"):
        return [Sentence("On %(day)s you sold %(quantity)s of %(product)s directly at %(price)s per %(unit)s, "
                         "with no platform commission: %(amount)s", figures)]
    return [Sentence("On %(day)s you sold %(quantity)s of %(product)s directly at %(price)s per %(unit)s, less the "
                     "platform's %(rate)s commission (%(commission)s): %(amount)s",
                     {**figures, "rate": Rate(Decimal(settings["commission_rate"])),
                      "commission": Money(settings["commission_fen"])})]


def dividend(entry, household_id, fen):
    settings = entry.rule_settings or {}
    weights = {key: Decimal(value) for key, value in settings.get("weights", {}).items() if key.isdigit()}
    total = sum(weights.values(), Decimal(0))
    share = weights.get(str(household_id), Decimal(0)) / total if total else Decimal(0)
    cooperative = _cooperative_of(entry)
    return [Sentence(
        "Share dividend of %(cooperative)s for %(start)s to %(end)s: %(rate)s of the distributable profit of "
        "%(profit)s is shared by members' shares; yours are %(share)s of them: %(amount)s",
        {"cooperative": cooperative, "start": Day(date.fromisoformat(settings["period_start"]), full=True),
         "end": Day(date.fromisoformat(settings["period_end"]), full=True), "rate": Rate(Decimal(settings.get("dividend_rate", 0))),
         "profit": Money(settings.get("distributable_profit_fen", 0)),
         "share": Rate(share.quantize(Decimal("0.0001"))), "amount": Money(fen)})]


def _cooperative_of(entry):
    settings = entry.rule_settings or {}
    cooperative_id = settings.get("cooperative_id")
    if cooperative_id is None and settings.get("dividend_preview_id"):
        cooperative_id = db.session.get(DividendPreview, settings["dividend_preview_id"]).cooperative_id
    cooperative = db.session.get(Cooperative, cooperative_id) if cooperative_id else None
    return Both(cooperative.name_zh, cooperative.name_en) if cooperative else Both("合作社", "the cooperative")


def fixed_return(entry, household_id, fen):
    settings = entry.rule_settings or {}
    investment = db.session.get(FixedReturnInvestment, settings.get("investment_id"))
    return [Sentence(
        "Fixed return for %(period)s on %(investment)s: %(principal)s invested at %(rate)s a year, your part by "
        "holding: %(amount)s",
        {"period": settings.get("period", ""), "investment": Both(investment.name_zh, investment.name_en),
         "principal": Money(settings.get("principal_fen", investment.principal_fen)),
         "rate": Rate(Decimal(settings.get("annual_rate", investment.annual_rate))), "amount": Money(fen)})]


AID_PURPOSES = {"illness": Both("大病救助", "serious illness"), "hardship": Both("临时困难救助", "temporary hardship"),
                "education": Both("助学", "education")}


def love_fund_aid(entry, household_id, fen):
    purpose = AID_PURPOSES.get((entry.rule_settings or {}).get("purpose"), Both("救助", "aid"))
    return [Sentence("Aid from the town's love fund (%(purpose)s), granted on %(day)s: %(amount)s",
                     {"purpose": purpose, "day": Day(local_day(entry.created_at)), "amount": Money(fen)})]


def earnings_payment(entry, household_id, fen):
    order = db.session.get(Order, entry.order_id)
    items = [Both(f"{line.title_zh}×{line.quantity}", f"{line.title_en or line.title_zh} × {line.quantity}")
             for line in order.lines]
    return [Sentence("On %(day)s daily goods (%(items)s) were paid from your earnings: %(amount)s",
                     {"day": Day(local_day(entry.created_at)), "items": _Listing(items), "amount": Money(-fen)})]


@dataclass(frozen=True)
class _Listing:
    items: list

    def __str__(self):
        return (", " if _english() else "、").join(str(item) for item in self.items)


def _payout_method(entry):
    item = db.session.get(PayoutItem, _payout_item_id(entry))
    return item, Both("银行转账", "bank transfer") if item and item.batch.method == "bank" else Both("现金", "cash")


def _payout_item_id(entry):
    if entry.payout_item_id:
        return entry.payout_item_id
    return int(entry.idempotency_key.split(":")[1])  # payout:{item}:approved


def payout_approved(entry, household_id, fen):
    _item, method = _payout_method(entry)
    return [Sentence("On %(day)s %(amount)s was paid out to you by %(method)s",
                     {"day": Day(local_day(entry.created_at)), "amount": Money(-fen), "method": method})]


def payout_failed(entry, household_id, fen):
    item, method = _payout_method(entry)
    return [Sentence("The %(method)s payout did not reach you, so it is back in your balance: %(amount)s",
                     {"method": method, "amount": Money(fen)})]


def floor_paid_by_cooperative(entry, household_id, fen):
    lot = db.session.get(SupplyLot, entry.lot_id)
    product, unit = _product(lot.product_id)
    return [Sentence("On %(day)s the cooperative paid you itself the floor money for the %(product)s you delivered "
                     "on %(delivered)s: %(amount)s",
                     {"day": Day(local_day(entry.created_at)), "product": product, "delivered": Day(lot.received_on),
                      "amount": Money(-fen)})]


def refund(entry, household_id, fen):
    settings = entry.rule_settings or {}
    line = db.session.get(OrderLine, entry.order_line_id) if entry.order_line_id else None
    product = Both(line.title_zh, line.title_en) if line else Both("订单", "the order")
    figures = {"product": product, "day": Day(local_day(entry.created_at)), "amount": Money(abs(fen)),
               "refunded": Money(settings.get("amount_fen", 0))}
    if settings.get("refund_failed"):
        return [Sentence("The buyer's refund for %(product)s failed, so what was taken back for it is yours again: "
                         "%(amount)s", figures)]
    if settings.get("reverses_rule") == names.COOPERATIVE_SALE:
        return [Sentence("On %(day)s a buyer was refunded %(refunded)s for %(product)s; the profit return you had "
                         "on it is taken back: %(amount)s", figures)]
    return [Sentence("On %(day)s a buyer was refunded %(refunded)s for %(product)s you sold; your part of it is "
                     "taken back: %(amount)s", figures)]


def claim(entry, household_id, fen):
    """An after-sales claim decided on goods the household sold: only its own part, when at fault."""
    line = db.session.get(OrderLine, entry.order_line_id) if entry.order_line_id else None
    product = Both(line.title_zh, line.title_en) if line else Both("订单", "the order")
    return [Sentence("On %(day)s a buyer's after-sales claim on %(product)s was decided and your part of the "
                     "refund is taken back: %(amount)s",
                     {"product": product, "day": Day(local_day(entry.created_at)), "amount": Money(abs(fen))})]


def _plain(entry, fen):
    """What moved and when: for entries that never touch a household's account (and any whose cause is gone)."""
    return Sentence(OTHER_RULES.get(entry.rule, "On %(day)s: %(amount)s"),
                    {"day": Day(local_day(entry.created_at)), "amount": Money(abs(fen))})


OTHER_RULES = {
    names.PAYMENT_RECEIVED: "On %(day)s a buyer paid an order: %(amount)s",
    names.CASH_PAYMENT: "On %(day)s an order was paid in cash at pickup: %(amount)s",
    names.TRANSFER_PAYMENT: "On %(day)s an organisation paid an order by company transfer: %(amount)s",
    names.PRESALE_PAYMENT: "On %(day)s a buyer paid for a pre-order, held until the harvest: %(amount)s",
    names.PRESALE_FILL: "On %(day)s a pre-order was filled from the harvest and its money paid the order: %(amount)s",
    names.PRESALE_REFUND: "On %(day)s a pre-order's payment was refunded to the buyer: %(amount)s",
    names.PRESALE_FORFEIT: "On %(day)s a pre-order's deposit was forfeited to the cooperative: %(amount)s",
    names.SUPPLIER_SALE: "On %(day)s daily goods were sold for a supplier: %(amount)s",
    names.SHIPPING: "On %(day)s shipping was paid with an order: %(amount)s",
    names.LOVE_FUND_DONATION: "On %(day)s a buyer rounded up an order for the love fund: %(amount)s",
    names.PAYMENT_FEE: "On %(day)s the payment provider charged its fee, borne by the platform: %(amount)s",
    names.REFUND_PAID: "On %(day)s money was refunded to a buyer: %(amount)s",
    names.STORE_CREDIT_ISSUED: "On %(day)s money was refunded to a buyer as store credit: %(amount)s",
    names.STORE_CREDIT_SPENT: "On %(day)s a buyer paid an order with store credit: %(amount)s",
    names.TRANSFER_REFUND_OWED: "On %(day)s a refund became owed to an organisation, to go back by bank transfer: "
                                "%(amount)s",
    names.TRANSFER_REFUND_PAID: "On %(day)s a refund was paid back to an organisation by bank transfer: %(amount)s",
    names.TRANSFER_REFUND_DEDUCTED: "On %(day)s a refund was deducted from an organisation's company transfer: "
                                    "%(amount)s",
    names.REFUND_FAILED: "On %(day)s a refund failed at the payment provider and the money stayed: %(amount)s",
    names.PAYOUT_PAID: "On %(day)s the bank confirmed a payout: %(amount)s",
    names.STRIPE_PAYOUT: "On %(day)s the payment provider paid the platform's bank: %(amount)s",
    names.FIXED_RETURN_RECEIVED: "On %(day)s the company paid a fixed return: %(amount)s",
    names.LOVE_FUND_GIFT: "On %(day)s a gift to the love fund was recorded: %(amount)s",
    names.COOPERATIVE_DEPOSIT: "On %(day)s a cooperative paid money in to fund its floor purchases: %(amount)s",
}

HOUSEHOLD_TEMPLATES = {
    names.FLOOR_PURCHASE: floor_purchase,
    names.COOPERATIVE_SALE: profit_return,
    names.DIRECT_SALE: direct_sale,
    names.DIVIDEND: dividend,
    names.FIXED_RETURN: fixed_return,
    names.LOVE_FUND_AID: love_fund_aid,
    names.EARNINGS_PAYMENT: earnings_payment,
    names.PAYOUT_APPROVED: payout_approved,
    names.PAYOUT_FAILED: payout_failed,
    names.FLOOR_PAID_BY_COOPERATIVE: floor_paid_by_cooperative,
    names.REFUND: refund,
    names.CLAIM: claim,
}


# What each household template reads besides the entry's settings: without it, the plain sentence.
NEEDS = {names.FLOOR_PURCHASE: "lot_id", names.FLOOR_PAID_BY_COOPERATIVE: "lot_id",
         names.COOPERATIVE_SALE: "order_line_id", names.DIRECT_SALE: "order_line_id",
         names.EARNINGS_PAYMENT: "order_id"}


def entry_sentences(entry, household_id=None, fen=0):
    """The sentences explaining `entry` to household `household_id`, whose account it moved by `fen`
    (credit positive); for an entry that touches no household, one sentence of what moved."""
    template = HOUSEHOLD_TEMPLATES.get(entry.rule)
    if template is None or household_id is None or (entry.rule in NEEDS and getattr(entry, NEEDS[entry.rule]) is None):
        return [_plain(entry, fen or sum(p.amount_fen for p in entry.postings if p.amount_fen > 0))]
    return template(entry, household_id, fen)


def when(moment):
    """A stored UTC timestamp as the district's day, for a statement's date column."""
    return local_day(moment) if isinstance(moment, datetime) else moment
