"""`ledger verify`'s fast path on PostgreSQL: the database re-derives the bulk rules and hashes every
link itself (rederive_sql.py, chain.SQL_LINK_DOUBTS) and Python judges only what it doubts.

So these tests check both halves: on an honest ledger the database doubts nothing (were it to
doubt everything, verify would still pass, only slowly: the fast path would be gone unseen), and
each tampering is doubted by the database and then named by verify.
"""
import pytest
from sqlalchemy import func, select, text

from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund, record_love_fund_donation
from marketplace.ledger.chain import GENESIS, SQL_LINK_DOUBTS, seal_pending
from marketplace.ledger.models import EntrySeal, JournalEntry
from marketplace.ledger.rederive import rederive_entries
from marketplace.ledger.rederive_sql import SQL_DOUBTS, SQL_RULES
from marketplace.ledger.services import entry_for_key, household_account

pytestmark = pytest.mark.postgres


def behind_the_guards(*statements, **parameters):
    """Run `statements` as a replica session (ordinary triggers do not fire), then commit."""
    db.session.execute(text("SET LOCAL session_replication_role = replica"))
    for statement in statements:
        db.session.execute(text(statement), parameters)
    db.session.commit()


def doubted_entries():
    last = db.session.scalar(select(func.max(JournalEntry.id)))
    return sorted(db.session.scalars(text(SQL_DOUBTS).bindparams(lo=1, hi=last)))


def doubted_links():
    last = db.session.scalar(select(func.max(EntrySeal.seq)))
    return [row.entry_id for row in db.session.execute(text(SQL_LINK_DOUBTS).bindparams(
        after=0, upto=last, genesis=GENESIS))]


def verify(runner):
    return runner.invoke(args=["ledger", "verify"])


@pytest.fixture
def ledger(district):
    """Every bulk rule, with a profit return that rounds half up and splits with a remainder (two
    growers' lots under a line of 2 lot units a unit at 1,001 fen: 0.3 × (7 and 3) × 250.5 fen is
    526.05 + 225.45 = 751.5 → 752 → 526 + 226), a direct sale paying commission, a supplier line with
    commission, shipping, a round-up, a fee; a partial refund (re-derived in Python); a gift whose
    memo has quotes, a newline and Chinese."""
    growers = [district.household(), district.household()]
    seller, neighbour = district.household(verified_poor=False), district.household()
    coop = district.cooperative(profit_return_rate="0.30", members=[(grower, 1) for grower in growers])
    grains = district.variant(coop, price_fen=1_001, floor_price_fen=250, lot_units=2)
    eggs = district.variant(seller, price_fen=1_111)
    soap = district.variant(district.supplier(commission_rate="0.07"), price_fen=333)
    lots = [district.lot(grains, growers[0], 7), district.lot(grains, growers[1], 50)]
    order, payment = district.paid_order([(grains, 5), (eggs, 3), (soap, 2)], shipping_fen=700, donation_fen=50,
                                         fee_fen=99)
    attribute_payment(payment.id)
    attribute_refund(district.refund(order, {order.lines[1]: 1}, extra_fen=100).id)
    staff = district.user("town_staff", town_id=district.town.id)
    record_love_fund_donation(district.town.id, 20_000, "charity_market", '义卖 "春节"\n第二场', staff.id)
    db.session.commit()
    seal_pending()
    return {"order": order, "payment": payment, "coop": coop, "growers": growers, "seller": seller,
            "neighbour": neighbour, "lines": order.lines, "lots": lots}


def test_on_an_honest_ledger_the_database_doubts_no_entry_and_no_link(ledger, runner):
    assert doubted_entries() == []
    assert doubted_links() == []
    result = rederive_entries()
    assert result.differences == []
    assert set(SQL_RULES) - {"floor_purchase"} <= set(result.checked)
    assert verify(runner).exit_code == 0


def test_a_fen_moved_from_a_profit_return_to_the_cooperative_is_doubted_and_named(ledger, runner):
    sale = entry_for_key(f"attr:line:{ledger['lines'][0].id}")
    grower = household_account(ledger["growers"][0].id)
    behind_the_guards("UPDATE postings SET amount_fen = amount_fen + 1 WHERE entry_id = :entry AND account_id = :grower",
                      "UPDATE postings SET amount_fen = amount_fen - 1 WHERE entry_id = :entry AND account_id <> :grower "
                      "AND amount_fen < 0 AND account_id NOT IN (SELECT id FROM ledger_accounts WHERE kind = "
                      "'household_payable')", entry=sale.id, grower=grower)
    assert doubted_entries() == [sale.id]
    assert doubted_links() == [sale.id]
    result = verify(runner)
    assert result.exit_code == 1
    assert f"VIOLATION [rederivation] cooperative_sale entry: cooperative_revenue[cooperative {ledger['coop'].id}] " \
           "posted" in result.output
    assert f"(entry_id={sale.id}, order_id={ledger['order'].id}, order_line_id={ledger['lines'][0].id})" in result.output
    assert f"the entry differs from what was sealed (entry_id={sale.id})" in result.output


def test_a_payment_fee_changed_on_both_legs_is_doubted_and_named(ledger, runner):
    fee = entry_for_key(f"fee:{ledger['payment'].id}")
    behind_the_guards("UPDATE postings SET amount_fen = amount_fen * 3 WHERE entry_id = :entry", entry=fee.id)
    assert doubted_entries() == [fee.id]
    result = verify(runner)
    assert result.exit_code == 1
    assert f"VIOLATION [rederivation] payment_fee entry: payment_fees posted 297, derived 99; stripe_receivable " \
           f"posted -297, derived -99 (entry_id={fee.id}" in result.output


