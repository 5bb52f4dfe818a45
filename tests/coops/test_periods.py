from datetime import timedelta

from sqlalchemy import select

from marketplace.coops import periods
from marketplace.coops.models import CooperativePeriod
from marketplace.extensions import db
from marketplace.ledger.attribution import preview_dividends
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import account_id
from tests.coops.conftest import make_paid_order, pay_and_attribute

MONTHLY = {"profit_return_percent": "30", "dividend_percent": "40", "period": "month", "weight_land": "1",
           "weight_house": "0.8", "weight_fund": "1.2", "weight_cash": "1"}


def this_month():
    start = periods.today().replace(day=1)
    return start, periods.period_end(start, "month")


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
    assert client.post("/coop/periods", data={"period_start": start.isoformat(),
                                              "previewed_total_fen": total}).status_code == 303

    def posted():
        period = db.session.scalar(select(CooperativePeriod).filter_by(cooperative_id=lili.cooperative_id))
        return period is not None and period.status == "closed" and period.id
    period_id = celery_worker.wait_for(posted)
    with app.app_context():
        entry = db.session.scalar(select(JournalEntry).filter_by(idempotency_key=f"dividend:period:{period_id}"))
        credited = {posting.account_id: -posting.amount_fen for posting in entry.postings if posting.amount_fen < 0}
        assert credited == {account_id("household_payable", "household", h): fen for h, fen in expected.items()}
    assert client.post("/coop/periods", data={"period_start": start.isoformat(),
                                              "previewed_total_fen": total}).status_code == 303
    with app.app_context():
        assert db.session.query(CooperativePeriod).count() == 1  # a period closes once


def test_a_period_that_has_not_ended_cannot_be_closed(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    start, _end = this_month()
    response = client.post("/coop/periods", data={"period_start": start.isoformat(), "previewed_total_fen": 0})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.query(CooperativePeriod).count() == 0


def test_a_preview_that_is_out_of_date_closes_nothing(app, client, auth, lili, monkeypatch):
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    start, end = this_month()
    with app.app_context():
        pay_and_attribute(make_paid_order("GRAIN-1J", quantity=9))
    monkeypatch.setattr(periods, "today", lambda: end + timedelta(days=1))
    response = client.post("/coop/periods", data={"period_start": start.isoformat(), "previewed_total_fen": 1})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.query(CooperativePeriod).count() == 0


def test_the_periods_page_offers_ended_months(client, auth, lili):
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=MONTHLY)
    last_month_start = (periods.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    assert f"start={last_month_start.isoformat()}" in client.get("/coop/periods").get_data(as_text=True)
