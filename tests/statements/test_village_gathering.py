"""A village's statements are gathered set-based: the same statements as one by one, in a fixed number of queries."""
from datetime import date

from sqlalchemy import select

from marketplace.crypto import blind_index, mask
from marketplace.extensions import db
from marketplace.ledger.services import account_id, household_account, post_entry
from marketplace.payouts import services as payouts
from marketplace.payouts.models import PayoutItem
from marketplace.people.models import Household
from marketplace.statements.gathering import village_statements
from marketplace.statements.services import statement_for
from tests.test_query_counts import counting_queries

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def queries(statements):
    """How many SQL queries, leaving out SQLite's BEGIN (issued only when no transaction was open)."""
    return len([statement for statement in statements if not statement.startswith("BEGIN")])


def add_earning_households(village_id, count, method="bank", amount_fen=12_345):
    """`count` new households of the village, each credited earnings (as a floor purchase would)."""
    ids = []
    for index in range(count):
        registry_no = f"37039{village_id:03d}{index:05d}"
        household = Household(village_id=village_id, head_name=f"新户{index}", registry_no=registry_no,
                              registry_no_index=blind_index(registry_no), registry_no_masked=mask(registry_no),
                              payout_method=method, bank_name="农商银行", bank_account=f"62210{index:014d}",
                              bank_account_masked=mask(f"62210{index:014d}"))
        db.session.add(household)
        db.session.flush()
        post_entry(f"test-earning:{household.id}", "floor_purchase",
                   [(account_id("cooperative_inventory", "cooperative", 1), amount_fen),
                    (household_account(household.id), -amount_fen)])
        ids.append(household.id)
    db.session.commit()
    return ids


def test_the_village_statements_equal_the_one_by_one_statements(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    payouts.approve_batch(lingzi.checker_id, batch.id)
    payouts.mark_item_failed(lingzi.maker_id, batch.items[0].id, "wrong account")
    payouts.mark_item_paid(lingzi.maker_id, batch.items[1].id, "REF-1")
    villages = {household.village_id for household in lingzi.households()}
    compared = 0
    for village_id in villages:
        for gathered in village_statements(village_id, *YEAR):
            one = statement_for(lingzi.town_id, gathered["household"].id, *YEAR)
            assert gathered["balance"] == one["balance"]
            assert gathered["statement"] == one["statement"]
            assert gathered["entries"] == one["entries"]
            compared += 1
    assert compared == len(lingzi.households())


def test_gathering_a_village_takes_the_same_queries_for_few_or_many_households(app, lingzi):
    village_id = lingzi.households()[0].village_id
    with counting_queries(app) as few:
        village_statements(village_id, *YEAR)
    add_earning_households(village_id, 15)
    db.session.expunge_all()
    with counting_queries(app) as many:
        statements = village_statements(village_id, *YEAR)
    assert len(statements) >= 15
    assert queries(many) == queries(few)


def test_drafting_a_batch_takes_the_same_queries_for_few_or_many_households(app, lingzi):
    village_id = lingzi.households()[0].village_id
    with counting_queries(app) as few:
        first = payouts.create_batch(lingzi.maker_id, "bank", 0)
        payouts.cancel_batch(lingzi.maker_id, first.id)
    add_earning_households(village_id, 25)
    db.session.expunge_all()
    with counting_queries(app) as many:
        second = payouts.create_batch(lingzi.maker_id, "bank", 0)
        payouts.cancel_batch(lingzi.maker_id, second.id)
    items = db.session.scalar(select(db.func.count()).where(PayoutItem.batch_id == second.id))
    assert items >= 25
    assert queries(many) == queries(few)


def test_approving_a_batch_takes_the_same_queries_for_few_or_many_households(app, lingzi):
    village_id = lingzi.households()[0].village_id
    account_id("payouts_in_transit")  # created on first use: not what is being counted
    few_batch = payouts.create_batch(lingzi.maker_id, "bank", 0).id
    with counting_queries(app) as few:
        payouts.approve_batch(lingzi.checker_id, few_batch)
    add_earning_households(village_id, 25)
    many_batch = payouts.create_batch(lingzi.maker_id, "bank", 0).id
    db.session.expunge_all()
    with counting_queries(app) as many:
        payouts.approve_batch(lingzi.checker_id, many_batch)
    assert queries(many) == queries(few)
