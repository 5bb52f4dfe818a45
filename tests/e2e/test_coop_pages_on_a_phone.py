import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.catalog.models import Product
from marketplace.extensions import db
from tests.conftest import ARTIFACTS
from tests.coops.conftest import make_paid_order, pay_and_attribute

pytestmark = pytest.mark.browser
PAGES = ["/coop/", "/coop/lots/new", "/coop/lots", "/coop/orders", "/coop/members", "/coop/rules", "/coop/periods",
         "/coop/products/{product_id}"]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_portal_page_fits_a_phone(demo, live_server, phone, language):
    product_id = db.session.scalar(select(Product.id).filter_by(slug="lili-minor-grains"))
    pay_and_attribute(make_paid_order("GRAIN-1J", quantity=4))
    make_paid_order("GRAIN-5J", quantity=1)
    db.session.remove()
    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", "coop@demo.cn")
    phone.fill("input[name=password]", "demo1234")
    phone.click("main button[type=submit]")
    phone.goto(f"{live_server}/lang/{language}")
    ARTIFACTS.mkdir(exist_ok=True)
    for path in PAGES:
        phone.goto(live_server + path.format(product_id=product_id))
        expect(phone.locator("h1").first).to_be_visible()
        name = path.strip("/").replace("/", "-").replace("{product_id}", "edit") or "dashboard"
        phone.screenshot(path=str(ARTIFACTS / f"coop-{language}-{name}.png"), full_page=True)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, f"{path} scrolls sideways"
