"""Small builders for ledger tests: a district, its sellers, lots, paid orders and refunds."""
import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal

from marketplace.catalog.models import Category, Product, Seller, Variant
from marketplace.coops.models import Cooperative, Membership, ShareHolding, SharingRule
from marketplace.coops.services import record_supply_lot
from marketplace.crypto import blind_index, mask
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.rules.names import COOPERATIVE_DEPOSIT
from marketplace.ledger.services import account_id, post_entry
from marketplace.orders.fulfilment import open_shipments
from marketplace.orders.models import Order, OrderLine
from marketplace.orders.settlement import settle_order_now
from marketplace.payments.models import Payment, Refund, RefundLine
from marketplace.payouts.models import CooperativeDeposit, PayoutBatch, PayoutItem
from marketplace.people.models import Household, Supplier, User
from marketplace.places.models import ServicePoint, Town, Village

_numbers = itertools.count(1)


def number():
    return next(_numbers)


class District:
    """Builds rows straight into the session and commits; every method returns what it made."""

    def __init__(self):
        n = number()
        self.town = self.add(Town(slug=f"town-{n}", name_zh=f"镇{n}", name_en=f"Town {n}"))
        self.village = self.village_in(self.town, poor=True)
        self.category = self.add(Category(slug=f"cat-{n}", name_zh="杂粮", name_en="Grains"))
        db.session.commit()

    def add(self, row):
        db.session.add(row)
        db.session.flush()
        return row

    def village_in(self, town, poor=False):
        n = number()
        return self.add(Village(town_id=town.id, name_zh=f"村{n}", name_en=f"Village {n}", is_poor_village=poor))

    def household(self, verified_poor=True, consent=True, village=None):
        n = number()
        registry = f"370302{n:010d}"
        return self.add(Household(
            village_id=(village or self.village).id, head_name=f"户主{n}", registry_no=registry,
            registry_no_index=blind_index(registry), registry_no_masked=mask(registry),
            is_verified_poor=verified_poor, consent_public=consent,
            display_label_zh=f"家{n} · 李里村", display_label_en=f"Family {n}, Lili"))

    def cooperative(self, profit_return_rate="0.30", dividend_rate="0.50", members=(), effective_at=None):
        n = number()
        coop = self.add(Cooperative(town_id=self.town.id, registration_no=f"REG-{n}", name_zh=f"合作社{n}",
                                    name_en=f"Cooperative {n}"))
        self.add(SharingRule(cooperative_id=coop.id, profit_return_rate=Decimal(profit_return_rate),
                             dividend_rate=Decimal(dividend_rate), weight_land=Decimal(1), weight_cash=Decimal("0.5"),
                             effective_at=effective_at or datetime(2020, 1, 1)))
        for household, land in members:
            self.member(coop, household, land)
        return coop

    def member(self, coop, household, land=1):
        membership = self.add(Membership(cooperative_id=coop.id, household_id=household.id, joined_on=date(2020, 1, 1)))
        self.add(ShareHolding(membership_id=membership.id, kind="land", quantity=Decimal(land)))
        return membership

    def supplier(self, commission_rate="0"):
        n = number()
        supplier = self.add(Supplier(name_zh=f"超市{n}", name_en=f"Shop {n}", town_id=self.town.id,
                                     commission_rate=Decimal(commission_rate)))
        self.supplier_of_district = getattr(self, "supplier_of_district", None) or supplier
        return supplier

    def variant(self, owner, price_fen, floor_price_fen=None, lot_units=1):
        """A product with one variant, sold by a Cooperative, Household or Supplier."""
        n = number()
        kind = {Cooperative: "cooperative", Household: "household", Supplier: "supplier"}[type(owner)]
        seller = db.session.query(Seller).filter_by(**{f"{kind}_id": owner.id}).one_or_none()
        seller = seller or self.add(Seller(kind=kind, **{f"{kind}_id": owner.id}))
        product = self.add(Product(slug=f"p-{n}", seller_id=seller.id, category_id=self.category.id,
                                   title_zh=f"产品{n}", title_en=f"Product {n}", floor_price_fen=floor_price_fen,
                                   direction="downlink" if kind == "supplier" else "uplink"))
        variant = self.add(Variant(product_id=product.id, sku=f"SKU-{n}", name_zh="规格", name_en="Variant",
                                   price_fen=price_fen, stock_available=10_000, lot_units=lot_units))
        db.session.commit()
        return variant

    def lot(self, variant, household, quantity, received_on=None):
        product = db.session.get(Product, variant.product_id)
        return record_supply_lot(cooperative_id=product.seller.cooperative_id, product_id=product.id,
                                 household_id=household.id, quantity=quantity,
                                 idempotency_token=f"lot-{number()}", received_on=received_on or date(2026, 1, 1))

    def order(self, lines, shipping_fen=0, donation_fen=0, household=None, status="paid", paid_at=None):
        """An order of [(variant, quantity)]; `paid_at` as when Stripe said it succeeded."""
        n = number()
        subtotal = sum(variant.price_fen * quantity for variant, quantity in lines)
        order = self.add(Order(public_no=f"NO{n:08d}", status=status, shipping_fen=shipping_fen,
                               subtotal_fen=subtotal, total_fen=subtotal + shipping_fen + donation_fen,
                               donation_fen=donation_fen, donation_town_id=self.town.id if donation_fen else None,
                               household_id=household.id if household else None,
                               direction="downlink" if household else "uplink",
                               paid_at=paid_at or (utcnow() if status != "pending_payment" else None)))
        for variant, quantity in lines:
            product = db.session.get(Product, variant.product_id)
            self.add(OrderLine(order_id=order.id, variant_id=variant.id, product_id=product.id,
                               seller_id=product.seller_id, seller_kind=product.seller.kind, title_zh=product.title_zh,
                               title_en=product.title_en, unit=variant.unit, lot_units=variant.lot_units,
                               unit_price_fen=variant.price_fen, quantity=quantity,
                               line_total_fen=variant.price_fen * quantity))
        open_shipments(order)
        db.session.commit()
        return order

    def fund(self, coop, amount_fen):
        """The cooperative deposited `amount_fen` with the platform (recorded and approved by two staff
        members): its floor money is funded that far."""
        maker, checker = (self.user("town_staff", town_id=self.town.id) for _ in range(2))
        deposit = self.add(CooperativeDeposit(cooperative_id=coop.id, amount_fen=amount_fen,
                                              bank_reference=f"TEST-{number()}", status="approved",
                                              recorded_by_id=maker.id, approved_by_id=checker.id, approved_at=utcnow()))
        post_entry(f"deposit:{deposit.id}", COOPERATIVE_DEPOSIT,
                   [(account_id("bank"), amount_fen), (account_id("cooperative_deposit", "cooperative", coop.id), -amount_fen)],
                   rule_settings={"cooperative_id": coop.id, "amount_fen": amount_fen})
        db.session.commit()

    def settle(self, order):
        """Deliver and settle every shipment of `order` now: its credits become available."""
        settle_order_now(order.id)
        db.session.commit()

    def payment(self, order, fee_fen=0, status="succeeded", succeeded_at=None):
        payment = self.add(Payment(order_id=order.id, stripe_payment_intent_id=f"pi_{number()}",
                                   amount_fen=order.total_fen, status=status, fee_fen=fee_fen,
                                   succeeded_at=succeeded_at or order.paid_at))
        db.session.commit()
        return payment

    def paid_order(self, lines, fee_fen=0, **kwargs):
        order = self.order(lines, **kwargs)
        return order, self.payment(order, fee_fen=fee_fen)

    def refund(self, order, quantities, extra_fen=0, restock=False):
        """A refund of {line: quantity} at the line price, plus `extra_fen` of shipping/round-up."""
        payment = db.session.query(Payment).filter_by(order_id=order.id).one()
        amount = sum(line.unit_price_fen * quantity for line, quantity in quantities.items()) + extra_fen
        refund = self.add(Refund(order_id=order.id, payment_id=payment.id, stripe_refund_id=f"re_{number()}",
                                 amount_fen=amount, status="succeeded", restock=restock))
        for line, quantity in quantities.items():
            self.add(RefundLine(refund_id=refund.id, order_line_id=line.id, quantity=quantity,
                                amount_fen=line.unit_price_fen * quantity))
            line.refunded_quantity += quantity
            line.refunded_fen += line.unit_price_fen * quantity
        order.refunded_fen += amount
        order.status = "refunded" if order.refunded_fen == order.total_fen else "partially_refunded"
        db.session.commit()
        return refund

    def user(self, role, **scope):
        n = number()
        user = User(email=f"u{n}@test.cn", name=f"User {n}", role=role, **scope)
        user.set_password("pw-test-1234")
        return self.add(user)

    def payout_item(self, household=None, supplier=None, amount_fen=1_000):
        """An item of an approved batch (maker and checker differ) paying a household or a supplier."""
        maker, checker = (self.user("town_staff", town_id=self.town.id) for _ in range(2))
        batch = self.add(PayoutBatch(town_id=self.town.id, method="bank", created_by_id=maker.id,
                                     approved_by_id=checker.id, status="approved"))
        item = self.add(PayoutItem(batch_id=batch.id, household_id=household.id if household else None,
                                   supplier_id=supplier.id if supplier else None, amount_fen=amount_fen))
        db.session.commit()
        return item

    def agent_for(self, village=None):
        point = self.add(ServicePoint(village_id=(village or self.village).id, name_zh="服务站", name_en="Point"))
        return self.user("agent", service_point_id=point.id)


def days_ago(days):
    return utcnow() - timedelta(days=days)
