"""Organisations that buy within a yearly quota, their staff, approved orders and incoming transfers."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

KINDS = ("budget_unit", "union", "canteen", "enterprise")
MEMBER_ROLES = ("buyer", "approver", "finance")
REQUISITION_STATUSES = ("awaiting_approval", "returned", "approved")
# When an organisation pays: before its order is packed (`pay_first`, within TRANSFER_PAYMENT_DAYS of
# approval), or within TERMS_PAYMENT_DAYS of accepting the goods (`after_acceptance`: the order ships
# unpaid; see organisations/payment_clock.py).
PAYMENT_TERMS = ("pay_first", "after_acceptance")
# What became of an incoming transfer: paid its order, or kept as a discrepancy for staff.
TRANSFER_OUTCOMES = ("matched", "unknown_reference", "ambiguous", "partial", "over", "duplicate", "already_paid",
                     "not_payable")


class Organisation(db.Model):
    """A budget unit, union, canteen or enterprise buying from poverty-relief areas (消费帮扶)."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"), index=True)
    district: Mapped[str] = mapped_column(String(80), default="")
    payment_terms: Mapped[str] = mapped_column(String(20), default="pay_first", server_default="pay_first")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (one_of("kind", KINDS, "organisation_kind_known"),
                      one_of("payment_terms", PAYMENT_TERMS, "organisation_payment_terms_known"))


class OrganisationQuota(db.Model):
    """What an organisation declares it buys in a year, and the share of it that must come from
    poverty-relief areas (0.30 = 30 %)."""

    __tablename__ = "organisation_quotas"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    year: Mapped[int]
    declared_total_fen: Mapped[int] = mapped_column(db.BigInteger)
    required_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))

    __table_args__ = (
        UniqueConstraint("organisation_id", "year", name="organisation_quota_once_a_year"),
        CheckConstraint("declared_total_fen > 0", name="declared_total_positive"),
        CheckConstraint("required_share > 0 AND required_share <= 1", name="required_share_range"),
    )


class OrganisationMember(db.Model):
    """A person who buys, approves or pays for one organisation (a `buyer` user in `users`)."""

    __tablename__ = "organisation_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (one_of("role", MEMBER_ROLES, "organisation_member_role_known"),)


class Requisition(db.Model):
    """An organisation buyer's cart submitted for approval; approval places its order.

    The lines are the variants and quantities only: prices are taken, and stock reserved, by the
    checkout when the approver approves. The transfer reference is the order's, for 对公转账."""

    __tablename__ = "requisitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="awaiting_approval")
    recipient_name: Mapped[str] = mapped_column(String(80))
    recipient_phone: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(String(300), default="")
    estimate_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(String(300), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    transfer_reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The organisation's terms when the order was approved (PAYMENT_TERMS), kept with the order.
    payment_terms: Mapped[str] = mapped_column(String(20), default="pay_first", server_default="pay_first")
    # The payment clock (organisations/payment_clock.py): one extension, one reminder, one notice of lapse.
    extended_at: Mapped[datetime | None]
    extended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reminded_at: Mapped[datetime | None]
    lapse_notified_at: Mapped[datetime | None]
    lines: Mapped[list["RequisitionLine"]] = relationship(order_by="RequisitionLine.id")
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (one_of("status", REQUISITION_STATUSES, "requisition_status_known"),
                      one_of("payment_terms", PAYMENT_TERMS, "requisition_payment_terms_known"))


class RequisitionLine(db.Model):
    __tablename__ = "requisition_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(ForeignKey("requisitions.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int]
    variant: Mapped["Variant"] = relationship()  # noqa: F821  (catalog.models.Variant)

    __table_args__ = (CheckConstraint("quantity > 0", name="requisition_quantity_positive"),)


class IncomingTransfer(db.Model):
    """One credit on the platform's bank account, recorded by staff or read from a statement.

    `paid_order_id` is set only on the transfer that paid its order (unique: no order is paid
    twice); every other outcome is a discrepancy kept for staff, never applied."""

    __tablename__ = "incoming_transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    bank_reference: Mapped[str] = mapped_column(String(80), default="")  # the bank's own transaction number
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    value_date: Mapped[date] = mapped_column(Date)
    payer_name: Mapped[str] = mapped_column(String(120), default="")
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    memo: Mapped[str] = mapped_column(String(300), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    transfer_reference: Mapped[str] = mapped_column(String(20), default="")
    requisition_id: Mapped[int | None] = mapped_column(ForeignKey("requisitions.id"), index=True)
    paid_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    statement_name: Mapped[str] = mapped_column(String(120), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        one_of("outcome", TRANSFER_OUTCOMES, "transfer_outcome_known"),
        CheckConstraint("amount_fen > 0", name="incoming_transfer_positive"),
    )


class OutgoingTransfer(db.Model):
    """The bank transfer by which the platform paid an organisation back one refund of an order it
    paid by company transfer (organisations/transfer_refunds.py). Once per refund, once per bank
    transaction: both are unique, so a second recording of either changes nothing."""

    __tablename__ = "outgoing_transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    value_date: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(80), unique=True)  # the bank's own transaction number
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="outgoing_transfer_positive"),
        CheckConstraint("bank_reference <> ''", name="outgoing_transfer_names_bank_reference"),
    )


DOCUMENT_KINDS = ("acceptance", "invoice")
INVOICE_ISSUERS = ("seller", "platform")


class OrganisationDocument(db.Model):
    """A file an organisation keeps with its order: an acceptance record or an issued e-invoice.

    Kept in the database, not under UPLOAD_DIR (whose files the storefront serves to anyone): only
    the organisation's staff, the seller concerned and the platform read them, through a view that
    checks who asks. The bytes are the re-written file (see organisations/documents.py), never the upload."""

    __tablename__ = "organisation_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    content_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(db.LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (one_of("kind", DOCUMENT_KINDS, "organisation_document_kind_known"),)


class ShipmentAcceptance(db.Model):
    """The organisation's acceptance (验收) of one delivered shipment, once, with an optional document."""

    __tablename__ = "shipment_acceptances"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    accepted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(300), default="")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("organisation_documents.id"))
    document: Mapped[OrganisationDocument | None] = relationship()


class InvoiceRequest(db.Model):
    """What the organisation asks its order's invoices (发票) to say, and where to send them."""

    __tablename__ = "invoice_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    tax_number: Mapped[str] = mapped_column(String(18))
    email: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    invoices: Mapped[list["IssuedInvoice"]] = relationship(order_by="IssuedInvoice.id")


class IssuedInvoice(db.Model):
    """An e-invoice issued outside the product and recorded here: by the seller of one shipment for
    its goods, or by the platform (`shipment_id` empty) for its part. One per shipment, one for the platform."""

    __tablename__ = "issued_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_request_id: Mapped[int] = mapped_column(ForeignKey("invoice_requests.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(10))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), unique=True)
    invoice_number: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    document_id: Mapped[int] = mapped_column(ForeignKey("organisation_documents.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    document: Mapped[OrganisationDocument] = relationship()

    __table_args__ = (
        one_of("issuer", INVOICE_ISSUERS, "invoice_issuer_known"),
        CheckConstraint("amount_fen > 0", name="issued_invoice_positive"),
        CheckConstraint("(issuer = 'seller') = (shipment_id IS NOT NULL)", name="seller_invoice_names_shipment"),
        db.Index("uq_issued_invoices_platform_once", "invoice_request_id", unique=True,
                 postgresql_where=db.text("issuer = 'platform'"), sqlite_where=db.text("issuer = 'platform'")),
    )
