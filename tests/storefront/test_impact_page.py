from sqlalchemy import select

from marketplace.extensions import db
from marketplace.ledger.chain import seal_pending
from marketplace.ledger.figures import fold_sealed_entries
from marketplace.ledger.reports import town_impact
from marketplace.places.models import Town


def publish_figures():
    seal_pending()
    fold_sealed_entries()


def test_a_towns_impact_page_shows_ledger_figures_and_a_chart(client, district, app):
    with app.app_context():
        taihe = db.session.scalar(select(Town).filter_by(slug="taihe"))
        impact = town_impact(taihe.id)
        publish_figures()  # what the sealing task does every few seconds
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
    with app.app_context():
        publish_figures()
        db.session.remove()
    page = client.get("/towns/taihe/impact").get_data(as_text=True)
    assert "¥0.10" in page


def test_an_unknown_town_is_404(client, district):
    assert client.get("/towns/atlantis/impact").status_code == 404


def test_the_impact_page_reads_kept_figures_whatever_the_size_of_the_ledger(app, client):
    """The public page never sums postings: its queries neither touch the ledger nor grow with it."""
    from tests.ledger.builders import District
    from tests.test_query_counts import counting_queries

    with app.app_context():
        district = District()
        growers = [district.household() for _ in range(40)]
        coop = district.cooperative(members=[(grower, 1) for grower in growers])
        grains = district.variant(coop, price_fen=800, floor_price_fen=500)
        slug, grower_ids, variant_id = district.town.slug, [grower.id for grower in growers], grains.id
        db.session.remove()

    def post_lots_and_count(count):
        from marketplace.catalog.models import Variant
        from marketplace.people.models import Household

        with app.app_context():
            for household_id in grower_ids[:count]:
                district.lot(db.session.get(Variant, variant_id), db.session.get(Household, household_id), 3)
            publish_figures()
            db.session.remove()
        client.get(f"/towns/{slug}/impact")  # warms what is not per row (translations, compiled SQL)
        with counting_queries(app) as statements:
            page = client.get(f"/towns/{slug}/impact").get_data(as_text=True)
        assert f'<span class="stat-value">{count}</span>' in page  # households reached
        return statements

    few, many = post_lots_and_count(2), post_lots_and_count(40)
    assert len(few) == len(many) <= 3
    assert not any("postings" in sql or "journal_entries" in sql for sql in many), many
