import re
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace.coops import periods
from marketplace.coops.models import CooperativePeriod, DividendPreview, Membership, ShareHolding
from marketplace.extensions import db
from marketplace.ledger.attribution import preview_dividends
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import account_id
from marketplace.ledger.rules.dividends import distributable_profit
from tests.coops.conftest import make_paid_order, pay_and_attribute

MONTHLY = {"profit_return_percent": "30", "dividend_percent": "40", "period": "month", "weight_land": "1",
           "weight_house": "0.8", "weight_fund": "1.2", "weight_cash": "1"}


def this_month():
    start = periods.today().replace(day=1)
    return start, periods.period_end(start, "month")


def preview_id_on(page):
    """The preview the page's confirm form would close (a hidden field, as the browser submits it)."""
    return int(re.search(r'name="preview_id"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="preview_id"',
                         page.get_data(as_text=True)).group(1))


def credited_by(period_id):
    entry = db.session.scalar(select(JournalEntry).filter_by(idempotency_key=f"dividend:period:{period_id}"))
    return {posting.account_id: -posting.amount_fen for posting in entry.postings if posting.amount_fen < 0}


def closed_period_id():
    period = db.session.scalar(select(CooperativePeriod))
    return period is not None and period.status == "closed" and period.id


def test_the_dividends_posted_are_the_dividends_previewed(app, client, auth, lili, celery_worker, monkeypatch):
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    start, end = this_month()
    with app.app_context():
        for quantity in (7, 11):
            pay_and_attribute(make_paid_order("GRAIN-1J", quantity=quantity))
        expected = preview_dividends(lili.cooperative_id, start, end)
    assert len(expected) > 1 and sum(expected.values()) > 0
    monkeypatch.setattr(periods, "today", lambda: end + timedelta(days=1))  # the month has ended

    page = client.get(f"/coop/periods/preview?start={start.isoformat()}&lang=en")
    assert page.status_code == 200
    total = sum(expected.values())
    assert f"¥{total / 100:,.2f}" in page.get_data(as_text=True)
    with app.app_context():  # the page shows how the profit shared out was computed
        profit = distributable_profit(lili.cooperative_id, start, end)
    breakdown = page.get_data(as_text=True).split('data-testid="profit-breakdown"')[1].split("</section>")[0]
    assert profit.profit_fen > 0 and profit.floor_cost_fen > 0
    for fen in (profit.revenue_fen, profit.floor_cost_fen, profit.margin_fen, profit.profit_fen):
        assert f"{fen / 100:,.2f}" in breakdown
    preview_id = preview_id_on(page)
    assert client.post("/coop/periods", data={"preview_id": preview_id}).status_code == 303

    period_id = celery_worker.wait_for(closed_period_id)
    with app.app_context():
        assert credited_by(period_id) == {account_id("household_payable", "household", h): fen
                                          for h, fen in expected.items()}
    assert client.post("/coop/periods", data={"preview_id": preview_id}).status_code == 303
    assert client.get(f"/coop/periods/preview?start={start.isoformat()}").status_code == 302  # closed: no preview
    with app.app_context():
        assert db.session.query(CooperativePeriod).count() == 1  # a period closes once
        assert db.session.query(DividendPreview).count() == 1


def test_shares_changed_after_the_preview_move_no_fen(app, client, auth, lili, celery_worker, monkeypatch):
    """The finding: shares changed between preview and posting moved 5,203 fen between members."""
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    start, end = this_month()
    with app.app_context():
        for quantity in (7, 11):
            pay_and_attribute(make_paid_order("GRAIN-1J", quantity=quantity))
        previewed = preview_dividends(lili.cooperative_id, start, end)
    monkeypatch.setattr(periods, "today", lambda: end + timedelta(days=1))
    page = client.get(f"/coop/periods/preview?start={start.isoformat()}")
    with app.app_context():  # after the preview, one member's shares grow tenfold
        holding = db.session.scalar(select(ShareHolding).join(Membership).where(
            Membership.cooperative_id == lili.cooperative_id, Membership.household_id == lili.household_id))
        holding.quantity = holding.quantity * 10 + Decimal(1)
        db.session.commit()
        assert preview_dividends(lili.cooperative_id, start, end) != previewed
    assert client.post("/coop/periods", data={"preview_id": preview_id_on(page)}).status_code == 303

    period_id = celery_worker.wait_for(closed_period_id)
    with app.app_context():
        assert credited_by(period_id) == {account_id("household_payable", "household", h): fen
                                          for h, fen in previewed.items()}
        assert db.session.get(CooperativePeriod, period_id).dividend_preview_id == preview_id_on(page)


def test_a_period_that_has_not_ended_cannot_be_previewed_or_closed(app, client, auth, lili, monkeypatch):
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    start, end = this_month()
    assert client.get(f"/coop/periods/preview?start={start.isoformat()}").status_code == 302
    monkeypatch.setattr(periods, "today", lambda: end + timedelta(days=1))
    preview_id = preview_id_on(client.get(f"/coop/periods/preview?start={start.isoformat()}"))
    monkeypatch.setattr(periods, "today", lambda: end)  # a preview confirmed before the period ended
    assert client.post("/coop/periods", data={"preview_id": preview_id}).status_code == 303
    with app.app_context():
        assert db.session.query(CooperativePeriod).count() == 0
        assert db.session.query(DividendPreview).count() == 1


def test_a_preview_that_is_out_of_date_closes_nothing(app, client, auth, lili, monkeypatch):
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    start, end = this_month()
    with app.app_context():
        pay_and_attribute(make_paid_order("GRAIN-1J", quantity=9))
    monkeypatch.setattr(periods, "today", lambda: end + timedelta(days=1))
    preview_id = preview_id_on(client.get(f"/coop/periods/preview?start={start.isoformat()}"))
    with app.app_context():  # a late sale in the period after the preview
        pay_and_attribute(make_paid_order("GRAIN-1J", quantity=3))
    response = client.post("/coop/periods?lang=en", data={"preview_id": preview_id, "period_start": start.isoformat()})
    assert response.location.endswith(f"/coop/periods/preview?start={start.isoformat()}")  # to a new preview
    page = client.get(response.location).get_data(as_text=True)
    assert "The figures changed since your preview" in page
    assert preview_id_on(client.get(response.location)) > preview_id
    with app.app_context():
        assert db.session.query(CooperativePeriod).count() == 0


def test_a_manager_cannot_close_another_cooperatives_preview(app, client, auth, lili, monkeypatch):
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    start, end = this_month()
    monkeypatch.setattr(periods, "today", lambda: end + timedelta(days=1))
    preview_id = preview_id_on(client.get(f"/coop/periods/preview?start={start.isoformat()}"))
    auth.login_as("coop2@demo.cn")
    assert client.post("/coop/periods", data={"preview_id": preview_id}).status_code == 404
    with app.app_context():
        assert db.session.query(CooperativePeriod).count() == 0


def test_the_periods_page_offers_ended_months(client, auth, lili):
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    last_month_start = (periods.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    assert f"start={last_month_start.isoformat()}" in client.get("/coop/periods").get_data(as_text=True)
