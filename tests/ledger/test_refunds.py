"""Rule 8: refunds reverse, pro rata, what the refunded lines credited; the floor purchase stays."""
import pytest

from marketplace.catalog.models import SupplyLot
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.ledger.errors import NotReady
from marketplace.ledger.models import JournalEntry, LotAllocation
from marketplace.ledger.services import account_id, balance_fen, household_account, owed_to_fen


def credited(household):
    return owed_to_fen(household_account(household.id))


@pytest.fixture
def grain_sale(district):
    """The Lili example sold, 100 斤 at 8元 with a 30 % return, plus a 10元 shipping and 2元 round-up."""
    lili = district.household()
    coop = district.cooperative(profit_return_rate="0.30", members=[(lili, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    lot = district.lot(grains, lili, 100)
    order, payment = district.paid_order([(grains, 100)], shipping_fen=1_000, donation_fen=200, fee_fen=300)
    attribute_payment(payment.id)
    return district, lili, coop, lot, order


def test_a_whole_refund_takes_back_the_profit_return_but_not_the_floor_purchase(grain_sale):
    district, lili, coop, _lot, order = grain_sale
    refund = district.refund(order, {order.lines[0]: 100}, extra_fen=1_200)
    attribute_refund(refund.id)
    assert credited(lili) == 500_00
    assert owed_to_fen(account_id("cooperative_revenue", "cooperative", coop.id)) == 0
    assert owed_to_fen(account_id("shipping")) == 0
    assert owed_to_fen(account_id("love_fund", "town", district.town.id)) == 0
    assert balance_fen(account_id("sales_pending")) == 0
    assert balance_fen(account_id("stripe_receivable")) == -300  # the fee is not given back by Stripe


def test_a_partial_refund_reverses_pro_rata(grain_sale):
    district, lili, coop, _lot, order = grain_sale
    refund = district.refund(order, {order.lines[0]: 25})
    attribute_refund(refund.id)
    assert credited(lili) == 500_00 + 90_00 * 3 // 4
    assert owed_to_fen(account_id("cooperative_revenue", "cooperative", coop.id)) == (80_000 - 9_000) * 3 // 4
    assert owed_to_fen(account_id("shipping")) == 1_000


def test_a_line_refunded_in_pieces_in_any_order_ends_where_one_whole_refund_would(district):
    payee = district.household(verified_poor=False)
    jam = district.variant(payee, price_fen=333)
    order, payment = district.paid_order([(jam, 7)])
    attribute_payment(payment.id)
    refunds = [district.refund(order, {order.lines[0]: quantity}) for quantity in (3, 1, 3)]
    for refund in reversed(refunds):
        attribute_refund(refund.id)
    assert credited(payee) == 0
    assert owed_to_fen(account_id("platform_fees")) == 0


def test_refunding_twice_posts_once(grain_sale):
    district, lili, _coop, _lot, order = grain_sale
    refund = district.refund(order, {order.lines[0]: 10})
    attribute_refund(refund.id)
    attribute_refund(refund.id)
    assert db.session.query(JournalEntry).filter_by(refund_id=refund.id).count() == 2
    assert credited(lili) == 500_00 + 90_00 - 9_00


def test_a_refund_before_its_payment_is_attributed_waits(district):
    poor = district.household()
    eggs = district.variant(poor, price_fen=1_000)
    order, payment = district.paid_order([(eggs, 2)])
    refund = district.refund(order, {order.lines[0]: 1})
    with pytest.raises(NotReady):
        attribute_refund(refund.id)
    db.session.rollback()
    attribute_payment(payment.id)
    attribute_refund(refund.id)
    assert credited(poor) == 1_000


def test_returned_goods_go_back_to_their_lot(grain_sale):
    district, _lili, _coop, lot, order = grain_sale
    refund = district.refund(order, {order.lines[0]: 40}, restock=True)
    attribute_refund(refund.id)
    assert db.session.get(SupplyLot, lot.id).quantity_remaining == 40
    assert db.session.query(LotAllocation).one().returned_units == 40


def test_a_refund_larger_than_what_is_left_posts_nothing(grain_sale):
    district, lili, _coop, _lot, order = grain_sale
    refund = district.refund(order, {order.lines[0]: 10}, extra_fen=5_000)
    with pytest.raises(DomainError):
        attribute_refund(refund.id)
    db.session.rollback()
    assert db.session.query(JournalEntry).filter_by(refund_id=refund.id).count() == 0
    assert credited(lili) == 500_00 + 90_00
