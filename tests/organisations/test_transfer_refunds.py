"""Refunds of orders an organisation paid by company transfer: owed back to the organisation, the
lines' credits reversed exactly as for a card, then paid back by an outgoing bank transfer that
finance staff record. For every order, credits = paid − refunded; `ledger verify` stays clean."""
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace.aftersales import services as claims
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_refund, post_payout_approved
from marketplace.ledger.balances import household_balance
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.rules.names import TRANSFER_REFUND_OWED, TRANSFER_REFUND_PAID
from marketplace.ledger.services import account_id, balance_fen, owed_to_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders import fulfilment
from marketplace.orders.models import Order, Shipment
from marketplace.organisations import services, transfer_refunds, transfers
from marketplace.organisations.models import OutgoingTransfer, Requisition
from marketplace.payments.models import Refund
from marketplace.payments.refunds import refund_order
from tests.conftest import TEST_DATABASE_URL, _clean_tables
from tests.ledger.builders import number
from tests.organisations.conftest import Institution
from tests.organisations.test_views import signed_in
from tests.organisations.test_transfers import DAY, approved_order, credited_to_recipients

SENT = date(2026, 12, 5)


def paid_by_transfer(inst, lines=None):
    requisition, order = approved_order(inst, lines)
    transfer = transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "淄川区第一中学",
                                         f"货款 {requisition.transfer_reference}")
    assert transfer.outcome == "matched"
    return db.session.get(Order, order.id)


def refund(inst, order, quantities, **kwargs):
    """Refund {line index: units}; the ledger posts it (as the worker would)."""
    order = db.session.get(Order, order.id)
    done = refund_order(order.id, {order.lines[i].id: units for i, units in quantities.items()}, inst.admin.id,
                        restock=kwargs.pop("restock", False), **kwargs)
    attribute_refund(done.id)
    return db.session.get(Refund, done.id)


def owed_to(organisation):
    return owed_to_fen(account_id("organisation_refunds", "organisation", organisation.id))


def pay_back(inst, refund_row, organisation=None, amount_fen=None, bank_reference=None):
    return transfer_refunds.record_refund_transfer(
        inst.admin.id, refund_row.id, (organisation or inst.organisation).id, SENT,
        refund_row.amount_fen if amount_fen is None else amount_fen, bank_reference or f"HX{number():010d}")


def assert_ledger_clean():
    report = verify_ledger()
    assert report.ok, report.violations
    assert not [name for name in report.counts if name.startswith("not_rederived")], report.counts


def journal():
    return db.session.scalar(select(func.count()).select_from(JournalEntry)), \
        db.session.scalar(select(func.count()).select_from(Posting))


