from sqlalchemy import select

from marketplace.extensions import db
from marketplace.ledger.reports import town_impact
from marketplace.places.models import Town


def test_a_towns_impact_page_shows_ledger_figures_and_a_chart(client, district, app):
    with app.app_context():
        taihe = db.session.scalar(select(Town).filter_by(slug="taihe"))
        impact = town_impact(taihe.id)
        db.session.remove()
    assert impact.households_reached > 0 and impact.by_mechanism["floor_purchase"] > 0  # the demo lots
    page = client.get("/towns/taihe/impact").get_data(as_text=True)
    assert "太河镇帮扶成效" in page
    assert f'<span class="stat-value">{impact.households_reached}</span>' in page
    assert "保底收购" in page and "<svg" in page and 'class="chart-bar"' in page
    from marketplace.money import format_fen

    assert format_fen(impact.by_mechanism["floor_purchase"]) in page
    english = client.get("/towns/taihe/impact?lang=en").get_data(as_text=True)
    assert "Impact of Taihe Town" in english and "Guaranteed floor purchase" in english


def test_the_love_fund_shows_round_ups_once_paid(shopper, client, app, stripe_server, celery_worker):
    order = shopper.buy("PEAR-5J", 1, round_up="y")
    client.post(f"/orders/{order.public_no}/pay/test-card")
    from marketplace.ledger.balances import love_fund_summary

    celery_worker.wait_for(lambda: love_fund_summary(order.donation_town_id)["received_fen"] == 10)
    page = client.get("/towns/taihe/impact").get_data(as_text=True)
    assert "¥0.10" in page


def test_an_unknown_town_is_404(client, district):
    assert client.get("/towns/atlantis/impact").status_code == 404
