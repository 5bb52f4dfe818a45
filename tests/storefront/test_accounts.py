import re
import time
from email import message_from_string
from email.policy import default
from pathlib import Path

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.orders.models import Order
from marketplace.outbox.models import OutboxMessage
from marketplace.payments.models import Refund
from tests.storefront.conftest import stock_of


def reset_link(app):
    """The link in the last e-mail of the mail log (bodies are MIME-encoded, so parse them)."""
    log = Path(app.config["MAIL_LOG_PATH"]).read_text(encoding="utf-8")
    last = re.split(r"^(?=From: )", log, flags=re.MULTILINE)[-1]
    body = message_from_string(last, policy=default).get_content()
    return re.findall(r"http://localhost(/password/reset/\S+)", body)[-1]


class SignedTwoHoursAgo(TimestampSigner):
    def get_timestamp(self):
        return int(time.time()) - 7200


def test_sign_up_signs_in_and_refuses_a_taken_e_mail(client, district, app):
    response = client.post("/signup", data={"name": "小周", "email": "Zhou@Example.cn", "password": "longenough1",
                                            "confirm": "longenough1"}, follow_redirects=True)
    assert "欢迎！您的账号已创建" in response.get_data(as_text=True)
    assert "我的订单" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    again = client.post("/signup", data={"email": "zhou@example.cn", "password": "longenough2", "confirm": "longenough2"})
    assert again.status_code == 409 and "这个邮箱已经注册过了" in again.get_data(as_text=True)


def test_sign_up_refuses_short_or_mismatched_passwords(client, district, app):
    assert client.post("/signup", data={"email": "a@example.cn", "password": "short", "confirm": "short"}).status_code == 400
    mismatched = client.post("/signup", data={"email": "a@example.cn", "password": "longenough1", "confirm": "longenough2"})
    assert mismatched.status_code == 400 and "两次输入的密码不一致" in mismatched.get_data(as_text=True)


def test_password_reset_by_e_mail_works_once(client, district, app, auth):
    client.post("/password/forgot", data={"email": "buyer@demo.cn"})
    link = reset_link(app)
    assert client.post(link, data={"password": "a-new-password", "confirm": "a-new-password"}).status_code == 303
    assert auth.login("buyer@demo.cn", "a-new-password").status_code == 302
    client.post("/logout")
    used = client.post(link, data={"password": "third-password", "confirm": "third-password"})
    assert used.status_code == 400 and "重设密码链接已经用过" in used.get_data(as_text=True)
    assert auth.login("buyer@demo.cn", "third-password").status_code == 401


def test_an_expired_or_forged_reset_link_is_refused(client, district, app):
    forged = client.get("/password/reset/not-a-token")
    assert forged.status_code == 400 and "重设密码链接无效" in forged.get_data(as_text=True)
    with app.app_context():
        old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="password-reset", signer=SignedTwoHoursAgo)
        token = old.dumps({"user": 1, "fingerprint": "x"})
    expired = client.get(f"/password/reset/{token}")
    assert expired.status_code == 400 and "已过期" in expired.get_data(as_text=True)


def test_asking_for_a_reset_does_not_reveal_whether_an_account_exists(client, district, app):
    known = client.post("/password/forgot", data={"email": "buyer@demo.cn"}, follow_redirects=True)
    unknown = client.post("/password/forgot", data={"email": "nobody@example.cn"}, follow_redirects=True)
    message = "如果这个邮箱有账号"
    assert message in known.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_order_history_and_timeline(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    client.post(f"/orders/{order.public_no}/pay/test-card")
    history = client.get("/orders").get_data(as_text=True)
    assert order.public_no in history and "已付款" in history
    detail = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert detail.index("订单已提交") < detail.index("已收到付款")


def test_cancelling_an_unpaid_order_puts_the_goods_back(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 5)
    page = client.post(f"/orders/{order.public_no}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "订单已取消" in page and "您取消了订单" in page
    assert stock_of(app, "PEAR-5J") == 120


def test_cancelling_a_paid_order_refunds_it_and_the_ledger_reverses(shopper, client, app, stripe_server, celery_worker):
    order = shopper.buy("PEAR-5J", 2, round_up="y")
    client.post(f"/orders/{order.public_no}/pay/test-card")
    celery_worker.wait_for(lambda: db.session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.order_id == order.id, JournalEntry.rule == "payment_received")))
    client.post(f"/orders/{order.public_no}/cancel")
    assert stock_of(app, "PEAR-5J") == 120
    celery_worker.wait_for(lambda: db.session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.order_id == order.id, JournalEntry.rule == "refund_paid")))
    with app.app_context():
        from marketplace.ledger import impact_receipt

        current = db.session.get(Order, order.id)
        refund = db.session.scalar(select(Refund))
        assert (current.status, current.refunded_fen, refund.amount_fen) == ("cancelled", 9000, 9000)
        assert impact_receipt(order.id).total_fen == 0  # paid − refunded
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.task_name == "ledger.attribute_refund")) == 1
        db.session.remove()


def test_an_order_being_packed_cannot_be_cancelled(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    client.post(f"/orders/{order.public_no}/pay/test-card")
    with app.app_context():
        db.session.get(Order, order.id).status = "packed"
        db.session.commit()
    page = client.post(f"/orders/{order.public_no}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "不能再取消" in page
    with app.app_context():
        assert db.session.get(Order, order.id).status == "packed"
        assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