def test_a_partial_refund_is_owed_to_the_organisation_and_reverses_the_lines_like_a_card_refund(inst):
    order = paid_by_transfer(inst)
    coop_line = order.lines[0]  # 20 × 800 from the cooperative
    done = refund(inst, order, {0: 5})
    assert (done.method, done.status, done.payment_id, done.amount_fen) == ("transfer", "owed", None, 4_000)
    order = db.session.get(Order, order.id)
    assert order.status == "partially_refunded" and order.refunded_fen == 4_000
    owed = db.session.query(JournalEntry).filter_by(rule=TRANSFER_REFUND_OWED).one()
    assert {(p.account.kind, p.amount_fen) for p in owed.postings} == {("sales_pending", 4_000),
                                                                        ("organisation_refunds", -4_000)}
    assert owed_to(inst.organisation) == 4_000
    # the same pro-rata reversal as a card refund: 5 of the line's 20 units, so a quarter of each credit
    line_entry = db.session.query(JournalEntry).filter_by(idempotency_key=f"attr:line:{coop_line.id}").one()
    reversal = db.session.query(JournalEntry).filter_by(idempotency_key=f"refund:{done.id}:line:{coop_line.id}").one()
    credited = {p.account_id: -p.amount_fen for p in line_entry.postings if p.amount_fen < 0}
    taken = {p.account_id: p.amount_fen for p in reversal.postings if p.amount_fen > 0}
    assert taken == {account: fen // 4 for account, fen in credited.items()}
    assert credited_to_recipients(order.id) == order.total_fen - 4_000  # credits = paid − refunded
    assert_ledger_clean()


def test_finance_records_the_outgoing_transfer_and_the_organisation_is_paid_back(inst):
    order = paid_by_transfer(inst)
    done = refund(inst, order, {1: 1})
    bank_before = balance_fen(account_id("bank"))
    outgoing = pay_back(inst, done, bank_reference="HX2026120500001")
    assert (outgoing.amount_fen, outgoing.value_date, outgoing.organisation_id) == (1_500, SENT, inst.organisation.id)
    assert db.session.get(Refund, done.id).status == "succeeded"
    assert owed_to(inst.organisation) == 0
    assert balance_fen(account_id("bank")) == bank_before - 1_500
    paid = db.session.query(JournalEntry).filter_by(rule=TRANSFER_REFUND_PAID).one()
    assert paid.rule_settings["bank_reference"] == "HX2026120500001"
    assert [row[0].id for row in transfer_refunds.refunds_owed()] == []
    assert [row[0].id for row in transfer_refunds.refunds_paid_back()] == [outgoing.id]
    assert_ledger_clean()


def test_a_whole_refund_gives_back_everything_including_shipping_and_each_order_adds_up(inst):
    order = paid_by_transfer(inst)
    done = refund(inst, order, {0: 20, 1: 2}, restock=True)
    order = db.session.get(Order, order.id)
    assert order.status == "refunded" and done.amount_fen == order.total_fen == order.refunded_fen
    assert credited_to_recipients(order.id) == 0
    assert owed_to(inst.organisation) == order.total_fen
    pay_back(inst, done)
    assert owed_to(inst.organisation) == 0
    assert_ledger_clean()


def test_a_refund_after_settlement_never_takes_a_paid_out_household_below_zero(inst):
    seller = inst.district.household(verified_poor=True)
    eggs = inst.district.variant(seller, price_fen=1_500)
    order = paid_by_transfer(inst, [(eggs, 2)])  # 3,000 to a poor household selling directly
    inst.district.settle(order)
    post_payout_approved(inst.district.payout_item(household=seller, amount_fen=2_500).id)
    db.session.commit()
    done = refund(inst, order, {0: 2}, borne_by="platform")
    balance = household_balance(seller.id)
    assert (balance.posted_fen, balance.available_fen) == (0, 0)  # gave back the 500 it still had
    assert balance_fen(account_id("refund_losses")) == 2_500       # the platform bears what was paid out
    assert owed_to(inst.organisation) == done.amount_fen == order.total_fen  # the organisation gets all of it back
    pay_back(inst, done)
    assert_ledger_clean()


def deliver(inst, order):
    manager = inst.district.user("coop_manager", cooperative_id=inst.coop.id)
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id,
                                                        Shipment.seller_id == order.lines[0].seller_id))
    fulfilment.mark_packed(shipment.id, manager.id)
    fulfilment.mark_shipped(shipment.id, manager.id, "顺丰速运", f"SF{number():08d}")
    fulfilment.record_carrier_delivery(shipment.id, manager.id)
    return manager


def test_an_after_sales_claim_on_a_transfer_paid_order_is_owed_back_to_the_organisation(inst):
    order = paid_by_transfer(inst, [(inst.variant, 10)])
    manager = deliver(inst, order)
    claim = claims.open_claim(order.public_no, order.lines[0].id, inst.buyer.id, "damaged", 2, "refund", note="压坏了")
    claims.respond(claim.id, manager.id, "accept")
    done = db.session.get(Refund, db.session.get(type(claim), claim.id).refund_id)
    assert (done.method, done.status, done.amount_fen) == ("transfer", "owed", 1_600)
    attribute_refund(done.id)
    assert owed_to(inst.organisation) == 1_600
    assert credited_to_recipients(order.id) == order.total_fen - 1_600
    assert_ledger_clean()
    pay_back(inst, done)
    assert owed_to(inst.organisation) == 0
    assert_ledger_clean()


def test_refunding_more_than_was_paid_changes_nothing(inst):
    order = paid_by_transfer(inst)
    refund(inst, order, {1: 2})
    before = journal()
    with pytest.raises(DomainError):
        refund_order(order.id, {order.lines[1].id: 1}, inst.admin.id, restock=False)
    db.session.rollback()
    with pytest.raises(DomainError):
        refund_order(order.id, {order.lines[0].id: 21}, inst.admin.id, restock=False)
    db.session.rollback()
    assert journal() == before and db.session.get(Order, order.id).refunded_fen == 3_000
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1


