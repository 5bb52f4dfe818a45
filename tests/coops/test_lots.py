import threading

import pytest
from sqlalchemy import func, select

from marketplace.audit.models import AuditLog
from marketplace.catalog.models import SupplyLot, Variant
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import household_account, owed_to_fen


def lot_form(lili, token="tok-1", quantity=40, **extra):
    return {"token": token, "household_id": lili.household_id, "product_id": lili.product_id, "quantity": quantity,
            "grade": "一级", "received_on": "2026-11-20", "variant_id": 0, **extra}


def test_a_double_submitted_lot_is_recorded_once_and_credited_once(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    form = lot_form(lili, variant_id=lili.variant_id)
    first = client.post("/coop/lots/new", data=form)
    second = client.post("/coop/lots/new", data=form)
    assert first.status_code == second.status_code == 303
    with app.app_context():
        lots = db.session.scalars(select(SupplyLot).filter_by(idempotency_token="tok-1")).all()
        assert len(lots) == 1
        assert lots[0].floor_price_fen == 500 and lots[0].grade == "一级"
        entries = db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.lot_id == lots[0].id))
        assert entries == 1
        # 40 jin delivered, 1-jin bags: 40 more on sale, once.
        assert db.session.get(Variant, lili.variant_id).stock_available == 500 + 40


def test_the_floor_purchase_is_credited_to_the_household(app, client, auth, lili):
    with app.app_context():
        before = owed_to_fen(household_account(lili.household_id))
    auth.login_as("coop@demo.cn")
    client.post("/coop/lots/new", data=lot_form(lili, quantity=30))
    with app.app_context():
        assert owed_to_fen(household_account(lili.household_id)) - before == 30 * 500


def test_lots_are_listed_with_what_is_left(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    client.post("/coop/lots/new", data=lot_form(lili, quantity=77))
    with app.app_context():
        lot = db.session.scalar(select(SupplyLot).filter_by(idempotency_token="tok-1"))
        lot.quantity_remaining = 50
        db.session.commit()
    page = client.get("/coop/lots?lang=en").get_data(as_text=True)
    assert "50 of 77 left" in page


def test_a_bad_quantity_records_nothing(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    with app.app_context():
        lots_before = db.session.scalar(select(func.count(SupplyLot.id)))
    for quantity in (0, -5, "abc", 10**12):
        response = client.post("/coop/lots/new", data=lot_form(lili, token=f"bad-{quantity}", quantity=quantity))
        assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count(SupplyLot.id))) == lots_before


def test_a_household_that_is_not_a_member_cannot_deliver(app, client, auth, lili):
    from marketplace.coops.models import Membership
    from marketplace.people.models import Household

    with app.app_context():
        members = select(Membership.household_id).where(Membership.cooperative_id == lili.cooperative_id)
        outsider = db.session.scalar(select(Household.id).where(Household.id.not_in(members)))
    auth.login_as("coop@demo.cn")
    response = client.post("/coop/lots/new", data=lot_form(lili, household_id=outsider))
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(SupplyLot).filter_by(idempotency_token="tok-1")) is None


def test_an_agent_records_a_lot_on_behalf_of_a_household_and_the_audit_log_says_so(app, client, auth, lili):
    from marketplace.catalog.models import Product
    from marketplace.coops.models import Cooperative, Membership
    from marketplace.coops.scope import cooperative_seller_id
    from marketplace.people.models import User

    with app.app_context():
        coop = db.session.scalar(select(Cooperative).filter_by(registration_no="DEMO-xihe-ecommerce"))
        household_id = db.session.scalar(select(Membership.household_id).filter_by(cooperative_id=coop.id))
        product = Product(slug="beiping-millet", seller_id=cooperative_seller_id(coop.id), category_id=2,
                          title_zh="北坪小米", title_en="Beiping millet", floor_price_fen=450)
        db.session.add(product)
        db.session.commit()
        product_id, coop_id = product.id, coop.id
        agent_id = db.session.scalar(select(User.id).filter_by(email="agent@demo.cn"))
    auth.login_as("agent@demo.cn")
    response = client.post(f"/coop/on-behalf/{household_id}/lot", data={
        "token": "agent-1", "household_id": household_id, "product_id": product_id, "quantity": 12,
        "grade": "二级", "variant_id": 0})
    assert response.status_code == 303
    with app.app_context():
        lot = db.session.scalar(select(SupplyLot).filter_by(idempotency_token="agent-1"))
        assert (lot.cooperative_id, lot.household_id, lot.recorded_by_id) == (coop_id, household_id, agent_id)
        log = db.session.scalar(select(AuditLog).filter_by(action="lot.recorded", object_id=lot.id))
        assert (log.actor_id, log.on_behalf_of_household_id) == (agent_id, household_id)


def test_an_agent_cannot_act_for_a_household_of_another_village(app, client, auth, lili):
    auth.login_as("agent@demo.cn")
    # lili.household_id lives in 李里村; the demo agent serves 北坪村.
    assert client.get(f"/coop/on-behalf/{lili.household_id}/lot").status_code == 404
    response = client.post(f"/coop/on-behalf/{lili.household_id}/lot", data=lot_form(lili, token="agent-2"))
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(SupplyLot).filter_by(idempotency_token="agent-2")) is None


@pytest.mark.postgres
def test_two_submits_racing_with_one_token_record_one_lot(app, lili):
    from marketplace.coops.services import record_supply_lot

    barrier = threading.Barrier(2)
    lot_ids = []

    def submit():
        with app.app_context():
            barrier.wait()
            lot = record_supply_lot(lili.cooperative_id, lili.product_id, lili.household_id, 25, "race-token",
                                    actor_id=lili.manager_id)
            lot_ids.append(lot.id)
            db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lot_ids) == 2 and lot_ids[0] == lot_ids[1]
    with app.app_context():
        assert db.session.scalar(select(func.count(SupplyLot.id)).filter_by(idempotency_token="race-token")) == 1
        assert db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.lot_id == lot_ids[0])) == 1
