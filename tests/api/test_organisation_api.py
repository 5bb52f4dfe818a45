"""The organisation operations: its own requests and report only."""
from marketplace.demo.organisations import seed_demo_organisation_orders
from marketplace.extensions import db


def test_the_canteens_staff_read_their_requests_and_quota_report(api, demo):
    seed_demo_organisation_orders()
    db.session.remove()
    items = api.get("/organisation/requests", as_="org-finance@demo.cn").get_json()["items"]
    assert sorted(item["status"] for item in items) == ["approved", "awaiting_approval"]
    paid = next(item for item in items if item["status"] == "approved")
    assert paid["order_status"] == "paid" and paid["transfer_reference"].startswith("XF")
    assert paid["paid_by_transfer_on"] is not None and paid["pay_before"] is None
    report = api.get("/organisation/report", as_="org-buyer@demo.cn").get_json()
    assert report["bought_fen"] > 0 and report["households_reached"] >= 2
    assert report["required_share"] == "0.3000"
    assert {place["village"] for place in report["places"]}


def test_people_outside_an_organisation_are_refused(api, demo):
    for path in ("/organisation/requests", "/organisation/report"):
        response = api.get(path, as_="buyer@demo.cn")
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
        assert api.get(path, as_="coop@demo.cn").status_code == 403


def test_a_year_out_of_range_is_refused(api, demo):
    assert api.get("/organisation/report", query_string={"year": "1999"}, as_="org-buyer@demo.cn").status_code == 422


def test_an_approver_approves_through_the_api_but_never_their_own_or_twice(api, demo):
    seed_demo_organisation_orders()
    db.session.remove()
    waiting = next(item for item in api.get("/organisation/requests", as_="org-approver@demo.cn").get_json()["items"]
                   if item["status"] == "awaiting_approval")
    path = f"/organisation/requests/{waiting['id']}/approve"
    refused = api.post(path, as_="org-buyer@demo.cn")
    assert refused.status_code == 403
    assert api.post(path, as_="buyer@demo.cn").status_code == 404  # not theirs: it does not exist for them
    approved = api.post(path, as_="org-approver@demo.cn")
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "approved" and body["order_status"] == "pending_payment"
    assert body["transfer_reference"].startswith("XF") and body["pay_before"] is not None
    assert api.post(path, as_="org-approver@demo.cn").status_code == 409
    assert api.post(f"/organisation/requests/{waiting['id']}/return", json={"note": "太晚了"},
                    as_="org-approver@demo.cn").status_code == 409
    assert api.post("/organisation/requests/999999/approve", as_="org-approver@demo.cn").status_code == 404
