"""WeChat Pay and Alipay on the pre-sale pay pages, through the real `stripe` library against the
local Stripe stand-in (payments/local_stripe_wallets.py): a deposit paid by a (simulated) WeChat
scan, the balance by Alipay; the deposit is held as a liability as for cards; Stripe's fee on each
is recorded by method, posted, and reconciliation matches the charges."""
import html
import re
from urllib.parse import urlsplit

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import account_id, balance_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import Order
from marketplace.presales.models import PreOrder, PreSalePayment
from marketplace.reconciliation import services as reconciliation
from tests.coops.conftest import lili  # noqa: F401
from tests.payments.test_refund_lifecycle import stripe_config
from tests.presales.test_presale_pages import gift_box, open_as_manager, preorder_as, preorder_of, record_lot  # noqa: F401
from tests.storefront.conftest import send_event
from tests.storefront.test_wallet_payments import press_on_stand_in_page


def payment_of(app, preorder_id, kind):
    with app.app_context():
        payment = db.session.scalar(select(PreSalePayment).where(PreSalePayment.preorder_id == preorder_id,
                                                                 PreSalePayment.kind == kind))
        db.session.expunge_all()
        return payment


def test_a_deposit_by_wechat_pay_and_a_balance_by_alipay_fill_the_order_with_their_fees(
        app, client, auth, lili, gift_box, stripe_server):  # noqa: F811
    presale_id = open_as_manager(app, client, auth, gift_box)
    preorder_id = preorder_as(app, client, auth, "buyer@demo.cn", presale_id, 2)
    page = client.get(f"/preorders/{preorder_id}/pay").get_data(as_text=True)
    assert 'value="wechat_pay"' in page and 'value="alipay"' in page and "pay-test-card" in page

    response = client.post(f"/preorders/{preorder_id}/pay/wallet", data={"method": "wechat_pay"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/preorders/{preorder_id}/pay")
    page = client.get(f"/preorders/{preorder_id}/pay").get_data(as_text=True)
    assert "微信扫码付款" in page and "<svg" in page and "wallet_status.js" in page and 'id="open-in-wechat"' in page
    assert client.get(f"/preorders/{preorder_id}/payment-status").get_json()["pending"] is True
    deposit = payment_of(app, preorder_id, "deposit")
    assert (deposit.payment_method_type, deposit.status) == ("wechat_pay", "requires_action")
    with app.app_context():
        assert balance_fen(account_id("presale_deposits", "presale", presale_id)) == 0  # nothing held before the scan

    response = client.post(f"/preorders/{preorder_id}/pay/simulate", data={"outcome": "succeed"})
    assert response.status_code == 303
    assert preorder_of(app, preorder_id).status == "committed"
    assert client.get(f"/preorders/{preorder_id}/payment-status").get_json()["pending"] is False
    deposit = payment_of(app, preorder_id, "deposit")
    assert (deposit.payment_method_type, deposit.amount_fen, deposit.fee_fen) == ("wechat_pay", 2000, 0)
    with app.app_context():
        # Held, as for a card: the pre-sale's liability, nobody's income.
        assert balance_fen(account_id("presale_deposits", "presale", presale_id)) == -2000
        assert verify_ledger().ok

    # Stripe learns the WeChat Pay fee later; its event settles the deposit again and posts the fee once.
    stripe_config(stripe_server, f"charges/{deposit.stripe_charge_id}/fee", fee=12)
    for event_id in ("evt_fee", "evt_fee", "evt_fee_again"):
        send_event(app, client, "payment_intent.succeeded", deposit.stripe_payment_intent_id, event_id)
    deposit = payment_of(app, preorder_id, "deposit")
    assert deposit.fee_fen == 12
    with app.app_context():
        assert balance_fen(account_id("payment_fees")) == 12
        assert balance_fen(account_id("presale_deposits", "presale", presale_id)) == -2000  # the hold keeps it all

    record_lot(app, client, auth, lili, 10)  # the harvest: the balance is asked
    assert preorder_of(app, preorder_id).status == "balance_due"
    auth.login_as("buyer@demo.cn")
    response = client.post(f"/preorders/{preorder_id}/pay/wallet", data={"method": "alipay"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/preorders/{preorder_id}/pay?go=alipay")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    alipay_page = html.unescape(re.search(r'href="([^"]+)" id="continue-alipay"', page).group(1))
    assert f'content="0;url={html.escape(alipay_page)}"' in page

    # A return forged before approving changes nothing: only Stripe says it was paid.
    balance = payment_of(app, preorder_id, "balance")
    client.get(f"/preorders/{preorder_id}", query_string={"payment_intent": balance.stripe_payment_intent_id,
                                                          "redirect_status": "succeeded"})
    assert preorder_of(app, preorder_id).status == "balance_due"

    back = press_on_stand_in_page(alipay_page, "succeed")
    balance = payment_of(app, preorder_id, "balance")
    with app.app_context():
        from marketplace.payments import stripe_gateway
        charge = stripe_gateway.retrieve_payment_intent(balance.stripe_payment_intent_id).latest_charge
        charge_id = charge if isinstance(charge, str) else charge.id
    stripe_config(stripe_server, f"charges/{charge_id}/fee", fee=34)  # known before we read the charge
    parts = urlsplit(back)
    assert parts.path == f"/preorders/{preorder_id}"
    assert client.get(f"{parts.path}?{parts.query}").status_code == 200
    preorder = preorder_of(app, preorder_id)
    assert preorder.status == "filled"
    balance = payment_of(app, preorder_id, "balance")
    assert (balance.payment_method_type, balance.amount_fen, balance.fee_fen) == ("alipay", 5600, 34)
    with app.app_context():
        assert db.session.get(Order, preorder.order_id).status == "paid"
        assert balance_fen(account_id("presale_deposits", "presale", presale_id)) == 0  # filled: nothing held
        assert balance_fen(account_id("payment_fees")) == 46
        fees = db.session.scalars(select(JournalEntry.idempotency_key).where(
            JournalEntry.idempotency_key.like("presale:fee:%"))).all()
        assert sorted(fees) == sorted([f"presale:fee:{deposit.id}", f"presale:fee:{balance.id}"])
        assert verify_ledger().ok

        # Reconciliation sees both charges, matched with their fees, by method.
        reconciliation.sync_with_stripe()
        summary = reconciliation.summary()
        assert [(d.kind, d.detail) for d in summary["open"]] == []
        by_method = {(row["method"], row["category"]): (row["count"], row["amount"], row["fee"])
                     for row in summary["by_method"]}
        assert by_method[("wechat_pay", "charge")] == (1, 2000, 12)
        assert by_method[("alipay", "charge")] == (1, 5600, 34)
        db.session.remove()


def test_a_qr_that_expires_leaves_the_deposit_unpaid_and_the_card_still_pays_it(app, client, auth, lili, gift_box,
                                                                               stripe_server):  # noqa: F811
    presale_id = open_as_manager(app, client, auth, gift_box)
    preorder_id = preorder_as(app, client, auth, "buyer@demo.cn", presale_id, 1)
    client.post(f"/preorders/{preorder_id}/pay/wallet", data={"method": "wechat_pay"})
    client.post(f"/preorders/{preorder_id}/pay/simulate", data={"outcome": "expire"})
    assert preorder_of(app, preorder_id).status == "pending_deposit"
    with app.app_context():
        assert balance_fen(account_id("presale_deposits", "presale", presale_id)) == 0
    bad = client.post(f"/preorders/{preorder_id}/pay/wallet?lang=en", data={"method": "paypal"}, follow_redirects=True)
    assert "Choose WeChat Pay or Alipay" in bad.get_data(as_text=True)
    assert client.post(f"/preorders/{preorder_id}/pay/test-card", data={"confirm": "1"}).status_code == 303
    assert preorder_of(app, preorder_id).status == "committed"
    with app.app_context():
        assert balance_fen(account_id("presale_deposits", "presale", presale_id)) == -1000
        assert verify_ledger().ok


def test_another_buyers_pre_order_has_no_wallet_to_pay_or_simulate(app, client, auth, lili, gift_box,
                                                                    stripe_server):  # noqa: F811
    presale_id = open_as_manager(app, client, auth, gift_box)
    preorder_id = preorder_as(app, client, auth, "buyer@demo.cn", presale_id, 1)
    from tests.presales.test_presale_pages import another_buyer
    another_buyer(app)
    auth.login_as("buyer3@demo.cn")
    assert client.post(f"/preorders/{preorder_id}/pay/wallet", data={"method": "wechat_pay"}).status_code == 404
    assert client.post(f"/preorders/{preorder_id}/pay/simulate", data={"outcome": "succeed"}).status_code == 404
    assert client.get(f"/preorders/{preorder_id}/payment-status").status_code == 404
    assert payment_of(app, preorder_id, "deposit") is None
