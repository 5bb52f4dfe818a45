"""The supplier's statement: each order, what it paid, the commission at the agreed rate, what is owed."""
from decimal import Decimal

from marketplace.extensions import db
from marketplace.people.models import Supplier
from tests.downlink.conftest import credit_earnings


def sell_at_three_percent(dl, place):
    """An earnings-paid order of 2 bags of fertiliser (¥330.00) and a can of oil (¥99.00); its number."""
    db.session.get(Supplier, dl.supplier_id).commission_rate = Decimal("0.03")
    db.session.commit()
    credit_earnings(dl.household_id, 500_00)
    order_no = place({dl.fertiliser: 2, dl.oil: 1}, "earnings").public_no
    db.session.remove()  # SQLite: release the write lock before signing in
    return order_no


# The `demo` fixture keeps one app context for the whole test, so the page's language is chosen once a test.
def test_the_statement_shows_each_order_with_the_commission_at_the_agreed_rate(client, auth, dl, place):
    order_no = sell_at_three_percent(dl, place)
    auth.login_as("supplier@demo.cn")
    english = client.get("/supplier/statement?lang=en").get_data(as_text=True)
    assert "Commission agreed with the platform: 3%" in english
    assert order_no in english
    # 33 000 × 3 % = 990 and 9 900 × 3 % = 297 fen, recorded line by line
    for figure in ("¥429.00", "¥12.87", "at 3%", "¥416.13"):
        assert figure in english, figure


def test_the_statement_reads_in_chinese(client, auth, dl, place):
    order_no = sell_at_three_percent(dl, place)
    auth.login_as("supplier@demo.cn")
    chinese = client.get("/supplier/statement?lang=zh_CN").get_data(as_text=True)
    assert order_no in chinese and "¥12.87" in chinese and "¥416.13" in chinese
    assert "佣金" in chinese
    for english_word in ("Commission", "Owed to you", "Statement", "at 3%"):
        assert english_word not in chinese, english_word


def test_a_supplier_with_no_agreed_rate_sees_no_commission(client, auth, dl, place):
    credit_earnings(dl.household_id, 500_00)
    place({dl.oil: 1}, "earnings")
    db.session.remove()

    auth.login_as("supplier@demo.cn")
    page = client.get("/supplier/statement?lang=en").get_data(as_text=True)
    assert "Commission agreed with the platform: 0%" in page
    assert "¥0.00" in page and "¥99.00" in page