def test_an_entry_deleted_with_its_guards_dropped_is_named(ledger, runner):
    """Every trigger of the ledger's tables switched off (foreign keys too), a supplier sale deleted
    with its postings and its link: the links close up, the line is no longer attributed."""
    sale = entry_for_key(f"attr:line:{ledger['lines'][2].id}").id
    seq = db.session.scalar(select(EntrySeal.seq).where(EntrySeal.entry_id == sale))
    after = db.session.scalar(select(EntrySeal.entry_id).where(EntrySeal.seq == seq + 1))
    tables = ("postings", "journal_entries", "ledger_seals")
    try:
        for table in tables:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER ALL"))
        db.session.execute(text("DELETE FROM postings WHERE entry_id = :entry"), {"entry": sale})
        db.session.execute(text("DELETE FROM ledger_seals WHERE entry_id = :entry"), {"entry": sale})
        db.session.execute(text("DELETE FROM journal_entries WHERE id = :entry"), {"entry": sale})
    finally:
        for table in tables:
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER ALL"))
        db.session.commit()
    assert after in doubted_links()
    result = verify(runner)
    assert result.exit_code == 1
    assert f"first broken link: link {seq + 1}: links {seq}–{seq} are missing before it (entry_id={after})" \
        in result.output
    assert f"VIOLATION [exactly_once] order line attributed 0 times (order_line_id={ledger['lines'][2].id})" \
        in result.output


def test_a_recorded_rate_altered_in_the_settings_is_doubted_and_named(ledger, runner):
    sale = entry_for_key(f"attr:line:{ledger['lines'][0].id}")
    rule = sale.rule_settings["sharing_rule_id"]
    behind_the_guards("UPDATE journal_entries SET rule_settings = jsonb_set(rule_settings::jsonb, "
                      "'{profit_return_rate}', '\"0.10\"')::json WHERE id = :entry", entry=sale.id)
    assert doubted_entries() == [sale.id]
    result = verify(runner)
    assert result.exit_code == 1
    assert f"VIOLATION [rederivation] cooperative_sale entry: cannot be derived: it records rate 0.10, sharing rule " \
           f"{rule} says 0.3000 (entry_id={sale.id}" in result.output
    assert f"the entry differs from what was sealed (entry_id={sale.id})" in result.output


def test_a_household_made_poor_in_the_settings_is_doubted_and_named(ledger, runner):
    sale = entry_for_key(f"attr:line:{ledger['lines'][1].id}")
    behind_the_guards("UPDATE journal_entries SET rule_settings = jsonb_set(rule_settings::jsonb, "
                      "'{verified_poor}', 'true')::json WHERE id = :entry", entry=sale.id)
    assert sale.id in doubted_entries()
    result = verify(runner)
    assert result.exit_code == 1
    assert f"VIOLATION [rederivation] direct_sale entry: household_payable[household {ledger['seller'].id}] posted " \
           f"-3166, derived -3333; platform_fees posted -167, derived 0 (entry_id={sale.id}" in result.output


def test_a_chain_link_rewritten_is_named_as_the_first_broken_link(ledger, runner):
    middle = db.session.scalar(select(func.max(EntrySeal.seq))) // 2
    entry = db.session.scalar(select(EntrySeal.entry_id).where(EntrySeal.seq == middle))
    behind_the_guards("UPDATE ledger_seals SET entry_hash = repeat('ab', 32) WHERE seq = :seq", seq=middle)
    assert doubted_links()[:1] == [entry]
    result = verify(runner)
    assert result.exit_code == 1
    assert f"VIOLATION [hash_chain] first broken link: link {middle}: the entry differs from what was sealed " \
           f"(entry_id={entry})" in result.output
    assert "[rederivation]" not in result.output  # the entry itself is untouched


def test_a_lot_whose_quantity_was_changed_after_its_floor_purchase_is_doubted_and_named(ledger, runner):
    """A cause changed, not the entry: the chain holds, re-derivation (SQL's doubt, Python's word) names it."""
    lot = ledger["lots"][0]
    floor = entry_for_key(f"lot:{lot.id}:floor")
    behind_the_guards("UPDATE supply_lots SET quantity = quantity + 1, quantity_remaining = quantity_remaining + 1 "
                      "WHERE id = :lot", lot=lot.id)
    assert doubted_entries() == [floor.id]
    result = verify(runner)
    assert result.exit_code == 1
    assert f"VIOLATION [rederivation] floor_purchase entry: cooperative_inventory[cooperative {ledger['coop'].id}] " \
           f"posted 1750, derived 2000" in result.output
    assert "[hash_chain]" not in result.output


def findings(output):
    """The verify command's output without its timings."""
    return "\n".join(line for line in output.splitlines() if not line.startswith("seconds per check:"))


def test_ranges_judged_on_connections_of_their_own_find_the_same(ledger, runner, monkeypatch):
    """A large ledger's ranges run ahead on two connections of their own: tiny ranges here, so
    this small ledger takes that path too, and finds what one connection finds."""
    from marketplace.ledger import chain, rederive, sql_pass

    fee = entry_for_key(f"fee:{ledger['payment'].id}")
    behind_the_guards("UPDATE postings SET amount_fen = amount_fen * 3 WHERE entry_id = :entry", entry=fee.id)
    alone = findings(verify(runner).output)
    monkeypatch.setattr(sql_pass, "IN_PARALLEL_FROM", 1)
    monkeypatch.setattr(rederive, "SQL_RANGE", 3)
    monkeypatch.setattr(chain, "SQL_CHUNK", 4)
    together = findings(verify(runner).output)
    assert together == alone
    assert "payment_fee entry: payment_fees posted 297, derived 99" in together
    assert f"the entry differs from what was sealed (entry_id={fee.id})" in together
