"""The card grid's HTML is made once per card, language and mount point (marketplace.web.storefront.cards)."""
from dataclasses import replace

from flask_babel import force_locale

from marketplace.catalog.browse import Card
from marketplace.web.storefront.cards import product_cards

PEARS = Card(product_id=7, slug="jiao-snow-pears", title_zh="焦氏雪梨", title_en="Jiao family snow pears",
             label_selenium_rich=False, label_organic=True, label_poor_household_direct=True,
             village_name_zh="焦家村", village_name_en="Jiaojia Village", lowest_price_fen=3990, thumbnail=None)


def render(app, card, locale, script_name=""):
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": script_name}), force_locale(locale):
        return str(product_cards([card]))


def test_a_card_shows_its_row_in_the_page_language(app):
    for _ in range(2):  # made, then remembered
        chinese, english = render(app, PEARS, "zh_CN"), render(app, PEARS, "en")
        assert "焦氏雪梨" in chinese and "焦家村" in chinese and "有机" in chinese and "¥39.90" in chinese
        assert "Jiao family snow pears" in english and "Jiaojia Village" in english and "Organic" in english
        assert "焦氏雪梨" not in english and 'href="/products/jiao-snow-pears"' in english


def test_a_changed_row_is_rendered_again(app):
    render(app, PEARS, "zh_CN")
    cheaper = render(app, replace(PEARS, lowest_price_fen=2990, label_organic=False), "zh_CN")
    assert "¥29.90" in cheaper and "¥39.90" not in cheaper and "有机" not in cheaper


def test_a_card_links_under_the_apps_mount_point(app):
    assert 'href="/shop/products/jiao-snow-pears"' in render(app, PEARS, "zh_CN", script_name="/shop")
    assert 'href="/products/jiao-snow-pears"' in render(app, PEARS, "zh_CN")
