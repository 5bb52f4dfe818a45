from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.downlink import runs
from marketplace.downlink.models import DeliveryRun, PickupTicket
from marketplace.downlink.ordering import cancel_unpaid_order
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.orders.models import Order
from tests.downlink.conftest import make_agent, make_supplier, variant_id, village_households


def mark_paid(order):
    """What the Stripe webhook does when the villager's card payment succeeds."""
    db.session.execute(db.update(Order).where(Order.id == order.id).values(status="paid"))
    db.session.commit()


def orders_in(run):
    return {order.public_no for order in runs.run_orders(run.id)}


def test_a_delivery_run_groups_exactly_the_ready_orders_for_that_point_and_supplier(app_ctx, dl, place):
    paid_by_card = place({dl.oil: 1}, "stripe")
    mark_paid(paid_by_card)
    cash_on_pickup = place({dl.soap: 2}, "cash", household_id=dl.other_household_id)
    walk_in = place({dl.seed: 1}, "cash", household_id=None, walk_in_name="过路客")
    not_paid_yet = place({dl.oil: 1}, "stripe")
    cancelled = place({dl.fertiliser: 1}, "stripe")
    cancel_unpaid_order(dl.agent_id, cancelled.public_no)
    # The same supplier at another service point, and another supplier at this one.
    other_agent = make_agent("东东峪村", "agent2@demo.cn")
    other_point = place({dl.oil: 1}, "cash", household_id=village_households("东东峪村")[0].id, agent_id=other_agent)
    second = make_supplier()
    rice = variant_id("RICE-10KG")
    other_supplier = place({rice: 1}, "cash", supplier_id=second.id)

    made = runs.consolidate()

    by_pair = {(run.service_point_id, run.supplier_id): run for run in made}
    assert len(made) == 3
    beiping_run = next(run for run in made if run.supplier_id == dl.supplier_id
                       and run.service_point_id == paid_by_card.service_point_id)
    assert orders_in(beiping_run) == {paid_by_card.public_no, cash_on_pickup.public_no, walk_in.public_no}
    assert not_paid_yet.public_no not in set().union(*(orders_in(run) for run in made))
    assert orders_in(by_pair[(other_point.service_point_id, dl.supplier_id)]) == {other_point.public_no}
    assert orders_in(by_pair[(other_supplier.service_point_id, second.id)]) == {other_supplier.public_no}


def test_consolidating_again_makes_no_second_run_for_the_same_orders(app_ctx, dl, place):
    place({dl.oil: 1}, "cash")
    assert len(runs.consolidate()) == 1
    assert runs.consolidate() == []
    assert db.session.query(DeliveryRun).count() == 1


def test_the_suppliers_button_consolidates_only_their_own_orders(app_ctx, dl, place):
    place({dl.oil: 1}, "cash")
    second = make_supplier()
    rice = variant_id("RICE-10KG")
    place({rice: 2}, "cash", supplier_id=second.id)
    assert runs.waiting_for_a_run(second.user_id) == 1

    made = runs.consolidate_for_supplier(second.user_id)

    assert [run.supplier_id for run in made] == [second.id]
    assert (runs.waiting_for_a_run(second.user_id), runs.waiting_for_a_run(dl.supplier_user_id)) == (0, 1)
    left = select(db.func.count()).select_from(PickupTicket).where(PickupTicket.run_id.is_(None))
    assert db.session.scalar(left) == 1


def test_dispatch_then_receive_moves_paid_orders_to_waiting_for_pickup(app_ctx, dl, place):
    order = place({dl.oil: 2}, "stripe")
    mark_paid(order)
    run = runs.consolidate()[0]
    with pytest.raises(Conflict):
        runs.receive_run(dl.agent_id, run.id)

    runs.dispatch_run(dl.supplier_user_id, run.id)
    assert db.session.get(Order, order.id).status == "shipped"
    with pytest.raises(Conflict):
        runs.dispatch_run(dl.supplier_user_id, run.id)
    runs.receive_run(dl.agent_id, run.id)

    assert db.session.get(Order, order.id).status == "delivered"
    assert db.session.get(DeliveryRun, run.id).status == "received"


def test_suppliers_and_agents_see_only_their_own_runs(app_ctx, dl, place):
    place({dl.oil: 1}, "cash")
    run = runs.consolidate()[0]
    second = make_supplier()
    other_agent = make_agent("东东峪村", "agent2@demo.cn")
    with pytest.raises(NotFound):
        runs.dispatch_run(second.user_id, run.id)
    with pytest.raises(NotFound):
        runs.point_run(other_agent, run.id)
    assert runs.supplier_runs(second.user_id) == []


def test_the_pick_list_sums_each_item_over_the_runs_orders(app_ctx, client, auth, dl, place):
    place({dl.oil: 2, dl.soap: 1}, "cash")
    place({dl.oil: 3}, "cash", household_id=dl.other_household_id)
    run = runs.consolidate()[0]

    rows = {row["title_en"]: row["quantity"] for row in runs.pick_list(run)}
    assert rows == {"Pressed peanut oil 5 L 5 L bottle": 5, "Laundry powder 2 kg 2 kg bag": 1}
    db.session.remove()  # SQLite: let the requests below take the write lock

    auth.login_as("supplier@demo.cn")
    pdf = client.get(f"/supplier/runs/{run.id}/pick-list.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    sheet = load_workbook(BytesIO(client.get(f"/supplier/runs/{run.id}/pick-list.xlsx").data)).active
    quantities = {row[1]: row[3] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert quantities == {"Pressed peanut oil 5 L 5 L bottle": 5, "Laundry powder 2 kg 2 kg bag": 1}
