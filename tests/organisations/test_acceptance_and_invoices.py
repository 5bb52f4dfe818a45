"""Acceptance (验收) per shipment, invoice requests and e-invoices, and the payment clock of a transfer order."""
import email.parser
import email.policy
from datetime import date, timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.orders import fulfilment, reservations
from marketplace.orders.models import Order, Shipment, StockReservation
from marketplace.organisations import acceptance, invoices, payment_clock, transfers
from marketplace.organisations.documents import BadDocument
from marketplace.organisations.models import IssuedInvoice, Requisition, ShipmentAcceptance
from tests.organisations.conftest import CANTEEN_CODE
from tests.organisations.test_transfers import approved_order

OTHER_CODE = "91370302MA3C4JYY13"


def a_pdf(javascript=False):
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if javascript:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")})
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def sent(log):
    parser = email.parser.Parser(policy=email.policy.default)
    return [parser.parsestr("From:" + chunk) for chunk in log.read_text().split("From:")[1:]]


def paid_order(inst):
    requisition, order = approved_order(inst, [(inst.variant, 10), (inst.direct, 1)])
    transfers.record_transfer(inst.admin.id, date(2026, 12, 1), order.total_fen, "一中", requisition.transfer_reference)
    db.session.refresh(order)
    return requisition, order


def coop_shipment(inst, order):
    return next(s for s in order.shipments if s.seller_id == inst.variant.product.seller_id)


def shipped(inst, order):
    shipment = coop_shipment(inst, order)
    manager = inst.district.user("coop_manager", cooperative_id=inst.coop.id)
    fulfilment.mark_packed(shipment.id, manager.id)
    fulfilment.mark_shipped(shipment.id, manager.id, fulfilment.CARRIERS[0], "SF123456")
    return shipment, manager


def test_accepting_a_shipped_parcel_delivers_it_once_with_its_slip(inst):
    requisition, order = paid_order(inst)
    shipment, _manager = shipped(inst, order)
    accepted = acceptance.accept_shipment(inst.approver.id, shipment.id, "数量、质量合格", "验收单.pdf", a_pdf())
    assert db.session.get(Shipment, shipment.id).status == "delivered"
    assert db.session.get(Shipment, shipment.id).delivery_confirmed_by == "buyer"
    assert accepted.document.content_type == "application/pdf"
    with pytest.raises(Conflict):
        acceptance.accept_shipment(inst.buyer.id, shipment.id)
    assert db.session.query(ShipmentAcceptance).count() == 1
    assert acceptance.acceptance_document(inst.finance.id, accepted.id).id == accepted.document_id


def test_a_parcel_not_shipped_or_of_another_organisation_is_not_accepted(inst):
    from marketplace.organisations import services

    _requisition, order = paid_order(inst)
    shipment = coop_shipment(inst, order)
    with pytest.raises(Conflict):
        acceptance.accept_shipment(inst.buyer.id, shipment.id)
    other = services.register_organisation(inst.admin.id, "另一单位", OTHER_CODE, "union", None, "", 2026, 100_00, "20")
    stranger = inst.member("approver", other)
    with pytest.raises(NotFound):
        acceptance.accept_shipment(stranger.id, shipment.id)
    assert db.session.query(ShipmentAcceptance).count() == 0


def test_an_acceptance_document_that_is_neither_pdf_nor_photo_is_refused_and_nothing_changes(inst):
    _requisition, order = paid_order(inst)
    shipment, _manager = shipped(inst, order)
    with pytest.raises(BadDocument):
        acceptance.accept_shipment(inst.buyer.id, shipment.id, "", "x.pdf", b"<script>alert(1)</script>")
    assert db.session.get(Shipment, shipment.id).status == "shipped"
    assert db.session.query(ShipmentAcceptance).count() == 0


def test_the_seller_uploads_its_invoice_and_only_the_organisation_downloads_it(inst):
    requisition, order = paid_order(inst)
    shipment, manager = shipped(inst, order)
    with pytest.raises(Conflict):  # nobody asked for one yet
        invoices.upload_seller_invoice(manager.id, shipment.id, "12345678", 100, "f.pdf", a_pdf())
    invoices.request_invoice(inst.finance.id, requisition.id, "淄川区第一中学", CANTEEN_CODE, "caiwu@yz.cn")
    goods = sum(line.line_total_fen for line in shipment.lines())
    with pytest.raises(DomainError):
        invoices.upload_seller_invoice(manager.id, shipment.id, "12345678", goods + 1, "f.pdf", a_pdf())
    with pytest.raises(BadDocument):
        invoices.upload_seller_invoice(manager.id, shipment.id, "12345678", goods, "f.pdf", b"GIF89a not a pdf")
    with pytest.raises(DomainError):
        invoices.upload_seller_invoice(manager.id, shipment.id, "12AB", goods, "f.pdf", a_pdf())
    assert db.session.query(IssuedInvoice).count() == 0
    invoice = invoices.upload_seller_invoice(manager.id, shipment.id, "2637 0000 0000 1234 5678", goods, "发票.pdf",
                                             a_pdf(javascript=True))
    assert invoice.invoice_number == "26370000000012345678"
    document = invoices.invoice_document(inst.finance.id, invoice.id)
    kept = PdfReader(BytesIO(document.data))
    assert len(kept.pages) == 1 and "/OpenAction" not in kept.trailer["/Root"]  # the script was left behind
    with pytest.raises(Conflict):
        invoices.upload_seller_invoice(manager.id, shipment.id, "12345678", goods, "f.pdf", a_pdf())
    with pytest.raises(NotFound):
        invoices.invoice_document(inst.district.user("buyer").id, invoice.id)


