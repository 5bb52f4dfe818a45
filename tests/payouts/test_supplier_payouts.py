"""Daily-goods suppliers are paid in their town's payout batches what the ledger says they are owed."""
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from marketplace.orders.settlement import settle_order_now
from marketplace.audit.models import AuditLog
from marketplace.crypto import mask
from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.ledger.balances import supplier_payable_fen
from marketplace.ledger.models import JournalEntry
from marketplace.payouts import exports
from marketplace.payouts import services as payouts
from marketplace.payouts.models import PayoutBatch, PayoutItem
from marketplace.people.models import Supplier, User
from marketplace.places.models import Town
from tests.downlink.conftest import credit_earnings

BANK_ACCOUNT = "6228480402564890018"


def staff(email, town_id):
    user = User(email=email, name=email.split("@")[0], role="town_staff", town_id=town_id)
    user.set_password("demo1234")
    db.session.add(user)
    db.session.commit()
    return user.id


@pytest.fixture
def xihe(dl, place):
    """The demo supplier (based in Xihe town) owed for one earnings-paid order, with a bank account
    on file, and two Xihe staff members to draft and approve."""
    supplier = db.session.get(Supplier, dl.supplier_id)
    supplier.bank_name, supplier.bank_account, supplier.bank_account_masked = \
        "中国农业银行淄川支行", BANK_ACCOUNT, mask(BANK_ACCOUNT)
    town_id = supplier.town_id
    db.session.commit()
    credit_earnings(dl.household_id, 50_000)
    order = place({dl.oil: 2}, "earnings")
    settle_order_now(order.id)  # handed over at the service point: the supplier's credit is available
    db.session.commit()
    found = SimpleNamespace(town_id=town_id, maker_id=staff("xihe1@demo.cn", town_id),
                            checker_id=staff("xihe2@demo.cn", town_id), supplier_id=dl.supplier_id,
                            supplier_user_id=dl.supplier_user_id, owed_fen=supplier_payable_fen(dl.supplier_id))
    db.session.remove()
    return found


def supplier_items(batch_id):
    return db.session.execute(select(PayoutItem.supplier_id, PayoutItem.amount_fen)
                              .where(PayoutItem.batch_id == batch_id, PayoutItem.supplier_id.is_not(None))).all()


def entries(rule, item_id):
    return db.session.scalar(select(func.count()).select_from(JournalEntry)
                             .where(JournalEntry.rule == rule, JournalEntry.payout_item_id == item_id))


def test_a_supplier_owed_for_paid_orders_is_drafted_for_exactly_its_payable(xihe):
    assert xihe.owed_fen > 0
    batch = payouts.create_batch(xihe.maker_id, "bank", 0)
    assert supplier_items(batch.id) == [(xihe.supplier_id, xihe.owed_fen)]


def test_approving_and_paying_the_supplier_item_clears_its_payable(xihe):
    batch = payouts.create_batch(xihe.maker_id, "bank", 0)
    payouts.approve_batch(xihe.checker_id, batch.id)
    item = db.session.scalar(select(PayoutItem).where(PayoutItem.batch_id == batch.id,
                                                      PayoutItem.supplier_id == xihe.supplier_id))
    assert item.status == "approved" and entries("payout_approved", item.id) == 1
    assert supplier_payable_fen(xihe.supplier_id) == 0  # in transit: no longer owed

    payouts.mark_item_paid(xihe.checker_id, item.id, "ABC-123")

    assert entries("payout_paid", item.id) == 1
    assert supplier_payable_fen(xihe.supplier_id) == 0
    shown = payouts.supplier_payouts(xihe.supplier_user_id)
    assert [(i.amount_fen, i.status, i.reference) for i in shown] == [(xihe.owed_fen, "paid", "ABC-123")]


def test_a_supplier_in_an_open_batch_is_not_drafted_twice(xihe, place, dl):
    payouts.create_batch(xihe.maker_id, "bank", 0)
    place({dl.oil: 1}, "earnings")  # owed more meanwhile: still waits for the open batch to settle
    try:
        second = payouts.create_batch(xihe.maker_id, "bank", 0)
    except Conflict:
        return
    assert supplier_items(second.id) == []


