from decimal import Decimal

from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.coops.models import Membership, ShareChange, ShareHolding
from marketplace.extensions import db
from tests.coops.conftest import make_paid_order, pay_and_attribute


def test_a_share_change_is_kept_in_the_history_with_who_made_it(app, client, auth, lili):
    with app.app_context():
        membership_id = db.session.scalar(select(Membership.id).filter_by(household_id=lili.household_id,
                                                                         cooperative_id=lili.cooperative_id))
    auth.login_as("coop@demo.cn")
    response = client.post(f"/coop/members/{membership_id}", data={"kind": "fund", "quantity": "2.5", "note": "扶贫资金折股"})
    assert response.status_code == 303
    with app.app_context():
        holding = db.session.scalar(select(ShareHolding).filter_by(membership_id=membership_id, kind="fund"))
        change = db.session.scalar(select(ShareChange).filter_by(membership_id=membership_id))
        assert holding.quantity == Decimal("2.5")
        assert (change.old_quantity, change.new_quantity, change.changed_by_id) == (0, Decimal("2.5"), lili.manager_id)
    assert "扶贫资金折股" in client.get(f"/coop/members/{membership_id}").get_data(as_text=True)
    assert client.post(f"/coop/members/{membership_id}", data={"kind": "fund", "quantity": "-1"}).status_code == 422


def test_the_dashboard_shows_sales_credits_by_mechanism_and_low_stock(app, client, auth, lili):
    with app.app_context():
        pay_and_attribute(make_paid_order("GRAIN-1J", quantity=10))
        db.session.get(Variant, lili.variant_id).stock_available = 4
        db.session.commit()
    auth.login_as("coop@demo.cn")
    page = client.get("/coop/?lang=en").get_data(as_text=True)
    assert "Lili minor grains 1 jin bag" in page and "¥80.00" in page  # 10 × ¥8 this month
    assert "Floor purchase" in page and "Profit return" in page
    assert "4 left" in page
    assert "<svg" in page
