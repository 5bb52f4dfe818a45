"""Every town route, walked as another town's staff, a buyer and anonymously (DESIGN §7)."""
from datetime import date

import pytest
from sqlalchemy import select

from marketplace.catalog.models import Seller, SupplyLot
from marketplace.coops.models import Cooperative
from marketplace.payouts import funding
from marketplace.payouts.models import CooperativeDeposit
from marketplace.audit.models import AuditLog
from marketplace.extensions import db
from marketplace.funds.models import LoveFundGrant
from marketplace.ledger.attribution import record_love_fund_donation
from marketplace.ledger.balances import household_balance
from marketplace.payouts import services as payouts
from marketplace.payouts.models import PayoutBatch
from marketplace.people.models import Household
from marketplace.places.models import Village
from marketplace.orders.models import Shipment
from marketplace.reconciliation.models import Discrepancy
from marketplace.statements.models import StatementJob
from tests.aftersales.builders import claimed_order
from tests.town.fixtures import release

# Stripe reconciliation is of the platform's one Stripe account: every town's staff work its queue.
PLATFORM_WIDE = {"town.resolve_discrepancy"}


@pytest.fixture
def lingzi_objects(app, lingzi):
    """One of everything the Lingzi staff own, and the form data that would act on it."""
    draft = payouts.create_batch(lingzi.maker_id, "cash", 0)
    approved = payouts.create_batch(lingzi.maker_id, "bank", 0)
    payouts.approve_batch(lingzi.checker_id, approved.id)
    household_id = approved.items[0].household_id
    record_love_fund_donation(lingzi.town_id, 50_000, "gift", "access-test", lingzi.maker_id)
    grant = LoveFundGrant(town_id=lingzi.town_id, household_id=household_id, purpose="education",
                          amount_fen=10_000, note="学费", proposed_by_id=lingzi.maker_id)
    village_id = lingzi.households()[0].village_id
    job = StatementJob(town_id=lingzi.town_id, village_id=village_id, period_start=date(2026, 1, 1),
                       period_end=date(2026, 12, 31), status="done", pdf=b"%PDF-1.7 lingzi", total_count=1,
                       done_count=1, requested_by_id=lingzi.maker_id)
    db.session.add_all([grant, job])
    db.session.commit()
    discrepancy = Discrepancy(kind="missing_in_ledger", reference="txn_access", stripe_amount=990,
                              occurred_at=date(2026, 11, 1))
    db.session.add(discrepancy)
    db.session.commit()
    lili = db.session.scalar(select(Cooperative.id).where(Cooperative.town_id == lingzi.town_id))
    deposit = funding.record_deposit(lingzi.maker_id, lili, 10_000, "ACCESS-TEST-1")
    lot = db.session.scalar(select(SupplyLot.id).where(SupplyLot.cooperative_id == lili).order_by(SupplyLot.id))
    elsewhere = set(db.session.scalars(
        select(Household.head_name).join(Village).where(Village.town_id != lingzi.town_id)))
    names = [h.head_name for h in lingzi.households() if h.head_name not in elsewhere] + ["李里村"]
    objects = {
        "values": {"batch_id": draft.id, "household_id": household_id, "item_id": approved.items[0].id,
                   "job_id": job.id, "grant_id": grant.id, "discrepancy_id": discrepancy.id,
                   "deposit_id": deposit.id, "lot_id": lot, "claim_id": claimed_order().claim_id,
                   "shipment_id": db.session.scalar(select(Shipment.id).join(Seller, Seller.id == Shipment.seller_id)
                                                    .where(Seller.cooperative_id == lili).order_by(Shipment.id))},
        "form": {"method": "cash", "min_amount": "0", "reference": "R-1", "reason": "x", "village_id": village_id,
                 "start": "2026-01-01", "end": "2026-12-31", "grant-household_id": household_id,
                 "grant-purpose": "illness", "grant-amount": "1", "grant-note": "x", "note": "x"},
        "names": names,
        "households": [h.id for h in lingzi.households()],
    }
    release()
    return objects


def lingzi_state(lingzi, households):
    """Everything of Lingzi's that an outsider's request might change."""
    state = (
        db.session.execute(select(PayoutBatch.id, PayoutBatch.status).where(PayoutBatch.town_id == lingzi.town_id)
                           .order_by(PayoutBatch.id)).all(),
        [(i.id, i.status, i.reference) for b in db.session.scalars(
            select(PayoutBatch).where(PayoutBatch.town_id == lingzi.town_id)) for i in b.items],
        db.session.execute(select(LoveFundGrant.id, LoveFundGrant.status)
                           .where(LoveFundGrant.town_id == lingzi.town_id)).all(),
        db.session.scalar(select(db.func.count()).select_from(StatementJob)),
        db.session.scalar(select(db.func.count()).select_from(AuditLog).where(AuditLog.town_id == lingzi.town_id)),
        [household_balance(h) for h in households],
        db.session.execute(select(CooperativeDeposit.id, CooperativeDeposit.status).order_by(CooperativeDeposit.id)).all(),
        db.session.execute(select(SupplyLot.id, SupplyLot.confirmed_at).order_by(SupplyLot.id)).all(),
    )
    release()
    return state


def town_routes(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("town.")]
    assert len(rules) > 20, "every town route should be walked"
    for rule in rules:
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule, method


def call(client, rule, method, objects):
    url = rule.build({name: objects["values"][name] for name in rule.arguments}, append_unknown=False)[1]
    if method == "GET":
        return client.get(url)
    return client.post(url, data=objects["form"])


def test_anonymous_visitors_are_sent_to_sign_in(app, client, lingzi_objects):
    for rule, method in town_routes(app):
        response = call(client, rule, method, lingzi_objects)
        assert response.status_code == 302 and "/login" in response.location, (method, rule.rule)


def test_buyers_are_refused_everywhere(app, client, auth, lingzi, lingzi_objects):
    before = lingzi_state(lingzi, lingzi_objects["households"])
    auth.login_as("buyer@demo.cn")
    for rule, method in town_routes(app):
        assert call(client, rule, method, lingzi_objects).status_code == 403, (method, rule.rule)
    assert lingzi_state(lingzi, lingzi_objects["households"]) == before


def test_another_towns_staff_never_see_or_change_lingzis_households_batches_or_files(app, client, auth, lingzi,
                                                                                    lingzi_objects):
    before = lingzi_state(lingzi, lingzi_objects["households"])
    auth.login_as("taihe@demo.cn")
    for rule, method in town_routes(app):
        response = call(client, rule, method, lingzi_objects)
        release()
        where = (method, rule.rule)
        if rule.arguments and rule.endpoint not in PLATFORM_WIDE:
            assert response.status_code in (302, 403, 404), where
            if response.status_code == 302:  # a refused action goes back with a message
                assert "error" in client.get(response.location).get_data(as_text=True), where
        assert response.status_code != 500, where
        body = response.get_data()
        if response.mimetype == "text/html":
            body = body.decode()
            assert not any(name in body for name in lingzi_objects["names"]), where
        else:
            assert b"lingzi" not in body, where
    assert lingzi_state(lingzi, lingzi_objects["households"]) == before


def test_reconciliation_is_the_platforms_and_open_to_every_towns_staff(client, auth, lingzi_objects):
    auth.login_as("taihe@demo.cn")
    assert "txn_access" in client.get("/town/reconciliation").get_data(as_text=True)
