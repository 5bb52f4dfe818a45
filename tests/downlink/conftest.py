"""Downlink fixtures: the demo district's service point 北坪村 (agent@demo.cn), the supplier
惠民 (supplier@demo.cn), and helpers to credit a household's earnings and place orders."""
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from marketplace.catalog.models import Product, Seller, Variant
from marketplace.downlink import ordering
from marketplace.downlink.models import DeliveryArea
from marketplace.extensions import db
from marketplace.ledger.services import account_id, household_account, post_entry
from marketplace.people.models import Household, Supplier, User
from marketplace.places.models import ServicePoint, Village


def user_id(email):
    return db.session.scalar(select(User.id).where(User.email == email))


def village_households(village_zh):
    return db.session.scalars(select(Household).join(Village).where(Village.name_zh == village_zh)
                              .order_by(Household.id)).all()


def variant_id(sku):
    return db.session.scalar(select(Variant.id).where(Variant.sku == sku))


def credit_earnings(household_id, amount_fen, reference="test"):
    """Give a household earnings as the ledger would (a floor purchase paid by a co-operative)."""
    post_entry(f"test-credit:{household_id}:{reference}", "floor_purchase",
               [(account_id("cooperative_inventory", "cooperative", 1), amount_fen),
                (household_account(household_id), -amount_fen)])
    db.session.commit()


def make_agent(village_zh, email):
    point = db.session.scalar(select(ServicePoint).join(Village).where(Village.name_zh == village_zh))
    user = User(email=email, name=f"{village_zh}代办员", role="agent", service_point_id=point.id)
    user.set_password("demo1234")
    db.session.add(user)
    db.session.commit()
    return user.id


def make_supplier(email="supplier2@demo.cn", town_id=None, village_zh="北坪村"):
    """A second supplier delivering to `village_zh`, with one product (SKU RICE-10KG, ¥50.00)."""
    supplier = Supplier(name_zh="第二供应商", name_en="Second supplier", town_id=town_id)
    db.session.add(supplier)
    db.session.flush()
    village = db.session.scalar(select(Village).where(Village.name_zh == village_zh))
    db.session.add(DeliveryArea(supplier_id=supplier.id, village_id=village.id))
    seller = Seller(kind="supplier", supplier_id=supplier.id)
    db.session.add(seller)
    db.session.flush()
    product = Product(slug="second-rice", seller_id=seller.id, category_id=_downlink_category_id(),
                      direction="downlink", title_zh="大米", title_en="Rice")
    db.session.add(product)
    db.session.flush()
    db.session.add(Variant(product_id=product.id, sku="RICE-10KG", name_zh="10公斤", name_en="10 kg", unit="bag",
                           price_fen=5000, stock_available=100))
    user = User(email=email, name="第二供应商", role="supplier", supplier_id=supplier.id)
    user.set_password("demo1234")
    db.session.add(user)
    db.session.commit()
    return SimpleNamespace(id=supplier.id, user_id=user.id)


def _downlink_category_id():
    from marketplace.catalog.models import Category

    return db.session.scalar(select(Category.id).where(Category.direction == "downlink"))


@pytest.fixture
def dl(demo):
    """Names for the demo's downlink: the agent, the supplier, a Beiping household and the goods."""
    supplier_id = db.session.scalar(select(Supplier.id).where(Supplier.name_zh == "惠民农资日用品超市"))
    ns = SimpleNamespace(
        agent_id=user_id("agent@demo.cn"), supplier_user_id=user_id("supplier@demo.cn"), supplier_id=supplier_id,
        household_id=village_households("北坪村")[0].id, other_household_id=village_households("北坪村")[1].id,
        fertiliser=variant_id("FERT-40KG"), oil=variant_id("OIL-5L"), seed=variant_id("SEED-CORN"),
        soap=variant_id("SOAP-2KG"),
    )
    db.session.remove()
    return ns


@pytest.fixture
def place(dl):
    """place(quantities, payment, household_id=…) as the demo agent, for the demo supplier."""
    def _place(quantities, payment_method="cash", household_id="default", agent_id=None, supplier_id=None, **extra):
        household = dl.household_id if household_id == "default" else household_id
        return ordering.place_order(agent_id or dl.agent_id, supplier_id or dl.supplier_id, quantities,
                                    payment_method, household_id=household, **extra)
    return _place
