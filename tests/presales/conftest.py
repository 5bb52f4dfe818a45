from datetime import timedelta

import pytest

from marketplace.database import utcnow
from marketplace.local_time import local_today
from marketplace.presales.services import open_presale
from tests.ledger.builders import District


class Harvest:
    """A cooperative with two member households, a pear variant (floor ¥5, price ¥8) and its manager."""

    def __init__(self):
        self.district = d = District()
        self.h1, self.h2 = d.household(), d.household()
        self.coop = d.cooperative(profit_return_rate="0.30", members=[(self.h1, 1), (self.h2, 1)])
        self.variant = d.variant(self.coop, 800, floor_price_fen=500)
        self.manager = d.user("coop_manager", cooperative_id=self.coop.id)
        from marketplace.extensions import db
        db.session.commit()

    def buyer(self):
        from marketplace.extensions import db
        user = self.district.user("buyer")
        db.session.commit()
        return user

    def presale(self, expected=10, deposit=200, short_policy="last_first", unpaid_policy="refund", price=800):
        return open_presale(self.manager.id, self.variant.id, expected, price, deposit,
                            utcnow() + timedelta(days=20), local_today() + timedelta(days=30),
                            local_today() + timedelta(days=45), short_policy=short_policy,
                            unpaid_policy=unpaid_policy, balance_days=3)

    def lot(self, household, quantity):
        return self.district.lot(self.variant, household, quantity, received_on=local_today())


@pytest.fixture
def harvest(app_ctx):
    return Harvest()
