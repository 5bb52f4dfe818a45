from sqlalchemy import func, select

from marketplace.catalog.models import SupplyLot
from marketplace.database import utcnow
from marketplace.downlink import reports
from marketplace.extensions import db
from marketplace.ledger.balances import supplier_payable_fen
from marketplace.people.models import Household, Supplier
from marketplace.places.models import Village
from tests.downlink.conftest import make_agent, make_supplier


def test_the_two_way_page_shows_what_the_village_sold_up_and_bought_down_this_month(app_ctx, dl, place):
    agent = make_agent("李里村", "lili-agent@demo.cn")
    floor_credits = db.session.scalar(
        select(func.sum(SupplyLot.quantity * SupplyLot.floor_price_fen)).join(Household).join(Village)
        .where(Village.name_zh == "李里村"))
    grower = db.session.scalars(select(Household).join(Village).where(Village.name_zh == "李里村")
                                .order_by(Household.id)).first()
    order = place({dl.oil: 1}, "earnings", household_id=grower.id, agent_id=agent)

    rows = reports.two_way_by_month(agent)

    assert rows == [{"month": f"{utcnow():%Y-%m}", "households_fen": floor_credits, "cooperatives_fen": 0,
                     "downlink_fen": order.total_fen}]


def test_what_suppliers_are_owed_is_listed_per_town_for_the_payout_batch(app_ctx, dl, place):
    second = make_supplier(town_id=db.session.scalar(select(Supplier.town_id).where(Supplier.id == dl.supplier_id)))
    from marketplace.downlink.pickup import hand_over
    from marketplace.downlink.runs import consolidate, dispatch_run, receive_run

    order = place({dl.oil: 1}, "cash")
    run = consolidate()[0]
    dispatch_run(dl.supplier_user_id, run.id)
    receive_run(dl.agent_id, run.id)
    hand_over(dl.agent_id, order.public_no, order.pickup_code, cash_received_fen=order.total_fen)
    town_id = db.session.get(Supplier, dl.supplier_id).town_id

    owed = reports.supplier_payables_for_town(town_id)

    assert [(supplier.id, fen) for supplier, fen in owed] == [(dl.supplier_id, supplier_payable_fen(dl.supplier_id))]
    assert owed[0][1] > 0 and second.id not in {supplier.id for supplier, _ in owed}  # owed nothing: left out
    assert reports.supplier_owed(dl.supplier_user_id) == owed[0][1]