def test_a_second_recording_of_a_refund_or_of_the_same_bank_transaction_changes_nothing(inst):
    order = paid_by_transfer(inst)
    first, second = refund(inst, order, {0: 1}), refund(inst, order, {0: 1})
    pay_back(inst, first, bank_reference="HX-1")
    before = journal()
    with pytest.raises(DomainError) as again:
        pay_back(inst, first, bank_reference="HX-2")
    assert again.value.code == "refund_paid_back_already" and "已经退回" in again.value.message
    with pytest.raises(DomainError) as same_bank:
        pay_back(inst, second, bank_reference="HX-1")
    assert same_bank.value.code == "bank_transaction_recorded"
    assert journal() == before
    assert db.session.get(Refund, second.id).status == "owed" and owed_to(inst.organisation) == 800
    assert db.session.scalar(select(func.count()).select_from(OutgoingTransfer)) == 1
    assert_ledger_clean()


def test_another_organisations_refund_or_the_wrong_amount_is_refused(inst):
    other = services.register_organisation(inst.admin.id, "淄川区总工会", "91350100M000100Y43", "union",
                                           inst.district.town.id, "淄川区", 2026, 5_000_00, "20")
    order = paid_by_transfer(inst)
    done = refund(inst, order, {0: 2})
    before = journal()
    with pytest.raises(DomainError) as other_org:
        pay_back(inst, done, organisation=other)
    assert other_org.value.code == "another_organisation"
    for wrong in (1_599, 1_601):
        with pytest.raises(DomainError) as wrong_amount:
            pay_back(inst, done, amount_fen=wrong)
        assert wrong_amount.value.code == "amount_not_owed" and "¥16.00" in wrong_amount.value.message
    with pytest.raises(DomainError) as no_reference:
        pay_back(inst, done, bank_reference="   ")
    assert no_reference.value.field == "bank_reference"
    with pytest.raises(NotFound):
        transfer_refunds.record_refund_transfer(inst.admin.id, done.id + 999, inst.organisation.id, SENT, 1_600, "X")
    with pytest.raises(Forbidden):
        transfer_refunds.record_refund_transfer(inst.finance.id, done.id, inst.organisation.id, SENT, 1_600, "X")
    assert journal() == before and db.session.get(Refund, done.id).status == "owed"
    assert db.session.scalar(select(func.count()).select_from(OutgoingTransfer)) == 0
    assert_ledger_clean()


def test_verify_finds_a_refund_owed_to_the_wrong_organisation(inst):
    from marketplace.ledger.services import post_entry

    order = paid_by_transfer(inst)
    done = refund(inst, order, {0: 1})
    # a forged pay-back entry with no outgoing transfer behind it, to an organisation that was owed nothing
    post_entry(f"transfer_refund:{done.id}", TRANSFER_REFUND_PAID,
               [(account_id("organisation_refunds", "organisation", inst.organisation.id + 1), 800),
                (account_id("bank"), -800)],
               rule_settings={"amount_fen": 800, "organisation_id": inst.organisation.id + 1},
               order_id=order.id, refund_id=done.id)
    db.session.commit()
    report = verify_ledger()
    failed = {violation.invariant for violation in report.violations}
    assert {"organisation_refunds", "rederivation"} <= failed


def test_the_finance_page_lists_refunds_owed_and_records_their_transfer(app, inst):
    order = paid_by_transfer(inst)
    done = refund(inst, order, {1: 1})
    client = signed_in(app, inst.admin)
    page = client.get("/admin/transfers")
    assert page.status_code == 200 and order.public_no in page.get_data(as_text=True)
    bad = client.post("/admin/transfers", data={
        "action": "refund_paid", "back-refund_id": done.id, "back-organisation_id": inst.organisation.id,
        "back-value_date": "2026-12-05", "back-amount": "14.99", "back-bank_reference": "HX-9"})
    assert bad.status_code == 422 and db.session.get(Refund, done.id).status == "owed"
    good = client.post("/admin/transfers", data={
        "action": "refund_paid", "back-refund_id": done.id, "back-organisation_id": inst.organisation.id,
        "back-value_date": "2026-12-05", "back-amount": "15.00", "back-bank_reference": "HX-9"})
    assert good.status_code == 303
    db.session.expire_all()
    assert db.session.get(Refund, done.id).status == "succeeded"
    assert "HX-9" in client.get("/admin/transfers").get_data(as_text=True)
    requisition = db.session.scalar(select(Requisition).where(Requisition.order_id == order.id))
    page = signed_in(app, inst.buyer).get(f"/org/requests/{requisition.id}").get_data(as_text=True)
    assert "以银行转账退回" in page and "HX-9" in page and "¥15.00" in page


