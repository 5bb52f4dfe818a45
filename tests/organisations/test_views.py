"""The organisation pages and the admin's transfer page, through the web."""
import re

from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.organisations.models import Organisation, Requisition
from marketplace.spreadsheets import xlsx_bytes


class Forgetful:
    """A test client whose requests do not reuse the user Flask-Login cached on `g` (the test's
    app context is shared by every request it makes, whoever signs in)."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        from flask import g

        def call(*args, **kwargs):
            g.pop("_login_user", None)
            return getattr(self.client, name)(*args, **kwargs)
        return call


def signed_in(app, user):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return Forgetful(client)


def csrf(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_submit_approve_pay_by_statement_and_report(app, inst, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    inst.fill_cart(inst.buyer, [(inst.variant, 40)])  # 30 from one household's lot, 10 from the other's
    buyer = signed_in(app, inst.buyer)
    assert "淄川区第一中学食堂" in buyer.get("/org/").get_data(as_text=True)
    response = buyer.post("/org/requests", data={"recipient_name": "王师傅", "recipient_phone": "13800000000",
                                                 "address": "淄川区松龄路1号一中食堂"})
    assert response.status_code == 303
    requisition = db.session.query(Requisition).one()
    assert buyer.post(f"/org/requests/{requisition.id}/approve").status_code == 303
    assert db.session.get(Requisition, requisition.id).status == "awaiting_approval"  # a buyer cannot approve
    approver = signed_in(app, inst.approver)
    response = approver.post(f"/org/requests/{requisition.id}/approve", follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    requisition = db.session.get(Requisition, requisition.id)
    page = approver.get(f"/org/requests/{requisition.id}").get_data(as_text=True)
    assert requisition.transfer_reference in page
    order = db.session.get(Order, requisition.order_id)
    admin = signed_in(app, inst.admin)
    data = xlsx_bytes("流水", ["交易日期", "贷方金额", "摘要", "流水号"],
                      [["2026-12-01", order.total_fen / 100, requisition.transfer_reference, "B1"],
                       ["2026-12-01", 3, "XF0000000", "B2"]])
    from io import BytesIO
    response = admin.post("/admin/transfers", data={"action": "import", "file-file": (BytesIO(data), "s.xlsx")},
                          content_type="multipart/form-data")
    assert response.status_code == 303
    page = admin.get("/admin/transfers").get_data(as_text=True)
    assert page.count('class="discrepancy"') == 1 and page.count('class="ok"') == 1
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "paid"
    report = buyer.get("/org/report?year=" + str(order.paid_at.year)).get_data(as_text=True)
    assert "2 户" in report or "2 households" in report
    xlsx = buyer.get("/org/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    pdf = buyer.get("/org/report.pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"


def test_people_outside_the_organisation_are_refused(app, inst):
    outsider = inst.user("buyer")
    client = signed_in(app, outsider)
    assert client.get("/org/").status_code == 403
    assert client.get("/org/report").status_code == 403
    assert signed_in(app, inst.buyer).get("/org/requests/999999").status_code == 404


def test_admin_registration_refuses_a_bad_credit_code(app, inst, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    admin = signed_in(app, inst.admin)
    before = db.session.query(Organisation).count()
    response = admin.post("/admin/organisations", data={
        "name": "淄川区总工会", "credit_code": "91350100M000100Y44", "kind": "union", "town_id": "0",
        "year": "2026", "declared_total": "100000", "required_share": "20"})
    assert response.status_code == 422
    assert "不是有效的统一社会信用代码" in response.get_data(as_text=True)
    assert db.session.query(Organisation).count() == before
    assert admin.get("/admin/organisations").status_code == 200
