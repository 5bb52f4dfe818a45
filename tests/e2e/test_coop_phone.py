import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.catalog.models import Product
from marketplace.extensions import db

pytestmark = pytest.mark.browser


def test_a_manager_adds_a_variant_with_a_photo_records_a_lot_and_sees_the_new_stock(app, demo, live_server, phone,
                                                                                      tmp_path):
    product_id = db.session.scalar(select(Product.id).filter_by(slug="lili-minor-grains"))
    db.session.remove()
    photo = tmp_path / "millet.png"
    Image.new("RGB", (800, 600), (220, 180, 60)).save(photo)

    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", "coop@demo.cn")
    phone.fill("input[name=password]", "demo1234")
    phone.click("main button[type=submit]")
    expect(phone.locator("h1")).to_have_text("李里村小杂粮专业合作社")  # the dashboard names the cooperative

    phone.goto(f"{live_server}/coop/products/{product_id}/variants/new")
    phone.fill("input[name=name_zh]", "3斤礼袋")
    phone.fill("input[name=name_en]", "3 jin gift bag")
    phone.select_option("select[name=unit]", "bag")
    phone.fill("input[name=price]", "26.80")
    phone.fill("input[name=stock_available]", "5")
    phone.fill("input[name=lot_units]", "3")
    phone.click("form.stacked button[type=submit]")
    expect(phone.locator(".row-list")).to_contain_text("3斤礼袋")
    expect(phone.locator(".row-list")).to_contain_text("¥26.80")

    phone.set_input_files("input[name=photo]", str(photo))
    phone.click("form[enctype] button[type=submit]")
    expect(phone.locator(".photo-strip img")).to_have_count(2)

    phone.click("nav.coop-tabs >> text=批次")
    phone.click("text=登记批次")
    phone.select_option("select[name=product_id]", str(product_id))
    phone.fill("input[name=quantity]", "31")
    phone.select_option("select[name=variant_id]", label="李里小杂粮 · 3斤礼袋")
    phone.click("form.stacked button[type=submit]")
    expect(phone.locator(".lots li").first).to_contain_text("31")

    phone.goto(f"{live_server}/coop/products/{product_id}/preview")
    # 5 in stock + 31 jin delivered ÷ 3 jin a bag = 10 more bags.
    expect(phone.locator(".variant-list")).to_contain_text("3斤礼袋")
    expect(phone.locator(".variant-list li", has_text="3斤礼袋")).to_contain_text("15")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
