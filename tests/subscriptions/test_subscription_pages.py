"""The subscription pages through the Flask client, against the local Stripe stand-in: subscribe,
save the test card, skip and pause; bad input refused in Chinese with nothing changed; another
buyer's subscription does not exist."""
import re

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.people.models import User
from marketplace.subscriptions.models import Subscription, SubscriptionRenewal
from tests.coops.conftest import lili  # noqa: F401

FORM = {"interval": "monthly", "quantity": "1", "recipient_name": "王女士", "recipient_phone": "13800000000",
        "province": "110000", "city": "110100", "district": "110105", "address_detail": "建国路 1 号"}


@pytest.fixture
def millet(app, lili):  # noqa: F811 (the demo district seeded)
    with app.app_context():
        variant_id = db.session.scalar(select(Variant.id).where(Variant.sku == "MILLET-2J"))
        other = User(email="other-buyer@demo.cn", name="另一位买家", role="buyer")
        other.set_password("demo1234")
        db.session.add(other)
        db.session.commit()
        db.session.remove()
    return variant_id


def count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Subscription.id)))


def test_subscribe_save_the_card_skip_and_pause_through_the_pages(app, client, auth, millet, stripe_server):
    auth.login_as("buyer@demo.cn")
    response = client.post(f"/subscribe/{millet}", data=FORM)
    assert response.status_code == 303
    subscription_id = int(re.search(r"/subscriptions/(\d+)/card", response.location).group(1))
    assert "测试卡 4242" in client.get(f"/subscriptions/{subscription_id}/card").get_data(as_text=True)
    assert client.post(f"/subscriptions/{subscription_id}/card/test-card",
                       data={"card": "4242424242424242"}).status_code == 303
    page = client.get(f"/subscriptions/{subscription_id}").get_data(as_text=True)
    assert "进行中" in page and "已付款并下单" in page and "尾号 4242" in page
    client.post(f"/subscriptions/{subscription_id}/skip")
    page = client.get(f"/subscriptions/{subscription_id}").get_data(as_text=True)
    assert "已跳过下次配送，不会为此扣款。" in page and "您已跳过，未扣款" in page
    client.post(f"/subscriptions/{subscription_id}/pause")
    assert "已暂停" in client.get("/account/subscriptions").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Subscription, subscription_id).status == "paused"
        assert [r.status for r in db.session.scalars(select(SubscriptionRenewal).order_by(
            SubscriptionRenewal.period_no))] == ["paid", "skipped"]


@pytest.mark.parametrize("change, message", [
    ({"interval": "weekly"}, "请选择每月或每两周配送一次。"),
    ({"quantity": "51"}, "每次配送请选择 1 到 50 份。"),
    ({"quantity": "0"}, "每次配送请选择 1 到 50 份。"),
    ({"quantity": "-2"}, "每次配送请选择 1 到 50 份。"),
    ({"recipient_phone": "打电话"}, "请填写能联系到的手机号码。"),
])
def test_bad_subscriptions_are_refused_in_chinese_and_nothing_is_made(app, client, auth, millet, change, message):
    auth.login_as("buyer@demo.cn")
    before = count(app)
    response = client.post(f"/subscribe/{millet}", data={**FORM, **change})
    assert response.status_code in (400, 422)
    assert message.rstrip("。") in response.get_data(as_text=True)
    assert count(app) == before


def test_another_buyers_subscription_does_not_exist_for_them(app, client, auth, millet):
    auth.login_as("buyer@demo.cn")
    with app.app_context():
        subscription_id = db.session.scalar(select(Subscription.id).join(User, User.id == Subscription.buyer_id)
                                            .where(User.email == "buyer@demo.cn"))  # the demo's box
        before = db.session.get(Subscription, subscription_id).status
    auth.login_as("other-buyer@demo.cn")
    for path in ("", "/card"):
        assert client.get(f"/subscriptions/{subscription_id}{path}").status_code == 404
    for action in ("skip", "pause", "resume", "cancel", "card/test-card"):
        assert client.post(f"/subscriptions/{subscription_id}/{action}").status_code == 404
    with app.app_context():
        assert db.session.get(Subscription, subscription_id).status == before
        assert not db.session.scalar(select(func.count(SubscriptionRenewal.id)))


def test_a_subscription_takes_its_address_by_region_and_its_renewal_order_keeps_it(app, client, auth,
                                                                                  stripe_server, millet):
    from marketplace.orders.models import Order

    auth.login_as("buyer@demo.cn")
    before = count(app)
    bad = client.post(f"/subscribe/{millet}", data={**FORM, "district": "999999"})
    assert bad.status_code in (400, 422) and "请选择所选城市下的区县" in bad.get_data(as_text=True)
    assert count(app) == before  # nothing made
    response = client.post(f"/subscribe/{millet}", data=FORM)
    assert response.status_code == 303
    subscription_id = int(re.search(r"/subscriptions/(\d+)/card", response.location).group(1))
    client.post(f"/subscriptions/{subscription_id}/card/test-card", data={"card": "4242424242424242"})
    with app.app_context():
        subscription = db.session.get(Subscription, subscription_id)
        assert (subscription.region_code, subscription.address) == ("110105", "北京市朝阳区建国路 1 号")
        renewal = db.session.scalar(select(SubscriptionRenewal).where(
            SubscriptionRenewal.subscription_id == subscription_id))
        order = db.session.get(Order, renewal.order_id)
        assert (order.region_code, order.address_detail, order.status) == ("110105", "建国路 1 号", "paid")


def test_a_subscription_box_may_be_picked_up_at_a_village_service_point(app, client, auth, stripe_server, millet):
    from marketplace.orders.models import Order
    from marketplace.places.models import ServicePoint

    with app.app_context():
        point_id = db.session.scalar(select(ServicePoint.id).order_by(ServicePoint.id))
    auth.login_as("buyer@demo.cn")
    pickup = {"interval": "monthly", "quantity": "1", "recipient_name": "王女士", "recipient_phone": "13800000000",
              "delivery_kind": "pickup", "service_point_id": str(point_id)}
    response = client.post(f"/subscribe/{millet}", data=pickup)
    assert response.status_code == 303
    subscription_id = int(re.search(r"/subscriptions/(\d+)/card", response.location).group(1))
    client.post(f"/subscriptions/{subscription_id}/card/test-card", data={"card": "4242424242424242"})
    assert "自提" in client.get(f"/subscriptions/{subscription_id}").get_data(as_text=True)
    with app.app_context():
        renewal = db.session.scalar(select(SubscriptionRenewal).where(
            SubscriptionRenewal.subscription_id == subscription_id))
        order = db.session.get(Order, renewal.order_id)
        assert (order.delivery_kind, order.service_point_id, order.status) == ("pickup", point_id, "paid")
        assert order.pickup_code and order.shipping_fen == 0
