"""API test helpers: tokens for the demo's people, and a client that sends them as bearer tokens."""
import pytest
from sqlalchemy import select

from marketplace.api.tokens import create_token
from marketplace.catalog.models import Product, SupplyLot, Variant
from marketplace.extensions import db
from marketplace.people.models import User

DELIVERY = {"delivery_kind": "address", "recipient_name": "小林", "recipient_phone": "13800000000",
            "address": "上海市徐汇区漕溪北路 1 号"}


def user_id(email):
    return db.session.scalar(select(User.id).where(User.email == email))


def make_buyer(email):
    """A second buyer, beside the demo's one."""
    user = User(email=email, name="另一位买家", role="buyer")
    user.set_password("another-password-1")
    db.session.add(user)
    db.session.commit()
    return user.id


class Api:
    """The Flask test client with helpers that send JSON and a bearer token.

    Its database helpers use the test's own app context (the `demo` fixture holds one, and the
    test client's requests share it), ending their transaction at once.
    """

    def __init__(self, app, client):
        self.app = app
        self.client = client
        self.tokens = {}

    def token_for(self, email):
        if email not in self.tokens:
            if user_id(email) is None:
                make_buyer(email)
            _token, self.tokens[email] = create_token(user_id(email), "tests")
            db.session.remove()
        return self.tokens[email]

    def _headers(self, email, headers):
        sent = dict(headers or {})
        if email:
            sent["Authorization"] = f"Bearer {self.token_for(email)}"
        return sent

    def get(self, path, as_=None, headers=None, **kwargs):
        return self.client.get(f"/api/v1{path}", headers=self._headers(as_, headers), **kwargs)

    def post(self, path, json=None, as_=None, headers=None):
        return self.client.post(f"/api/v1{path}", json=json, headers=self._headers(as_, headers))

    def put(self, path, json=None, as_=None):
        return self.client.put(f"/api/v1{path}", json=json, headers=self._headers(as_, None))

    def patch(self, path, json=None, as_=None):
        return self.client.patch(f"/api/v1{path}", json=json, headers=self._headers(as_, None))

    def delete(self, path, as_=None):
        return self.client.delete(f"/api/v1{path}", headers=self._headers(as_, None))

    def first_variant(self, in_stock=True):
        """An active variant of an active uplink product with stock (id, slug)."""
        variant = db.session.scalar(
            select(Variant).join(Product).where(Product.status == "active", Product.direction == "uplink",
                                                Variant.is_active.is_(True), Variant.stock_available > 5)
            .order_by(Variant.id))
        found = (variant.id, variant.product.slug)
        db.session.remove()
        return found

    def lot_of(self, cooperative_email):
        """A supply lot of the cooperative the manager with this e-mail runs."""
        cooperative_id = db.session.scalar(select(User.cooperative_id).where(User.email == cooperative_email))
        lot_id = db.session.scalar(select(SupplyLot.id).where(SupplyLot.cooperative_id == cooperative_id)
                                   .order_by(SupplyLot.id))
        db.session.remove()
        return lot_id


@pytest.fixture
def api(app, client, demo):
    return Api(app, client)
