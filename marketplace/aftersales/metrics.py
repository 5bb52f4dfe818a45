"""After-sales figures for the cooperative dashboard and the town portal.

- *Claim rate*: claims opened ÷ lines delivered, per product and per seller (a line counts once
  its shipment was delivered or settled).
- *Median time to decision*: from opening to the seller's or town staff's decision.
- *Cost by bearer*: from the ledger's claim entries — the carrier's receivable, the platform's
  loss, and the rest, which the seller bore (its reversed credits and what it covered).
- A seller with at least FLAG_MIN_CLAIMS claims and a claim rate of FLAG_RATE or more is flagged.
"""
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

from sqlalchemy import func, select

from marketplace.aftersales.models import Claim
from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import CLAIM
from marketplace.orders.fulfilment import seller_name
from marketplace.orders.models import OrderLine, Shipment

FLAG_MIN_CLAIMS = 3
FLAG_RATE = Decimal("0.10")


@dataclass(frozen=True)
class RateRow:
    key: int
    name_zh: str
    name_en: str
    delivered_lines: int
    claims: int
    flagged: bool = False

    @property
    def rate(self):
        return Decimal(self.claims) / self.delivered_lines if self.delivered_lines else Decimal(0)

    def name(self, locale="zh"):
        return self.name_en if str(locale).startswith("en") else self.name_zh


@dataclass(frozen=True)
class ClaimMetrics:
    by_seller: list
    by_product: list
    median_hours_to_decision: float | None
    cost_by_bearer: dict
    open_claims: int


def _delivered_lines(group_column, seller_ids):
    return dict(db.session.execute(
        select(group_column, func.count(OrderLine.id))
        .join(Shipment, (Shipment.order_id == OrderLine.order_id) & (Shipment.seller_id == OrderLine.seller_id)
              & Shipment.replaces_claim_id.is_(None))
        .where(OrderLine.seller_id.in_(seller_ids), Shipment.status.in_(("delivered", "settled")))
        .group_by(group_column)).all())


def _claims(group_column, seller_ids):
    return dict(db.session.execute(select(group_column, func.count(Claim.id)).where(Claim.seller_id.in_(seller_ids))
                                   .group_by(group_column)).all())


def cost_by_bearer(seller_ids):
    """{seller, carrier, platform: fen} the claim refunds of these sellers' lines cost each bearer."""
    amounts = db.session.execute(
        select(Account.kind, Account.owner_type, func.sum(Posting.amount_fen))
        .join(Posting, Posting.account_id == Account.id).join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .join(OrderLine, JournalEntry.order_line_id == OrderLine.id)
        .where(JournalEntry.rule == CLAIM, OrderLine.seller_id.in_(seller_ids))
        .group_by(Account.kind, Account.owner_type)).all()
    total = carrier = platform = 0
    for kind, owner_type, fen in amounts:
        fen = int(fen)
        if kind == "sales_pending":
            total -= fen
        elif kind == "claims_receivable" and owner_type == "":
            carrier += fen
        elif kind == "refund_losses":
            platform += fen
    return {"seller": total - carrier - platform, "carrier": carrier, "platform": platform}


def claim_metrics(seller_ids, locale="zh"):
    """The figures above for these sellers."""
    seller_ids = list(seller_ids)
    if not seller_ids:
        return ClaimMetrics([], [], None, {"seller": 0, "carrier": 0, "platform": 0}, 0)
    lines_by_seller = _delivered_lines(OrderLine.seller_id, seller_ids)
    claims_by_seller = _claims(Claim.seller_id, seller_ids)
    by_seller = []
    for seller in sorted(set(lines_by_seller) | set(claims_by_seller)):
        row = RateRow(seller, seller_name(seller, "zh"), seller_name(seller, "en"), lines_by_seller.get(seller, 0),
                      claims_by_seller.get(seller, 0))
        flagged = row.claims >= FLAG_MIN_CLAIMS and row.rate >= FLAG_RATE
        by_seller.append(RateRow(**{**row.__dict__, "flagged": flagged}))
    lines_by_product = _delivered_lines(OrderLine.product_id, seller_ids)
    claims_by_product = _claims(Claim.product_id, seller_ids)
    products = {product.id: product for product in db.session.scalars(
        select(Product).where(Product.id.in_(set(lines_by_product) | set(claims_by_product))))}
    by_product = [RateRow(product_id, products[product_id].title_zh, products[product_id].title_en,
                          lines_by_product.get(product_id, 0), claims_by_product.get(product_id, 0))
                  for product_id in sorted(products)]
    decided = db.session.execute(select(Claim.opened_at, Claim.decided_at).where(
        Claim.seller_id.in_(seller_ids), Claim.decided_at.is_not(None))).all()
    hours = [(decided_at - opened_at).total_seconds() / 3600 for opened_at, decided_at in decided]
    open_count = db.session.scalar(select(func.count(Claim.id)).where(
        Claim.seller_id.in_(seller_ids), Claim.status.in_(("awaiting_seller", "offered", "escalated"))))
    return ClaimMetrics(sorted(by_seller, key=lambda row: (-row.rate, row.key)),
                        sorted(by_product, key=lambda row: (-row.rate, row.key)),
                        round(median(hours), 1) if hours else None, cost_by_bearer(seller_ids), open_count)