def test_a_supplier_based_in_another_town_is_not_in_this_towns_batch(xihe, lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    assert supplier_items(batch.id) == []
    assert db.session.scalar(select(Town.slug).where(Town.id == xihe.town_id)) != "lingzi"


def test_a_supplier_without_a_bank_account_is_paid_in_cash(xihe):
    supplier = db.session.get(Supplier, xihe.supplier_id)
    supplier.bank_account, supplier.bank_account_masked = None, ""
    db.session.commit()
    batch = payouts.create_batch(xihe.maker_id, "cash", 0)
    assert supplier_items(batch.id) == [(xihe.supplier_id, xihe.owed_fen)]


def test_paying_a_supplier_more_than_it_is_owed_is_refused_with_nothing_posted(xihe):
    batch = payouts.create_batch(xihe.maker_id, "bank", 0)
    item = db.session.scalar(select(PayoutItem).where(PayoutItem.batch_id == batch.id,
                                                      PayoutItem.supplier_id == xihe.supplier_id))
    item.amount_fen += 1
    db.session.commit()
    with pytest.raises(payouts.PayoutExceedsBalance, match="惠民农资日用品超市"):
        payouts.approve_batch(xihe.checker_id, batch.id)
    assert db.session.get(PayoutBatch, batch.id).status == "draft"
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)
                             .where(JournalEntry.rule == "payout_approved")) == 0


def test_the_bank_file_and_batch_page_show_the_supplier_with_its_account(xihe, client, auth):
    batch = payouts.create_batch(xihe.maker_id, "bank", 0)
    payouts.approve_batch(xihe.checker_id, batch.id)
    batch_id = batch.id
    _batch, content = exports.bank_csv(xihe.checker_id, batch_id)
    text = content.decode("utf-8-sig")
    assert "惠民农资日用品超市" in text and BANK_ACCOUNT in text and f"{xihe.owed_fen / 100:.2f}" in text
    db.session.remove()

    page = auth.login_as("xihe2@demo.cn").get(f"/town/payouts/{batch_id}").get_data(as_text=True)

    assert "惠民农资日用品超市" in page and mask(BANK_ACCOUNT) in page and BANK_ACCOUNT not in page


def test_a_supplier_enters_its_bank_account_on_its_portal_and_is_then_paid_by_bank(xihe, client, auth):
    supplier = db.session.get(Supplier, xihe.supplier_id)
    supplier.bank_name, supplier.bank_account, supplier.bank_account_masked = "", None, ""
    db.session.commit()
    db.session.remove()
    auth.login_as("supplier@demo.cn")
    page = client.post("/supplier/bank-account", data={"bank_name": "淄博农商银行",
                                                       "account": "6217 0001 2345 6789 012"}, follow_redirects=True)
    assert "已保存" in page.get_data(as_text=True)
    supplier = db.session.get(Supplier, xihe.supplier_id)
    assert (supplier.bank_name, supplier.bank_account, supplier.bank_account_masked) == (
        "淄博农商银行", "6217000123456789012", mask("6217000123456789012"))
    shown = client.get("/supplier/bank-account").get_data(as_text=True)
    assert mask("6217000123456789012") in shown and "6217000123456789012" not in shown
    stored = db.session.execute(text("SELECT bank_account FROM suppliers WHERE id = :id"),
                                {"id": xihe.supplier_id}).scalar()
    assert b"6217000123456789012" not in bytes(stored), "kept encrypted at rest"
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "payouts.supplier_bank_account_set", AuditLog.object_id == xihe.supplier_id)) == 1
    batch = payouts.create_batch(xihe.maker_id, "bank", 0)
    assert supplier_items(batch.id) == [(xihe.supplier_id, xihe.owed_fen)]


@pytest.mark.parametrize("bank_name, account, message", [
    ("", "6217000123456789012", "请输入开户银行名称"),
    ("淄博农商银行", "6217-abc", "12 到 30 位数字"),
    ("淄博农商银行", "12345", "12 到 30 位数字"),
])
def test_a_malformed_bank_account_is_refused_and_nothing_changes(xihe, client, auth, bank_name, account, message):
    auth.login_as("supplier@demo.cn")
    response = client.post("/supplier/bank-account", data={"bank_name": bank_name, "account": account})
    assert response.status_code in (400, 422) and message in response.get_data(as_text=True)
    assert db.session.get(Supplier, xihe.supplier_id).bank_account == BANK_ACCOUNT


def test_the_bank_account_cannot_change_while_a_payout_to_it_is_under_way(xihe):
    payouts.create_batch(xihe.maker_id, "bank", 0)
    with pytest.raises(Conflict, match="结清"):
        payouts.set_supplier_bank_account(xihe.supplier_user_id, "另一家银行", "6217000123456789012")
    db.session.rollback()
    assert db.session.get(Supplier, xihe.supplier_id).bank_account == BANK_ACCOUNT
