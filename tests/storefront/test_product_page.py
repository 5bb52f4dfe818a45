from sqlalchemy import select

from marketplace.extensions import db
from marketplace.people.models import Household


def test_product_page_shows_provenance_floor_price_and_suppliers(client, demo):
    page = client.get("/products/jiao-snow-pears").get_data(as_text=True)
    assert "响泉村" in page and "太河镇" in page
    assert "响泉焦氏雪梨专业合作社" in page
    assert "皮薄汁多" in page  # the story
    assert "5斤装" in page and "¥39.90" in page and "库存 120" in page
    assert "¥4.00" in page  # the guaranteed floor per jin
    assert "目前在售批次来自 4 户农家" in page
    assert '<img class="qr-code" src="/products/jiao-snow-pears/qr.svg"' in page


def test_the_qr_code_is_an_image_the_browser_keeps(client, demo):
    qr = client.get("/products/jiao-snow-pears/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert qr.get_data(as_text=True).lstrip().startswith(("<?xml", "<svg")) and "<path" in qr.get_data(as_text=True)
    assert qr.cache_control.public and qr.cache_control.max_age == 24 * 3600
    assert client.get("/products/no-such-product/qr.svg").status_code == 404


def test_households_appear_only_by_consented_label_never_by_numbers(client, demo, app_ctx):
    page = client.get("/products/jiao-snow-pears").get_data(as_text=True)
    suppliers = db.session.scalars(
        select(Household).join(Household.village).where(Household.village.has(name_zh="响泉村")).order_by(Household.id).limit(4)
    ).all()
    for household in suppliers:
        assert household.registry_no not in page and household.registry_no_masked not in page
        assert household.head_name not in page
        if household.bank_account:
            assert household.bank_account not in page
        assert (household.display_label_zh in page) == household.consent_public


def test_a_household_seller_shows_as_its_public_label(client, demo, app_ctx):
    page = client.get("/products/beixiace-honey").get_data(as_text=True)
    assert "农户直供" in page and "免佣金" in page


def test_unknown_and_downlink_products_are_not_found(client, demo):
    assert client.get("/products/no-such-thing").status_code == 404
    assert client.get("/products/compound-fertiliser").status_code == 404


def test_english_page_reads_in_english(client, demo):
    page = client.get("/products/jiao-snow-pears?lang=en").get_data(as_text=True)
    assert "Jiao-family snow pears" in page and "Guaranteed floor price" in page and "¥39.90" in page
    assert "4 households supplied the lots on sale now." in page
