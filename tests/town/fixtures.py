"""Town-portal fixtures shared by the town's test packages: Lingzi town (李里村) of the demo district."""
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.people.models import Household, User
from marketplace.places.models import Town, Village


@dataclass
class Lingzi:
    town_id: int
    maker_id: int
    checker_id: int
    other_town_staff_id: int
    buyer_id: int

    def households(self, method=None):
        query = select(Household).join(Village).where(Village.town_id == self.town_id).order_by(Household.id)
        if method:
            query = query.where(Household.payout_method == method)
        return db.session.scalars(query).all()

    def earning(self, method):
        """Households paid by `method` with something available (floor purchases at seed)."""
        return [h for h in self.households(method) if household_balance(h.id).available_fen > 0]


def user_id(email):
    return db.session.scalar(select(User.id).filter_by(email=email))


@pytest.fixture
def lingzi(demo):
    town_id = db.session.scalar(select(Town.id).filter_by(slug="lingzi"))
    found = Lingzi(town_id, user_id("town@demo.cn"), user_id("town2@demo.cn"), user_id("taihe@demo.cn"),
                   user_id("buyer@demo.cn"))
    db.session.remove()
    return found


def release():
    """End the test's own transaction: on SQLite it holds the write lock a request would wait for."""
    db.session.remove()
