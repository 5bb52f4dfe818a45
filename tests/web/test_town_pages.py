from io import BytesIO

from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.payouts.models import PayoutBatch, PayoutItem
from tests.town.fixtures import release


class Staff:
    """A signed-in staff member's browser. Each request runs in an app context of its own, so two
    people's requests never share `g` (and the test's own transaction is released first)."""

    def __init__(self, app, email):
        self.app, self.client = app, app.test_client()
        self.post("/login", data={"email": email, "password": "demo1234"})

    def _send(self, method, url, **kwargs):
        release()
        with self.app.app_context():
            return getattr(self.client, method)(url, **kwargs)

    def get(self, url, **kwargs):
        return self._send("get", url, **kwargs)

    def post(self, url, **kwargs):
        return self._send("post", url, **kwargs)


def test_a_batch_is_drafted_approved_by_another_and_exported_through_the_pages(app, lingzi):
    maker, checker = Staff(app, "town@demo.cn"), Staff(app, "town2@demo.cn")

    batch_url = maker.post("/town/payouts", data={"method": "bank", "min_amount": "100"}).location
    own = maker.post(batch_url + "/approve", follow_redirects=True).get_data(as_text=True)
    assert "该批次由您生成，须由另一位工作人员审批" in own
    approved = checker.post(batch_url + "/approve", follow_redirects=True).get_data(as_text=True)
    assert "批次已审批" in approved
    workbook = checker.get(batch_url + "/bank.xlsx")
    assert workbook.headers["Content-Disposition"].startswith("attachment")
    assert load_workbook(BytesIO(workbook.data)).active.max_row >= 3

    release()
    batch = db.session.get(PayoutBatch, int(batch_url.rsplit("/", 1)[1]))
    first, second = batch.items[0].id, batch.items[1].id
    checker.post(f"/town/payouts/items/{first}/paid", data={"reference": "BANK-20261128-01"})
    checker.post(f"/town/payouts/items/{second}/failed", data={"reason": "户名不符"})
    release()
    assert (db.session.get(PayoutItem, first).status, db.session.get(PayoutItem, second).status) == ("paid", "failed")

    audit = checker.get("/town/audit", query_string={"action": "payout_item.paid"}).get_data(as_text=True)
    assert "BANK-20261128-01" in audit and "户名不符" not in audit
    everything = checker.get("/town/audit").get_data(as_text=True)
    assert "payout_batch.approve" in everything and "户名不符" in everything


def test_a_bad_minimum_is_refused_with_a_message_and_no_batch(app, lingzi):
    maker = Staff(app, "town@demo.cn")
    response = maker.post("/town/payouts", data={"method": "bank", "min_amount": "-5"})
    assert response.status_code == 422
    assert "金额不能为负数" in response.get_data(as_text=True)
    release()
    assert db.session.query(PayoutBatch).count() == 0
    too_high = maker.post("/town/payouts", data={"method": "bank", "min_amount": "100000"}, follow_redirects=True)
    assert "没有农户的可提现余额达到这个金额" in too_high.get_data(as_text=True)
