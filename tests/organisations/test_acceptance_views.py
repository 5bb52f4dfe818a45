"""Through the web: the canteen accepts its delivery with a slip, asks for invoices, the cooperative
uploads its e-invoice and the canteen's finance downloads it; an outsider gets nothing."""
from datetime import date

from marketplace.extensions import db
from marketplace.orders.models import Shipment
from marketplace.organisations import transfers
from marketplace.organisations.models import IssuedInvoice, ShipmentAcceptance
from tests.organisations.conftest import CANTEEN_CODE
from tests.organisations.test_acceptance_and_invoices import a_pdf, coop_shipment, shipped
from tests.organisations.test_transfers import approved_order
from tests.organisations.test_views import signed_in


def test_accept_request_invoice_upload_and_download_through_the_pages(app, inst, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    requisition, order = approved_order(inst, [(inst.variant, 10)])
    page = signed_in(app, inst.finance).get(f"/org/requests/{requisition.id}").get_data(as_text=True)
    assert "剩余 30 天" in page and "申请延期 15 天" in page
    transfers.record_transfer(inst.admin.id, date(2026, 12, 1), order.total_fen, "一中", requisition.transfer_reference)
    db.session.refresh(order)
    shipment, manager = shipped(inst, order)

    buyer = signed_in(app, inst.buyer)
    response = buyer.post(f"/org/shipments/{shipment.id}/accept",
                          data={"note": "合格", "document": (__import__("io").BytesIO(a_pdf()), "验收单.pdf")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "已记录验收" in response.get_data(as_text=True)
    assert db.session.get(Shipment, shipment.id).status == "delivered"
    accepted = db.session.query(ShipmentAcceptance).one()
    assert buyer.get(f"/org/acceptances/{accepted.id}/document").data.startswith(b"%PDF-")

    finance = signed_in(app, inst.finance)
    finance.post(f"/org/requests/{requisition.id}/invoices",
                 data={"title": "淄川区第一中学", "tax_number": CANTEEN_CODE, "email": "caiwu@yz.cn"})
    coop = signed_in(app, manager)
    assert order.public_no in coop.get("/coop/invoices").get_data(as_text=True)
    goods = sum(line.line_total_fen for line in coop_shipment(inst, order).lines())
    response = coop.post(f"/coop/shipments/{shipment.id}/invoice",
                         data={"invoice_number": "26370000000012345678", "amount": f"{goods / 100:.2f}",
                               "document": (__import__("io").BytesIO(a_pdf()), "发票.pdf")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "发票已上传" in response.get_data(as_text=True)
    invoice = db.session.query(IssuedInvoice).one()
    page = finance.get(f"/org/requests/{requisition.id}").get_data(as_text=True)
    assert f"/org/invoices/{invoice.id}.pdf" in page
    download = finance.get(f"/org/invoices/{invoice.id}.pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    assert download.headers["Content-Type"] == "application/pdf"
    assert signed_in(app, inst.district.user("buyer")).get(f"/org/invoices/{invoice.id}.pdf").status_code == 403
