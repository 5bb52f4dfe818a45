"""Company transfers matched by reference: only an exact match pays its order; every other credit
is kept as a discrepancy and changes no order and no ledger entry."""
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.errors import Forbidden
from marketplace.extensions import db
from marketplace.imports.reading import FileRefused
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import ORDER_ATTRIBUTION_RULES, RECIPIENT_KINDS, TRANSFER_PAYMENT
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import Order
from marketplace.organisations import requisitions, transfers
from marketplace.organisations.models import IncomingTransfer
from marketplace.spreadsheets import xlsx_bytes

DAY = date(2026, 12, 1)


def approved_order(inst, lines=None):
    inst.fill_cart(inst.buyer, lines or [(inst.variant, 20), (inst.direct, 2)])
    requisition = requisitions.submit_requisition(inst.buyer.id, "王师傅", "13800000000", "淄川区松龄路1号一中食堂")
    requisition = requisitions.approve_requisition(inst.approver.id, requisition.id)
    return requisition, db.session.get(Order, requisition.order_id)


def entries(rule=None):
    """Entries about orders (the fixture's lot intakes post floor purchases of their own)."""
    query = db.session.query(JournalEntry).filter(JournalEntry.order_id.is_not(None))
    return query.filter_by(rule=rule).count() if rule else query.count()


def credited_to_recipients(order_id):
    return -sum(amount for amount, in db.session.query(Posting.amount_fen).join(Account).join(JournalEntry)
                .filter(JournalEntry.order_id == order_id, JournalEntry.rule.in_(ORDER_ATTRIBUTION_RULES),
                        Account.kind.in_(RECIPIENT_KINDS)))


def test_the_exact_amount_with_its_reference_pays_and_attributes_the_order(inst):
    requisition, order = approved_order(inst)
    transfer = transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "淄川区第一中学",
                                         f"货款 {requisition.transfer_reference}")
    assert transfer.outcome == "matched" and transfer.paid_order_id == order.id
    db.session.refresh(order)
    assert order.status == "paid" and order.paid_at is not None
    payment = db.session.query(JournalEntry).filter_by(rule=TRANSFER_PAYMENT).one()
    legs = {(p.account.kind, p.amount_fen) for p in payment.postings}
    assert legs == {("bank", order.total_fen), ("sales_pending", -order.total_fen)}
    assert credited_to_recipients(order.id) == order.total_fen  # credits = paid − refunded (nothing refunded)
    report = verify_ledger()
    assert report.ok, report.violations
    assert not any(key.startswith("not_rederived") for key in report.counts)


def test_a_reference_typed_with_spaces_dashes_and_lower_case_still_matches(inst):
    requisition, order = approved_order(inst)
    ref = requisition.transfer_reference
    memo = f"payment {ref[:2].lower()}-{ref[2:5]} {ref[5:]}"
    assert transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "", memo).outcome == "matched"


def test_a_mistyped_reference_matches_nothing(inst):
    requisition, order = approved_order(inst)
    ref = requisition.transfer_reference
    wrong = ref[:4] + ("0" if ref[4] != "0" else "1") + ref[5:]
    transfer = transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "", wrong)
    assert transfer.outcome == "unknown_reference"
    assert db.session.get(Order, order.id).status == "pending_payment" and entries() == 0


@pytest.mark.parametrize("difference, outcome", [(-1, "partial"), (-5000, "partial"), (1, "over"), (10000, "over")])
def test_partial_and_over_payments_are_kept_as_discrepancies_never_applied(inst, difference, outcome):
    requisition, order = approved_order(inst)
    transfer = transfers.record_transfer(inst.admin.id, DAY, order.total_fen + difference, "一中",
                                         requisition.transfer_reference)
    assert transfer.outcome == outcome and transfer.paid_order_id is None
    assert transfer.requisition_id == requisition.id
    assert db.session.get(Order, order.id).status == "pending_payment"
    assert entries() == 0


def test_a_memo_naming_two_orders_is_ambiguous_and_pays_neither(inst):
    first, order1 = approved_order(inst, [(inst.variant, 5)])
    second, order2 = approved_order(inst, [(inst.variant, 5)])
    transfer = transfers.record_transfer(inst.admin.id, DAY, order1.total_fen, "",
                                         f"{first.transfer_reference} {second.transfer_reference}")
    assert transfer.outcome == "ambiguous" and transfer.paid_order_id is None
    assert {db.session.get(Order, o.id).status for o in (order1, order2)} == {"pending_payment"}
    assert entries() == 0


def test_a_second_transfer_for_a_paid_order_is_kept_not_applied(inst):
    requisition, order = approved_order(inst)
    transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "", requisition.transfer_reference, "B001")
    again = transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "", requisition.transfer_reference, "B002")
    assert again.outcome == "already_paid" and again.paid_order_id is None
    assert entries(TRANSFER_PAYMENT) == 1