def test_the_organisation_sees_a_refund_it_is_still_owed(app, inst):
    order = paid_by_transfer(inst)
    refund(inst, order, {1: 1})
    requisition = db.session.scalar(select(Requisition).where(Requisition.order_id == order.id))
    page = signed_in(app, inst.finance).get(f"/org/requests/{requisition.id}").get_data(as_text=True)
    assert "应退回贵单位" in page and "¥15.00" in page
    outsider = signed_in(app, inst.user("buyer"))
    assert outsider.get(f"/org/requests/{requisition.id}").status_code in (403, 404)


# --- random histories -----------------------------------------------------------------------------

STEPS = ("order", "order", "pay", "pay", "refund", "refund", "refund_all", "settle", "pay_back", "pay_back")


@settings(max_examples=6 if TEST_DATABASE_URL else 12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_transfer_histories_keep_credits_equal_to_paid_less_refunded(app_ctx, data):
    """Property: over any history of organisation orders paid by transfer, partial and whole
    refunds (before and after settlement) and refunds paid back, every order's recipients are
    credited exactly paid − refunded, the organisation is owed exactly its refunds not yet paid
    back, no household is ever below zero, and `ledger verify` is clean after every step."""
    _clean_tables()
    inst = Institution()
    orders, pending = [], []  # (requisition, order) awaiting payment; paid order ids
    for step in data.draw(st.lists(st.sampled_from(STEPS), min_size=3, max_size=9), label="steps"):
        if step == "order":
            lines = [(inst.variant, data.draw(st.integers(1, 6), label="coop units"))]
            if data.draw(st.booleans(), label="direct line too"):
                lines.append((inst.direct, data.draw(st.integers(1, 3), label="direct units")))
            try:
                pending.append(approved_order(inst, lines))
            except DomainError:  # sold out
                db.session.rollback()
        elif step == "pay" and pending:
            requisition, order = pending.pop(0)
            transfers.record_transfer(inst.admin.id, DAY, order.total_fen, "", requisition.transfer_reference)
            orders.append(order.id)
        elif step in ("refund", "refund_all", "settle") and orders:
            order = db.session.get(Order, data.draw(st.sampled_from(orders), label="order"))
            left = {i: line.quantity - line.refunded_quantity for i, line in enumerate(order.lines)
                    if line.quantity > line.refunded_quantity}
            if step == "settle":
                if order.settled_at is None:
                    inst.district.settle(order)
            elif left:
                chosen = left if step == "refund_all" else \
                    {(i := data.draw(st.sampled_from(sorted(left)), label="line")): data.draw(
                        st.integers(1, left[i]), label="units")}
                refund(inst, order, chosen, borne_by="platform")
        elif step == "pay_back":
            owed = transfer_refunds.refunds_owed()
            if owed:
                pay_back(inst, data.draw(st.sampled_from([row[0] for row in owed]), label="refund"))
        for order_id in orders:
            order = db.session.get(Order, order_id)
            assert credited_to_recipients(order_id) == order.total_fen - order.refunded_fen
        still_owed = sum(row[0].amount_fen for row in transfer_refunds.refunds_owed())
        assert owed_to(inst.organisation) == still_owed
        for household in (inst.household, inst.household2):
            assert household_balance(household.id).available_fen >= 0
        assert_ledger_clean()


def test_settlement_after_a_partial_refund_makes_only_the_rest_available(inst):
    seller = inst.district.household(verified_poor=True)
    eggs = inst.district.variant(seller, price_fen=1_500)
    order = paid_by_transfer(inst, [(eggs, 2)])
    refund(inst, order, {0: 1})
    assert household_balance(seller.id).available_fen == 0  # not settled: pending
    inst.district.settle(order)
    assert household_balance(seller.id).available_fen == 1_500
    assert_ledger_clean()

