import pytest

from marketplace.extensions import db
from marketplace.organisations import services
from marketplace.organisations.models import OrganisationMember
from marketplace.people.models import User
from tests.ledger.builders import District, number

CANTEEN_CODE = "12370302MB2840352P"  # a valid unified social credit code (check character P)


class Institution:
    """A district with a cooperative product and its lots, an organisation with a buyer, two approvers
    and finance, and the platform admin (who records transfers)."""

    def __init__(self):
        self.district = District()
        d = self.district
        self.household = d.household(verified_poor=True)
        self.household2 = d.household(verified_poor=True)
        self.coop = d.cooperative(profit_return_rate="0.30", members=[(self.household, 1), (self.household2, 1)])
        self.variant = d.variant(self.coop, price_fen=800, floor_price_fen=500)
        d.lot(self.variant, self.household, 30)
        d.lot(self.variant, self.household2, 30)
        self.direct = d.variant(self.household2, price_fen=1500)
        self.admin = self.user("admin")
        self.organisation = services.register_organisation(
            self.admin.id, "淄川区第一中学食堂", CANTEEN_CODE, "canteen", d.town.id, "淄川区", 2026, 10_000_00, "30")
        self.buyer = self.member("buyer")
        self.approver = self.member("approver")
        self.approver2 = self.member("approver")
        self.finance = self.member("finance")

    def user(self, role):
        user = User(email=f"u{number()}@example.cn", name="用户", role=role)
        user.set_password("demo12345")
        db.session.add(user)
        db.session.commit()
        return user

    def member(self, role, organisation=None):
        user = self.user("buyer")
        db.session.add(OrganisationMember(organisation_id=(organisation or self.organisation).id, user_id=user.id,
                                          role=role))
        db.session.commit()
        return user

    def fill_cart(self, user, lines):
        from marketplace.orders.cart import add_item, open_cart

        cart = open_cart(user_id=user.id)
        for variant, quantity in lines:
            add_item(cart.id, variant.id, quantity)
        return cart


@pytest.fixture
def inst(app_ctx):
    return Institution()