def test_the_same_bank_transaction_recorded_twice_is_a_duplicate(inst):
    requisition, order = approved_order(inst)
    first = transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "", requisition.transfer_reference, "B001")
    second = transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "", requisition.transfer_reference, "B001")
    assert (first.outcome, second.outcome) == ("matched", "duplicate")
    assert entries(TRANSFER_PAYMENT) == 1


def test_a_transfer_for_a_cancelled_order_is_not_applied(inst):
    from marketplace.orders.reservations import release_order

    requisition, order = approved_order(inst)
    release_order(order.id, "payment_expired")
    db.session.commit()
    transfer = transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "", requisition.transfer_reference)
    assert transfer.outcome == "not_payable" and entries() == 0


def test_only_platform_staff_record_transfers(inst):
    with pytest.raises(Forbidden):
        transfers.record_transfer(inst.finance.id, DAY, 100, "", "XF")
    assert db.session.query(IncomingTransfer).count() == 0


def statement(rows):
    return xlsx_bytes("流水", ["交易日期", "流水号", "对方户名", "贷方金额", "摘要"], rows)


def test_a_bank_statement_matches_references_and_lists_every_discrepancy(inst):
    paid, order = approved_order(inst, [(inst.variant, 20)])
    short, short_order = approved_order(inst, [(inst.variant, 5)])
    yuan = order.total_fen / 100
    data = statement([
        ["2026-12-01", "B1", "淄川区第一中学", yuan, f"消费帮扶货款{paid.transfer_reference}"],
        ["2026-12-01", "B2", "淄川区第一中学", short_order.total_fen / 100 - 1, short.transfer_reference],
        ["2026-12-01", "B1", "淄川区第一中学", yuan, f"消费帮扶货款{paid.transfer_reference}"],
        ["2026-12-02", "B3", "某公司", 50, "房租"],
        ["2026-12-02", "B4", "某公司", "", "支出（借方）"],
    ])
    outcomes = [t.outcome for t in transfers.import_statement(inst.admin.id, "流水.xlsx", data)]
    assert outcomes == ["matched", "partial", "duplicate", "unknown_reference"]
    assert db.session.get(Order, order.id).status == "paid"
    assert db.session.get(Order, short_order.id).status == "pending_payment"
    assert entries(TRANSFER_PAYMENT) == 1
    assert verify_ledger().ok


def test_importing_the_same_statement_twice_pays_nothing_twice(inst):
    requisition, order = approved_order(inst)
    data = statement([["2026-12-01", "B9", "一中", order.total_fen / 100, requisition.transfer_reference]])
    transfers.import_statement(inst.admin.id, "a.xlsx", data)
    again = transfers.import_statement(inst.admin.id, "a.xlsx", data)
    assert [t.outcome for t in again] == ["duplicate"]
    assert entries(TRANSFER_PAYMENT) == 1


def test_a_statement_with_a_bad_row_imports_nothing(inst):
    requisition, order = approved_order(inst)
    data = statement([["2026-12-01", "B1", "一中", order.total_fen / 100, requisition.transfer_reference],
                      ["昨天", "B2", "一中", "12", "x"]])
    with pytest.raises(transfers.StatementRefused):
        transfers.import_statement(inst.admin.id, "a.xlsx", data)
    assert db.session.query(IncomingTransfer).count() == 0
    assert db.session.get(Order, order.id).status == "pending_payment"


def test_a_file_that_is_not_a_spreadsheet_is_refused(inst):
    with pytest.raises(FileRefused):
        transfers.import_statement(inst.admin.id, "statement.pdf", b"%PDF-1.4")


def test_csv_statements_are_read_too(inst):
    requisition, order = approved_order(inst)
    text = f"日期,金额,摘要\n2026/12/01,{order.total_fen / 100:.2f},{requisition.transfer_reference}\n"
    assert [t.outcome for t in transfers.import_statement(inst.admin.id, "s.csv", text.encode("gb18030"))] == [
        "matched"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantities=st.lists(st.integers(1, 12), min_size=1, max_size=3),
       offsets=st.lists(st.sampled_from([0, 0, -1, 1, -300]), min_size=1, max_size=3))
def test_whatever_arrives_each_order_is_credited_exactly_what_was_paid(inst, quantities, offsets):
    """Property: over any mix of exact, short and over transfers, each order's recipients are
    credited exactly what it was paid (0 if not paid), and the ledger verifies."""
    orders = [approved_order(inst, [(inst.variant, quantity)]) for quantity in quantities]
    for (requisition, order), offset in zip(orders, offsets * len(orders)):
        transfers.record_transfer(inst.admin.id, DAY, order.total_fen + offset, "", requisition.transfer_reference)
    for requisition, order in orders:
        paid = db.session.get(Order, order.id).status == "paid"
        assert credited_to_recipients(order.id) == (order.total_fen if paid else 0)
    assert verify_ledger().ok
