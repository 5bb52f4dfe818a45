from io import BytesIO
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.catalog.models import Product, ProductPhoto, Variant
from marketplace.extensions import db

PRODUCT = {"title_zh": "李里红小豆", "title_en": "Lili red beans", "category_id": 2, "story_zh": "山地红小豆",
           "story_en": "Hill-grown red beans", "label_organic": "y", "floor_price": "4.50"}
VARIANT = {"name_zh": "2斤装", "name_en": "2 jin bag", "unit": "bag", "price": "19.90", "stock_available": 12,
           "weight_grams": 1000, "lot_units": 2}


def picture(kind="PNG", size=(640, 480)):
    buffer = BytesIO()
    Image.new("RGB", size, (200, 80, 60)).save(buffer, kind)
    return buffer.getvalue()


def test_a_manager_lists_a_product_with_a_variant_priced_in_yuan(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    response = client.post("/coop/products/new", data=PRODUCT)
    assert response.status_code == 302
    with app.app_context():
        product = db.session.scalar(select(Product).filter_by(title_zh="李里红小豆"))
        assert (product.floor_price_fen, product.label_organic, product.status) == (450, True, "draft")
        assert product.seller.cooperative_id == lili.cooperative_id
        product_id = product.id
    assert client.post(f"/coop/products/{product_id}/variants/new", data=VARIANT).status_code == 302
    with app.app_context():
        variant = db.session.scalar(select(Variant).filter_by(product_id=product_id))
        assert (variant.price_fen, variant.stock_available, variant.unit) == (1990, 12, "bag")
    page = client.get(f"/coop/products/{product_id}/preview").get_data(as_text=True)
    assert "李里红小豆" in page and "¥19.90" in page


def test_a_tampered_price_is_refused_and_nothing_is_listed(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    for price in ("-1", "0", "1.234", "abc", "99999999"):
        response = client.post(f"/coop/products/{lili.product_id}/variants/new", data={**VARIANT, "price": price})
        assert response.status_code == 422, price
    with app.app_context():
        assert db.session.query(Variant).filter_by(product_id=lili.product_id).count() == 2


def test_editing_pausing_and_archiving_a_product(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    client.post(f"/coop/products/{lili.product_id}", data={**PRODUCT, "title_zh": "李里小杂粮（新米）"})
    client.post(f"/coop/products/{lili.product_id}/status", data={"status": "paused"})
    with app.app_context():
        product = db.session.get(Product, lili.product_id)
        assert (product.title_zh, product.status, product.floor_price_fen) == ("李里小杂粮（新米）", "paused", 500)
    assert "李里小杂粮（新米）" not in client.get("/").get_data(as_text=True)
    client.post(f"/coop/products/{lili.product_id}/status", data={"status": "archived"})
    with app.app_context():
        assert db.session.get(Product, lili.product_id).status == "archived"


def test_stock_changed_by_an_order_meanwhile_is_not_overwritten(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    with app.app_context():
        db.session.get(Variant, lili.variant_id).stock_available = 497  # an order took 3 meanwhile
        db.session.commit()
    response = client.post(f"/coop/variants/{lili.variant_id}", data={**VARIANT, "stock_available": 600,
                                                                        "stock_seen": 500})
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get(Variant, lili.variant_id).stock_available == 497
    client.post(f"/coop/variants/{lili.variant_id}", data={**VARIANT, "stock_available": 600, "stock_seen": 497})
    with app.app_context():
        assert db.session.get(Variant, lili.variant_id).stock_available == 600


def test_a_photo_is_re_encoded_with_a_thumbnail(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    response = client.post(f"/coop/products/{lili.product_id}/photos",
                           data={"photo": (BytesIO(picture("PNG")), "beans.png")}, content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context():
        photo = db.session.scalars(select(ProductPhoto).filter_by(product_id=lili.product_id)
                                   .order_by(ProductPhoto.id.desc())).first()
        folder = Path(app.config["UPLOAD_DIR"])
        assert Image.open(folder / photo.filename).format == "JPEG"
        assert Image.open(folder / photo.thumbnail).size == (320, 240)


def upload_refused(app, client, lili, data, name):
    with app.app_context():
        before = db.session.query(ProductPhoto).count()
    client.post(f"/coop/products/{lili.product_id}/photos", data={"photo": (BytesIO(data), name)},
                content_type="multipart/form-data")
    with app.app_context():
        return db.session.query(ProductPhoto).count() == before


def test_files_that_are_not_pictures_are_refused(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    assert upload_refused(app, client, lili, b"<script>alert(1)</script>", "x.jpg")
    assert upload_refused(app, client, lili, picture("GIF"), "x.gif")


def test_an_oversized_photo_is_refused(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    assert upload_refused(app, client, lili, picture("PNG") + b"\0" * (5 * 1024 * 1024), "big.png")


def test_a_decompression_bomb_is_refused(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    bomb = BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # a few kB that expand to 400 megapixels
    assert len(bomb.getvalue()) < 200_000
    assert upload_refused(app, client, lili, bomb.getvalue(), "bomb.png")


def test_an_agent_lists_directly_for_a_household_of_the_village(app, client, auth, lili):
    from marketplace.people.models import Household, User
    from marketplace.places.models import ServicePoint

    with app.app_context():
        agent = db.session.scalar(select(User).filter_by(email="agent@demo.cn"))
        village_id = db.session.get(ServicePoint, agent.service_point_id).village_id
        household_id = db.session.scalar(select(Household.id).filter_by(village_id=village_id))
        agent_id = agent.id
    auth.login_as("agent@demo.cn")
    response = client.post("/coop/on-behalf/listing", data={
        **PRODUCT, "household_id": household_id, "variant_name_zh": "1斤装", "variant_name_en": "1 jin",
        "unit": "jin", "price": "9.50", "stock_available": 20})
    assert response.status_code == 303
    with app.app_context():
        product = db.session.scalar(select(Product).filter_by(title_zh="李里红小豆"))
        assert product.seller.household_id == household_id and product.floor_price_fen is None
        assert [v.price_fen for v in product.variants] == [950]
        log = db.session.scalar(select(AuditLog).filter_by(action="product.created", object_id=product.id))
        assert (log.actor_id, log.on_behalf_of_household_id) == (agent_id, household_id)


def test_a_new_product_is_a_draft_until_it_has_a_price_stock_and_a_photo(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    client.post("/coop/products/new", data={**PRODUCT, "title_en": "", "lot_unit": "bottle"})
    with app.app_context():
        product = db.session.scalar(select(Product).filter_by(title_zh="李里红小豆"))
        product_id, slug = product.id, product.slug
        assert (product.status, product.lot_unit, product.title("en")) == ("draft", "bottle", "李里红小豆")
    assert "李里红小豆" not in client.get("/").get_data(as_text=True)
    assert client.get(f"/products/{slug}").status_code == 404

    page = client.post(f"/coop/products/{product_id}/status", data={"status": "active"},
                       follow_redirects=True).get_data(as_text=True)
    assert "还不能上架" in page and "一张照片" in page and "有价格的规格" in page
    client.post(f"/coop/products/{product_id}/variants/new", data={**VARIANT, "name_en": ""})
    client.post(f"/coop/products/{product_id}/photos", data={"photo": (BytesIO(picture()), "beans.png")},
                content_type="multipart/form-data")
    with app.app_context():
        assert db.session.get(Product, product_id).status == "draft"
    client.post(f"/coop/products/{product_id}/status", data={"status": "active"})
    with app.app_context():
        assert db.session.get(Product, product_id).status == "active"
    english = client.get(f"/products/{slug}?lang=en").get_data(as_text=True)
    assert "(in Chinese)" in english and "at least ¥4.50 per bottle" in english