def test_an_invoice_request_needs_a_valid_tax_number_and_a_paid_order(inst):
    requisition, order = approved_order(inst)
    with pytest.raises(Conflict):
        invoices.request_invoice(inst.finance.id, requisition.id, "淄川区第一中学", CANTEEN_CODE, "caiwu@yz.cn")
    transfers.record_transfer(inst.admin.id, date(2026, 12, 1), order.total_fen, "一中", requisition.transfer_reference)
    with pytest.raises(DomainError):
        invoices.request_invoice(inst.finance.id, requisition.id, "淄川区第一中学", CANTEEN_CODE[:-1] + "Q", "caiwu@yz.cn")
    with pytest.raises(DomainError):
        invoices.request_invoice(inst.finance.id, requisition.id, "淄川区第一中学", CANTEEN_CODE, "not-an-email")
    assert invoices.invoice_request_of_order(order.id) is None
    invoices.request_invoice(inst.finance.id, requisition.id, "淄川区第一中学", CANTEEN_CODE, "caiwu@yz.cn")
    with pytest.raises(Conflict):
        invoices.request_invoice(inst.buyer.id, requisition.id, "淄川区第一中学", CANTEEN_CODE, "caiwu@yz.cn")


def test_the_platform_invoices_at_most_what_is_left_of_the_order(inst):
    requisition, order = paid_order(inst)
    request = invoices.request_invoice(inst.finance.id, requisition.id, "淄川区第一中学", CANTEEN_CODE, "c@yz.cn")
    with pytest.raises(DomainError):
        invoices.upload_platform_invoice(inst.admin.id, request.id, "12345678", order.total_fen + 1, "p.pdf", a_pdf())
    with pytest.raises(Forbidden):
        invoices.upload_platform_invoice(inst.finance.id, request.id, "12345678", 100, "p.pdf", a_pdf())
    invoices.upload_platform_invoice(inst.admin.id, request.id, "12345678", 100, "p.pdf", a_pdf())
    with pytest.raises(Conflict):
        invoices.upload_platform_invoice(inst.admin.id, request.id, "12345679", 100, "p.pdf", a_pdf())


def test_one_extension_of_fifteen_days_moves_the_order_and_its_reservations(app, inst):
    requisition, order = approved_order(inst)
    due = order.reservation_expires_at
    with pytest.raises(Forbidden):
        payment_clock.extend_payment(inst.buyer.id, requisition.id)
    payment_clock.extend_payment(inst.finance.id, requisition.id)
    db.session.refresh(order)
    assert order.reservation_expires_at == due + timedelta(days=app.config["TRANSFER_EXTENSION_DAYS"])
    held = db.session.query(StockReservation).filter_by(order_id=order.id, status="held").all()
    assert held and {row.expires_at for row in held} == {order.reservation_expires_at}
    with pytest.raises(Conflict):
        payment_clock.extend_payment(inst.approver.id, requisition.id)
    # Within the extension the sweep keeps the order; after it, the order lapses and its stock comes back.
    assert reservations.release_expired_reservations(now=due + timedelta(days=1)) == 0
    stock = inst.variant.stock_available
    assert reservations.release_expired_reservations(now=order.reservation_expires_at + timedelta(minutes=1)) == 1
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "cancelled"
    assert db.session.get(type(inst.variant), inst.variant.id).stock_available > stock
    clock = payment_clock.clock_of(db.session.get(Requisition, requisition.id), db.session.get(Order, order.id))
    assert clock.state == "lapsed" and not clock.can_extend


def test_the_clock_flags_a_deadline_that_is_near(app, inst):
    requisition, order = approved_order(inst)
    assert payment_clock.clock_of(requisition, order).state == "awaiting"
    near = order.reservation_expires_at - timedelta(days=2)
    clock = payment_clock.clock_of(requisition, order, now=near)
    assert clock.state == "due_soon" and clock.days_left == 2


def test_reminders_and_lapse_notices_are_sent_once(app, inst, tmp_path, monkeypatch):
    log = tmp_path / "mail.log"
    monkeypatch.setitem(app.config, "MAIL_LOG_PATH", str(log))
    requisition, order = approved_order(inst)
    near = order.reservation_expires_at - timedelta(days=2)
    assert payment_clock.send_payment_reminders(now=near) == 1
    assert payment_clock.send_payment_reminders(now=near) == 0
    mails = sent(log)
    assert {mail["To"] for mail in mails} == {inst.finance.email, inst.approver.email, inst.approver2.email}
    assert all(requisition.transfer_reference in mail.get_content() for mail in mails)
    after = order.reservation_expires_at + timedelta(minutes=1)
    reservations.release_expired_reservations(now=after)
    assert payment_clock.send_payment_reminders(now=after) == 1
    assert payment_clock.send_payment_reminders(now=after) == 0
    assert sum("已取消" in mail.get_content() for mail in sent(log)) == 3


def test_a_transfer_after_the_order_lapsed_is_kept_as_a_discrepancy(inst):
    requisition, order = approved_order(inst)
    reservations.release_expired_reservations(now=order.reservation_expires_at + timedelta(minutes=1))
    transfer = transfers.record_transfer(inst.admin.id, date(2026, 12, 1), order.total_fen, "一中",
                                         requisition.transfer_reference)
    assert transfer.outcome == "not_payable" and transfer.paid_order_id is None
    assert db.session.get(Order, order.id).status == "cancelled"
