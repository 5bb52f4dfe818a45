"""Cooperative and town staff operations, with the same scope as their portals."""
from sqlalchemy import select

from marketplace.coops.models import Membership
from marketplace.extensions import db
from marketplace.people.models import User

COOP, OTHER_COOP, STAFF, OTHER_TOWN_STAFF, BUYER = (
    "coop@demo.cn", "coop2@demo.cn", "town@demo.cn", "taihe@demo.cn", "buyer@demo.cn")


def test_a_cooperative_sees_its_listings_with_stock(api):
    listings = api.get("/coop/listings", as_=COOP).get_json()["items"]
    assert listings and all(listing["variants"] is not None for listing in listings)


def test_a_cooperatives_token_cannot_read_another_cooperatives_lots(api):
    mine, theirs = api.lot_of(COOP), api.lot_of(OTHER_COOP)
    assert api.get(f"/coop/lots/{mine}", as_=COOP).status_code == 200
    response = api.get(f"/coop/lots/{theirs}", as_=COOP)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert theirs not in [lot["id"] for lot in api.get("/coop/lots", query_string={"limit": 100}, as_=COOP).get_json()["items"]]


def test_other_roles_are_refused_the_cooperative_operations(api):
    for email in (BUYER, STAFF):
        response = api.get("/coop/lots", as_=email)
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"


def _lot_body(api):
    listing = next(item for item in api.get("/coop/listings", as_=COOP).get_json()["items"] if item["floor_price_fen"])
    with api.app.app_context():
        cooperative_id = db.session.scalar(select(User.cooperative_id).where(User.email == COOP))
        household_id = db.session.scalar(select(Membership.household_id).where(
            Membership.cooperative_id == cooperative_id, Membership.left_on.is_(None)).order_by(Membership.id))
    return {"product_id": listing["id"], "household_id": household_id, "quantity": 40, "grade": "一级"}


def test_recording_a_lot_twice_with_one_key_records_it_once(api):
    body = _lot_body(api)
    before = len(api.get("/coop/lots", query_string={"limit": 100}, as_=COOP).get_json()["items"])
    first = api.post("/coop/lots", json=body, as_=COOP, headers={"Idempotency-Key": "lot-7"})
    again = api.post("/coop/lots", json=body, as_=COOP, headers={"Idempotency-Key": "lot-7"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and first.get_json()["floor_price_fen"] > 0
    after = api.get("/coop/lots", query_string={"limit": 100}, as_=COOP).get_json()["items"]
    assert len(after) == before + 1
    reused = api.post("/coop/lots", json={**body, "quantity": 41}, as_=COOP, headers={"Idempotency-Key": "lot-7"})
    assert reused.status_code == 422


def test_a_lot_for_a_household_outside_the_cooperative_is_refused(api):
    body = {**_lot_body(api), "household_id": 999999}
    response = api.post("/coop/lots", json=body, as_=COOP)
    assert response.status_code == 422 and response.get_json()["field"] == "household_id"


def test_stock_is_set_only_if_unchanged_since_read(api):
    listing = api.get("/coop/listings", as_=COOP).get_json()["items"][0]
    variant = listing["variants"][0]
    path = f"/coop/variants/{variant['id']}/stock"
    stale = api.put(path, json={"stock_available": 5, "stock_seen": variant["stock_available"] + 1}, as_=COOP)
    assert stale.status_code == 409
    done = api.put(path, json={"stock_available": 5, "stock_seen": variant["stock_available"]}, as_=COOP)
    assert done.get_json()["stock_available"] == 5


def test_town_staff_read_their_households_balances_and_statements(api):
    page = api.get("/town/households", query_string={"limit": 2}, as_=STAFF).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = api.get("/town/households", query_string={"limit": 100, "cursor": page["next_cursor"]}, as_=STAFF).get_json()
    ids = [row["id"] for row in page["items"] + rest["items"]]
    assert len(set(ids)) == len(ids)
    household = page["items"][0]
    statement = api.get(f"/town/households/{household['id']}/statement", as_=STAFF).get_json()
    assert statement["closing_fen"] == (statement["opening_fen"] + sum(statement["credits_by_mechanism_fen"].values())
                                        - statement["spending_fen"] - statement["payouts_fen"] + statement["other_fen"])


def test_staff_of_another_town_cannot_read_these_households(api):
    household = api.get("/town/households", as_=STAFF).get_json()["items"][0]
    response = api.get(f"/town/households/{household['id']}/statement", as_=OTHER_TOWN_STAFF)
    assert response.status_code == 404
    assert api.get("/town/households", as_=BUYER).status_code == 403


def test_a_statement_period_must_be_whole(api):
    household = api.get("/town/households", as_=STAFF).get_json()["items"][0]
    response = api.get(f"/town/households/{household['id']}/statement", query_string={"start": "2026-01-01"}, as_=STAFF)
    assert response.status_code == 422
