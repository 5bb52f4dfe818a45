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
    assert "Lili minor grains" in page and "¥80.00" in page  # 10 × ¥8 this month
    assert "Floor purchase" in page and "Profit return" in page
    assert "4 left" in page
    assert "<svg" in page


def test_a_household_of_the_town_is_admitted_once(app, client, auth, lili):
    from marketplace.coops.models import Cooperative
    from marketplace.people.models import Household
    from marketplace.places.models import Village

    with app.app_context():
        coop = db.session.scalar(select(Cooperative).filter_by(registration_no="DEMO-xiangquan-pears"))
        members = select(Membership.household_id).where(Membership.cooperative_id == coop.id)
        household_id = db.session.scalar(select(Household.id).join(Village)
                                         .where(Village.town_id == coop.town_id, Household.id.not_in(members)))
    auth.login_as("coop2@demo.cn")
    assert client.post("/coop/members", data={"household_id": household_id}).status_code == 303
    assert client.post("/coop/members", data={"household_id": household_id}).status_code == 422
    assert client.post("/coop/members", data={"household_id": lili.household_id}).status_code == 422  # another town
    with app.app_context():
        assert db.session.query(Membership).filter_by(cooperative_id=coop.id, household_id=household_id).count() == 1
        assert db.session.query(Membership).filter_by(cooperative_id=coop.id, household_id=lili.household_id).count() == 0
