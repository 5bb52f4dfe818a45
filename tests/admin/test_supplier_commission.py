"""The platform admin records the commission agreed with each supplier; every change is audited."""
from decimal import Decimal

from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.extensions import db
from marketplace.people.models import Supplier


def demo_supplier():
    return db.session.scalar(select(Supplier).filter_by(name_zh="惠民农资日用品超市"))


def supplier_form(supplier, percent):
    return {"name_zh": supplier.name_zh, "name_en": supplier.name_en, "town_id": supplier.town_id,
            "contact_phone": supplier.contact_phone, "commission_rate": percent}


def test_the_demo_supplier_agreed_no_commission(app, district):
    with app.app_context():
        assert demo_supplier().commission_rate == 0


def test_the_admin_sets_a_suppliers_agreed_commission_and_it_is_audited(client, auth, district):
    auth.login_as("admin@demo.cn")
    with client.application.app_context():
        supplier = demo_supplier()
        supplier_id, data = supplier.id, supplier_form(supplier, "3")
    assert 'value="0"' in client.get(f"/admin/suppliers/{supplier_id}").get_data(as_text=True)

    assert client.post(f"/admin/suppliers/{supplier_id}", data=data).status_code == 302

    with client.application.app_context():
        assert db.session.get(Supplier, supplier_id).commission_rate == Decimal("0.03")
        row = db.session.scalar(select(AuditLog).filter_by(action="supplier.updated", object_id=supplier_id))
        assert row.details["changes"] == {"commission_rate": ["0.0000", "0.03"]}
    assert "3%" in client.get("/admin/suppliers?lang=en").get_data(as_text=True)
    assert 'value="3"' in client.get(f"/admin/suppliers/{supplier_id}").get_data(as_text=True)


def test_a_commission_outside_0_to_100_percent_is_refused(client, auth, district):
    auth.login_as("admin@demo.cn")
    with client.application.app_context():
        supplier = demo_supplier()
        supplier_id = supplier.id
        forms = [supplier_form(supplier, percent) for percent in ("101", "-1", "three", "2.555")]
    for data in forms:
        response = client.post(f"/admin/suppliers/{supplier_id}?lang=en", data=data)
        assert response.status_code == 200, data
        assert "Enter a percentage from 0 to 100." in response.get_data(as_text=True)
    with client.application.app_context():
        assert db.session.get(Supplier, supplier_id).commission_rate == 0
