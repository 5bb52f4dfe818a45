"""The platform admin's page of an organisation's order: while it is unpaid on pay-after-acceptance
terms, some of its lines are refunded (the amount due shrinks) or the whole order is cancelled,
each asked twice (a review with the amount due before and after, then the confirmation). Every
refusal is a message on the page and changes nothing in the database."""
import re

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.organisations import transfers, unpaid_orders
from marketplace.payments.models import Refund
from tests.organisations.test_pay_after_acceptance import DAY, shipped_order, terms  # noqa: F401
from tests.organisations.test_transfers import approved_order
from tests.organisations.test_views import csrf, signed_in


@pytest.fixture(autouse=True)
def csrf_checked(app, monkeypatch):
    """The forms post the CSRF token the page gave them, as in production."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def fen(amount_fen):
    return f"¥{amount_fen / 100:,.2f}"


def page_url(requisition):
    return f"/admin/organisation-orders/{requisition.id}"


def two_line_order(inst):
    """10 units at ¥8.00 from the cooperative, 2 at ¥15.00 from a household: ¥110.00."""
    return approved_order(inst, [(inst.variant, 10), (inst.direct, 2)])


def line_of(order, variant):
    return next(line for line in order.lines if line.variant_id == variant.id)


def stock(variant):
    return db.session.scalar(select(Variant.stock_available).where(Variant.id == variant.id))


def state(order):
    """What a refused request must leave as it was."""
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    return (order.status, order.refunded_fen, tuple(line.refunded_quantity for line in order.lines),
            db.session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order.id)),
            db.session.scalar(select(func.sum(Variant.stock_available))))


def test_refunding_some_lines_is_reviewed_then_shrinks_the_amount_due(app, terms):
    requisition, order = two_line_order(terms)
    admin = signed_in(app, terms.admin)
    page = admin.get(page_url(requisition)).get_data(as_text=True)
    assert "付款前退回部分商品" in page and "取消整个订单" in page
    assert fen(order.total_fen) in page and requisition.transfer_reference in page
    direct, before = line_of(order, terms.direct), stock(terms.direct)
    form = {"csrf_token": csrf(page), f"qty-{direct.id}": "2", "refund-restock": "y", "refund-reason": "一箱破损"}

    review = admin.post(page_url(requisition) + "/refund", data=form)
    text = review.get_data(as_text=True)
    assert review.status_code == 200 and 'id="review"' in text
    assert fen(order.total_fen) in text and fen(order.total_fen - 3000) in text  # due before and after
    assert "是，退款 ¥30.00" in text
    db.session.expire_all()
    assert db.session.get(Order, order.id).refunded_fen == 0 and stock(terms.direct) == before  # only asked

    done = admin.post(page_url(requisition) + "/refund", data={**form, "confirmed": "1"})
    assert done.status_code == 303
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    refund = db.session.scalars(select(Refund).where(Refund.order_id == order.id)).one()
    assert (refund.status, refund.amount_fen, refund.reason, refund.restock) == ("deducted", 3000, "一箱破损", True)
    assert unpaid_orders.amount_due_fen(order) == order.total_fen - 3000
    assert line_of(order, terms.direct).refunded_quantity == 2
    assert stock(terms.direct) == before + 2
    page = admin.get(page_url(requisition)).get_data(as_text=True)
    assert "付款前退款 ¥30.00，该单位现应付 ¥80.00。" in page  # the flash
    amounts = re.search(r'id="amounts".*?</dl>', page, re.S).group(0)
    assert fen(3000) in amounts and fen(order.total_fen - 3000) in amounts  # deducted, due now
    assert "已从应付金额中扣除" in page and "一箱破损" in page
    assert "deducted" not in re.sub(r"<[^>]+>", "", page)  # no status code shown to people


def test_a_confirmation_sent_twice_refunds_once(app, terms):
    requisition, order = two_line_order(terms)
    admin = signed_in(app, terms.admin)
    line = line_of(order, terms.variant)
    form = {"csrf_token": csrf(admin.get(page_url(requisition)).get_data(as_text=True)), f"qty-{line.id}": "2",
            "refund-reason": "少发两袋"}
    review = admin.post(page_url(requisition) + "/refund", data=form).get_data(as_text=True)
    confirm = {**form, "confirmed": "1",
               "due_before": re.search(r'name="due_before" value="(\d+)"', review).group(1)}
    assert admin.post(page_url(requisition) + "/refund", data=confirm).status_code == 303
    again = admin.post(page_url(requisition) + "/refund", data=confirm, follow_redirects=True)
    assert "核对之后应付金额已有变化" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, order.id).refunded_fen == 2 * 800
    assert db.session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order.id)) == 1


def test_refunded_units_stay_off_sale_unless_asked(app, terms):
    requisition, order = two_line_order(terms)
    admin = signed_in(app, terms.admin)
    token = csrf(admin.get(page_url(requisition)).get_data(as_text=True))
    before = stock(terms.variant)
    line = line_of(order, terms.variant)
    response = admin.post(page_url(requisition) + "/refund", data={
        "csrf_token": token, f"qty-{line.id}": "3", "refund-reason": "少发三斤", "confirmed": "1"})
    assert response.status_code == 303
    db.session.expire_all()
    assert stock(terms.variant) == before
    assert db.session.get(Order, order.id).refunded_fen == 3 * 800


def test_cancelling_the_order_is_reviewed_then_leaves_nothing_due(app, terms):
    requisition, order, _shipment = shipped_order(terms, units=6)
    admin = signed_in(app, terms.admin)
    token = csrf(admin.get(page_url(requisition)).get_data(as_text=True))
    before = stock(terms.variant)
    form = {"csrf_token": token, "cancel-restock": "y", "cancel-reason": "货物整单退回"}
    review = admin.post(page_url(requisition) + "/cancel", data=form).get_data(as_text=True)
    assert "取消整个订单" in review and 'id="due-after"' in review and fen(0) in review
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "shipped"
    assert admin.post(page_url(requisition) + "/cancel", data={**form, "confirmed": "1"}).status_code == 303
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "cancelled" and order.paid_at is None
    assert stock(terms.variant) == before + 6
    assert db.session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order.id)) == 0
    page = admin.get(page_url(requisition)).get_data(as_text=True)
    assert "订单已在付款前取消" in page
    assert 'id="refund-lines"' not in page and 'id="cancel-order"' not in page  # nothing more to do


REFUSALS = {
    "units not a number": ("refund", lambda o, t: {f"qty-{line_of(o, t.variant).id}": "两箱"}, "请用整数填写"),
    "more units than ordered": ("refund", lambda o, t: {f"qty-{line_of(o, t.variant).id}": "11"},
                                "退款数量须在 1 到尚未退款的件数之间。"),
    "negative units": ("refund", lambda o, t: {f"qty-{line_of(o, t.variant).id}": "-1"}, "请用整数填写"),
    "no units at all": ("refund", lambda o, t: {f"qty-{line_of(o, t.variant).id}": "0"}, "请至少选择一件要退款的商品。"),
    "another order's line": ("refund", lambda o, t: {"qty-999999": "1"}, "这件商品不在该订单中。"),
    "every line": ("refund", lambda o, t: {f"qty-{line.id}": str(line.quantity) for line in o.lines},
                   "这已是剩余的全部商品：请改为取消订单。"),
    "an empty cancellation reason": ("cancel", lambda o, t: {"cancel-reason": "  "},
                                     "请说明取消订单的原因（不超过 200 个字符）。"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_refund_or_cancellation_says_why_and_changes_nothing(app, terms, case):
    action, fields, message = REFUSALS[case]
    requisition, order = two_line_order(terms)
    admin = signed_in(app, terms.admin)
    token = csrf(admin.get(page_url(requisition)).get_data(as_text=True))
    before = state(order)
    data = {"csrf_token": token, "refund-reason": "退货", "confirmed": "1", **fields(order, terms)}
    response = admin.post(f"{page_url(requisition)}/{action}", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert state(order) == before


def test_an_empty_refund_reason_is_asked_for_on_the_form(app, terms):
    requisition, order = two_line_order(terms)
    admin = signed_in(app, terms.admin)
    token = csrf(admin.get(page_url(requisition)).get_data(as_text=True))
    before = state(order)
    response = admin.post(page_url(requisition) + "/refund", data={
        "csrf_token": token, f"qty-{line_of(order, terms.variant).id}": "2", "refund-reason": "", "confirmed": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请说明退回这些商品的原因" in page and 'value="2"' in page  # the units typed are kept
    assert state(order) == before


def test_a_paid_order_offers_neither_and_a_forged_post_is_refused(app, terms):
    requisition, order = two_line_order(terms)
    transfers.record_transfer(terms.admin.id, DAY, order.total_fen, "一中", requisition.transfer_reference)
    admin = signed_in(app, terms.admin)
    page = admin.get(page_url(requisition)).get_data(as_text=True)
    assert 'id="refund-lines"' not in page and 'id="cancel-order"' not in page and "已付款" in page
    before = state(order)
    line = line_of(order, terms.variant)
    for action, data in (("refund", {f"qty-{line.id}": "1", "refund-reason": "伪造"}),
                         ("cancel", {"cancel-reason": "伪造"})):
        response = admin.post(f"{page_url(requisition)}/{action}", follow_redirects=True,
                              data={"csrf_token": csrf(page), "confirmed": "1", **data})
        assert "只有按“验收后付款”且尚未付款的订单才能这样处理。" in response.get_data(as_text=True)
        assert state(order) == before


def test_an_order_paid_first_is_refused_too(app, inst):
    requisition, order = two_line_order(inst)  # pay-first terms, awaiting its transfer
    admin = signed_in(app, inst.admin)
    page = admin.get(page_url(requisition)).get_data(as_text=True)
    assert 'id="cancel-order"' not in page
    before = state(order)
    response = admin.post(page_url(requisition) + "/cancel", follow_redirects=True,
                          data={"csrf_token": csrf(page), "cancel-reason": "伪造", "confirmed": "1"})
    assert "只有按“验收后付款”且尚未付款的订单才能这样处理。" in response.get_data(as_text=True)
    assert state(order) == before


def test_only_the_platform_admin_opens_the_page_or_changes_the_order(app, terms, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # refused for who they are, not for a token
    requisition, order = two_line_order(terms)
    before = state(order)
    line = line_of(order, terms.variant)
    town_staff = terms.district.user("town_staff", town_id=terms.district.town.id)
    db.session.commit()
    for person in (terms.finance, terms.approver, town_staff):
        client = signed_in(app, person)
        assert client.get(page_url(requisition)).status_code == 403
        assert client.post(page_url(requisition) + "/refund", data={
            f"qty-{line.id}": "1", "refund-reason": "退货", "confirmed": "1"}).status_code == 403
        assert client.post(page_url(requisition) + "/cancel", data={
            "cancel-reason": "退货", "confirmed": "1"}).status_code == 403
    assert state(order) == before


def test_a_missing_csrf_token_changes_nothing(app, terms):
    requisition, order = two_line_order(terms)
    before = state(order)
    response = signed_in(app, terms.admin).post(page_url(requisition) + "/cancel", data={
        "cancel-reason": "退货", "confirmed": "1"})
    assert response.status_code in (400, 422)
    assert state(order) == before


def test_the_page_reads_in_english_too(app, terms):
    requisition, _order = two_line_order(terms)
    admin = signed_in(app, terms.admin)
    page = admin.get(page_url(requisition) + "?lang=en").get_data(as_text=True)
    assert "Refund some items before payment" in page and "Cancel the whole order" in page
    assert "Amount due" in page


def test_the_forms_and_the_review_read_in_chinese_only(app, terms):
    """The sweep of every page opens the demo's paid order (no forms); the forms and their review here."""
    from tests.web.test_chinese_everywhere import latin_words

    requisition, order = two_line_order(terms)
    admin = signed_in(app, terms.admin)
    page = admin.get(page_url(requisition)).get_data(as_text=True)
    data = {word for line in order.lines for word in line.title_en.split()}  # the English side of the titles
    assert latin_words(page, data) == []
    line = line_of(order, terms.variant)
    review = admin.post(page_url(requisition) + "/refund", data={
        "csrf_token": csrf(page), f"qty-{line.id}": "2", "refund-reason": "少发"}).get_data(as_text=True)
    assert 'id="review"' in review and latin_words(review, data) == []
    review = admin.post(page_url(requisition) + "/cancel", data={
        "csrf_token": csrf(page), "cancel-reason": "整单退回"}).get_data(as_text=True)
    assert 'id="review"' in review and latin_words(review, data) == []
