from sqlalchemy import select

from marketplace.demo.seed import USERS, seed_demo
from marketplace.extensions import db
from marketplace.ledger.services import household_account, owed_to_fen
from marketplace.models import Household, Product, User


def test_seeding_twice_changes_nothing(app_ctx):
    first = seed_demo()
    second = seed_demo()
    assert first == second
    assert first["Household"] >= 60
    assert first["Town"] >= 6


def test_the_district_has_what_the_article_describes(demo):
    titles = set(db.session.scalars(select(Product.title_zh)))
    assert {"焦氏雪梨", "李里小杂粮", "寨里有机小米", "纱帽山楂", "久润富硒西红柿"} <= titles
    roles = {user.role for user in db.session.scalars(select(User))}
    assert roles == {role for _, _, role, _ in USERS}


def test_lot_intake_credited_households_their_floor_price(demo):
    # The Lili co-op buys minor grains at 5元/斤: a 100 斤 lot is 500元 owed to the household.
    lili_grower = db.session.scalars(select(Household).join(Household.village).filter_by(name_zh="李里村")
                                     .order_by(Household.id)).first()
    assert owed_to_fen(household_account(lili_grower.id)) == 100 * 500


def test_sensitive_numbers_are_encrypted_at_rest_and_masked(demo):
    household = db.session.scalars(select(Household).where(Household.payout_method == "bank")).first()
    stored = db.session.connection().exec_driver_sql(
        f"SELECT registry_no, bank_account FROM households WHERE id = {household.id}").one()
    assert household.registry_no.encode() not in bytes(stored[0])
    assert household.bank_account.encode() not in bytes(stored[1])
    assert household.registry_no_masked.endswith(household.registry_no[-4:])
    assert household.registry_no_masked.count("*") >= 6


def test_the_demo_orders_show_every_step_of_settlement_and_a_payout_of_settled_income(demo):
    from marketplace.demo.orders import seed_demo_orders
    from marketplace.ledger.verify import verify_ledger
    from marketplace.orders.models import Order, Shipment
    from marketplace.payouts.models import CooperativeDeposit, PayoutItem

    seed_demo_orders()
    seed_demo_orders()  # once
    steps = dict(db.session.execute(select(Order.public_no, Order.status).where(Order.public_no.like("SXDEMO%"))).all())
    assert steps == {"SXDEMO0001": "completed", "SXDEMO0002": "delivered", "SXDEMO0003": "shipped",
                     "SXDEMO0004": "paid", "SXDEMO0005": "delivered", "SXDEMO0006": "partially_refunded",
                     "SXDEMO0007": "cancelled"}
    awaiting_confirmation = db.session.scalars(select(Shipment).where(Shipment.status == "shipped")).all()
    assert len(awaiting_confirmation) == 1
    assert db.session.scalar(select(CooperativeDeposit.status)) == "approved"
    # The article's household: 100 斤 at its 5元 floor (funded by Lili's deposit) and the 90元 profit return.
    assert 59_000 in db.session.scalars(select(PayoutItem.amount_fen).where(PayoutItem.status == "paid")).all()
    assert verify_ledger().ok
    # The village agent has a household with earnings to spend on daily goods.
    from marketplace.downlink.ordering import point_households

    agent = db.session.scalar(select(User.id).filter_by(email="agent@demo.cn"))
    assert max(available for _household, available in point_households(agent)) >= 500_00


def test_the_demo_has_an_open_claim_holding_its_shipment_and_a_resolved_one_refunded(demo):
    from marketplace.aftersales.models import Claim
    from marketplace.demo.orders import seed_demo_orders
    from marketplace.ledger.verify import verify_ledger
    from marketplace.orders.models import Order, Shipment

    seed_demo_orders()
    by_order = {no: claim for no, claim in db.session.execute(
        select(Order.public_no, Claim).join(Claim, Claim.order_id == Order.id)).all()}
    open_claim, resolved = by_order["SXDEMO0005"], by_order["SXDEMO0006"]
    assert open_claim.status == "awaiting_seller" and len(open_claim.photos) == 1
    assert db.session.get(Shipment, open_claim.shipment_id).claim_opened_at is not None
    assert resolved.status == "resolved" and resolved.refund_fen > 0
    assert db.session.get(Shipment, resolved.shipment_id).claim_opened_at is None  # its refund is posted
    assert verify_ledger().ok


def test_the_demo_canteen_has_an_order_paid_by_transfer_and_one_awaiting_approval(app_ctx):
    from marketplace.demo.orders import seed_demo_orders
    from marketplace.ledger.verify import verify_ledger
    from marketplace.local_time import local_today
    from marketplace.organisations.models import IncomingTransfer, Organisation, Requisition
    from marketplace.organisations.report import quota_report

    seed_demo()
    seed_demo_orders()
    seed_demo_orders()  # runs once
    canteen = db.session.scalar(select(Organisation).filter_by(name="淄川区第一中学食堂"))
    statuses = sorted(r.status for r in db.session.scalars(select(Requisition).filter_by(organisation_id=canteen.id)))
    assert statuses == ["approved", "awaiting_approval"]
    assert [t.outcome for t in db.session.scalars(select(IncomingTransfer))] == ["matched"]
    report = quota_report(canteen.id, local_today().year)
    assert report.bought_fen > 0 and report.households_reached >= 2
    assert verify_ledger().ok


def test_the_demo_buyer_has_a_default_address_in_zhangdian(demo):
    from marketplace.orders.addresses import default_address

    address = default_address(db.session.scalar(select(User.id).where(User.email == "buyer@demo.cn")))
    assert (address.region_code, address.region_name) == ("370303", "山东省淄博市张店区")


def test_the_demo_pre_orders_and_subscription_deliver_to_the_buyers_address_picked_by_region(app, client, auth):
    from marketplace.orders.addresses import default_address
    from marketplace.presales.models import PreOrder
    from marketplace.subscriptions.models import Subscription

    with app.app_context():
        seed_demo()
        buyer = db.session.scalar(select(User.id).where(User.email == "buyer@demo.cn"))
        saved = default_address(buyer)
        preorders = db.session.scalars(select(PreOrder).where(PreOrder.buyer_id == buyer).order_by(PreOrder.id)).all()
        subscriptions = db.session.scalars(select(Subscription).where(Subscription.buyer_id == buyer)).all()
        assert len(preorders) == 2 and len(subscriptions) == 1
        for row in (*preorders, *subscriptions):
            assert (row.delivery_kind, row.region_code, row.region_name, row.address_detail) == \
                ("address", saved.region_code, "山东省淄博市张店区", saved.address_detail)
            assert (row.recipient_name, row.recipient_phone, row.address) == \
                (saved.recipient_name, saved.recipient_phone, saved.full_address)
        pages = [f"/preorders/{p.id}" for p in preorders] + [f"/subscriptions/{s.id}" for s in subscriptions]
        db.session.remove()

    auth.login_as("buyer@demo.cn")
    for url in pages:
        page = client.get(url).get_data(as_text=True)
        assert "城市买家 小林 · 山东省淄博市张店区华光路 188 号 3 号楼 501" in page, url
