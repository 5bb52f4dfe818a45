"""`ledger verify` finds what re-adding sums cannot: each corruption of the audit, and each exits 1 naming the entry.

Tampering goes around the guards the way someone with the database's superuser would: as a
replica session (ordinary triggers do not fire), or with a trigger switched off.
"""
from datetime import timedelta

import pytest
from flask_babel import refresh
from sqlalchemy import select, text

from marketplace.audit.models import AuditLog
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund, record_love_fund_donation
from marketplace.ledger.chain import seal_pending, write_checkpoint
from marketplace.ledger.models import EntrySeal, JournalEntry, Posting
from marketplace.ledger.services import entry_for_key, household_account
from marketplace.payments.models import Refund, RefundLine
from marketplace.reconciliation.models import StripeBalanceRecord, StripeSyncCursor


def behind_the_guards(*statements, **parameters):
    """Run `statements` as a replica session on PostgreSQL (its triggers do not fire), then commit."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    for statement in statements:
        db.session.execute(text(statement), parameters)
    db.session.commit()


def verify(runner, *options):
    return runner.invoke(args=["ledger", "verify", *options])


@pytest.fixture
def history(district):
    """A floor purchase, a direct sale by a household that pays commission, a cooperative sale, a partial refund."""
    grower, seller, neighbour = district.household(), district.household(verified_poor=False), district.household()
    coop = district.cooperative(profit_return_rate="0.30", members=[(grower, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    eggs = district.variant(seller, price_fen=1_111)
    lot = district.lot(grains, grower, 100)
    order, payment = district.paid_order([(grains, 60), (eggs, 3)], shipping_fen=700, donation_fen=50, fee_fen=99)
    attribute_payment(payment.id)
    attribute_refund(district.refund(order, {order.lines[0]: 7, order.lines[1]: 1}, extra_fen=100).id)
    return {"district": district, "grower": grower, "seller": seller, "neighbour": neighbour, "lot": lot,
            "order": order, "payment": payment, "eggs_line": order.lines[1]}


def test_a_sealed_history_verifies_with_every_entry_chained_and_re_derived(history, runner):
    entries = db.session.query(JournalEntry).count()
    assert seal_pending() == entries
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"chain_links: {entries}" in result.output
    assert f"entries_rederived: {entries}" in result.output
    assert "entries_awaiting_seal: 0" in result.output


def test_a_direct_sale_credit_repointed_to_another_household_is_named(history, runner):
    sale = entry_for_key(f"attr:line:{history['eggs_line'].id}")
    behind_the_guards("UPDATE postings SET account_id = :other WHERE entry_id = :entry AND account_id = :seller",
                      other=household_account(history["neighbour"].id), entry=sale.id,
                      seller=household_account(history["seller"].id))
    result = verify(runner)
    assert result.exit_code == 1
    seller, neighbour = history["seller"].id, history["neighbour"].id
    assert f"VIOLATION [rederivation] direct_sale entry: household_payable[household {seller}] posted 0, derived " \
           f"-3166; household_payable[household {neighbour}] posted -3166, derived 0 (entry_id={sale.id}, " in result.output
    # The refund of that line reversed what the rule credits: the only re-derivation that differs. (The
    # seller, whose credit went elsewhere, is also named below zero available.)
    assert result.output.count("VIOLATION [rederivation]") == 1


def test_a_floor_purchase_doubled_on_both_legs_is_named(history, runner):
    floor = entry_for_key(f"lot:{history['lot'].id}:floor")
    behind_the_guards("UPDATE postings SET amount_fen = amount_fen * 2 WHERE entry_id = :entry", entry=floor.id)
    result = verify(runner)
    assert result.exit_code == 1
    assert f"household_payable[household {history['grower'].id}] posted -100000, derived -50000" in result.output
    assert f"(entry_id={floor.id}, lot_id={history['lot'].id})" in result.output


def test_an_amount_changed_on_both_legs_where_no_cause_records_it_breaks_its_link(history, runner, district):
    staff = district.user("town_staff", town_id=district.town.id)
    gift = record_love_fund_donation(district.town.id, 20_000, "charity_market", "义卖 2026-11", staff.id)
    seal_pending()
    behind_the_guards("UPDATE postings SET amount_fen = amount_fen / 2 WHERE entry_id = :entry", entry=gift.id)
    result = verify(runner)
    assert result.exit_code == 1
    assert "[rederivation]" not in result.output  # nothing records the gift's amount: only the chain sees it
    assert "VIOLATION [hash_chain] first broken link: link" in result.output
    assert f"the entry differs from what was sealed (entry_id={gift.id})" in result.output


@pytest.mark.postgres  # SQLite checks the seal's foreign key at once, whatever the session
def test_an_entry_deleted_in_the_middle_of_the_chain_is_named(history, runner):
    seal_pending()
    fee = entry_for_key(f"fee:{history['payment'].id}").id
    behind_the_guards("DELETE FROM postings WHERE entry_id = :entry", "DELETE FROM journal_entries WHERE id = :entry",
                      entry=fee)
    seq = db.session.scalar(select(EntrySeal.seq).where(EntrySeal.entry_id == fee))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"VIOLATION [hash_chain] first broken link: link {seq}: the sealed entry is gone (entry_id={fee})" \
        in result.output


def test_an_entry_deleted_with_its_link_breaks_the_next_link(history, runner):
    seal_pending()
    fee = entry_for_key(f"fee:{history['payment'].id}").id
    seq = db.session.scalar(select(EntrySeal.seq).where(EntrySeal.entry_id == fee))
    after = db.session.scalar(select(EntrySeal.entry_id).where(EntrySeal.seq == seq + 1))
    behind_the_guards("DELETE FROM ledger_seals WHERE entry_id = :entry", "DELETE FROM postings WHERE entry_id = :entry",
                      "DELETE FROM journal_entries WHERE id = :entry", entry=fee)
    result = verify(runner)
    assert result.exit_code == 1
    assert f"first broken link: link {seq + 1}: links {seq}–{seq} are missing before it (entry_id={after})" \
        in result.output


def test_an_entry_slipped_in_outside_the_ledger_is_named(history, runner):
    seal_pending()
    entry = JournalEntry(idempotency_key="slipped-in", rule="love_fund_gift", rule_settings={})
    db.session.add(entry)
    db.session.flush()
    behind_the_guards("SELECT 1")
    result = verify(runner)
    assert result.exit_code == 1
    assert f"neither sealed nor queued: it was not posted through the ledger (entry_id={entry.id})" in result.output


def test_a_stripe_refund_the_ledger_never_recorded_fails_verify_with_stripe(history, runner):
    order, payment = history["order"], history["payment"]
    refund = history["district"].add(Refund(order_id=order.id, payment_id=payment.id, stripe_refund_id="re_missed",
                                            amount_fen=1_800, status="succeeded"))
    db.session.add(RefundLine(refund_id=refund.id, order_line_id=order.lines[0].id, quantity=2, amount_fen=1_800))
    refunds = db.session.scalars(select(Refund).where(Refund.order_id == order.id, Refund.id != refund.id)).all()
    pulled = utcnow()
    db.session.add_all([
        StripeBalanceRecord(id="txn_charge", object_type="balance_transaction", reporting_category="charge",
                            source_id="ch_1", amount=payment.amount_fen, fee=payment.fee_fen, currency="cny",
                            stripe_created_at=pulled - timedelta(hours=2)),
        *[StripeBalanceRecord(id=f"txn_refund_{earlier.id}", object_type="balance_transaction",
                              reporting_category="refund", source_id=earlier.stripe_refund_id, amount=-earlier.amount_fen,
                              fee=0, currency="cny", stripe_created_at=pulled - timedelta(hours=1)) for earlier in refunds],
        StripeBalanceRecord(id="txn_refund_missed", object_type="balance_transaction", reporting_category="refund",
                            source_id="re_missed", amount=-1_800, fee=0, currency="cny",
                            stripe_created_at=pulled - timedelta(minutes=30)),
        StripeSyncCursor(name="balance_transactions", created_up_to=0, synced_at=pulled),
    ])
    db.session.execute(text("UPDATE payments SET balance_transaction_id = 'txn_charge' WHERE id = :p"), {"p": payment.id})
    db.session.commit()
    assert verify(runner).exit_code == 0  # without --with-stripe, Stripe is not asked
    result = verify(runner, "--with-stripe")
    assert result.exit_code == 1, result.output
    assert "VIOLATION [stripe_agreement] Stripe refund re_missed of 1800 is not in the ledger " \
           f"(stripe_record=txn_refund_missed, refund_id={refund.id})" in result.output
    assert result.output.count("[stripe_agreement]") == 1


def test_verify_passes_on_the_demo_district(app_ctx, runner):
    from tests.demo_copy import seed_demo

    seed_demo()
    seal_pending()
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "not_rederived" not in result.output


def test_a_checkpoint_is_signed_printed_and_kept_in_the_audit_log(history, runner):
    result = runner.invoke(args=["ledger", "checkpoint"])
    assert result.exit_code == 0, result.output
    entries = db.session.query(JournalEntry).count()
    assert f'"head_seq": {entries}' in result.output and '"signature": "' in result.output
    logged = db.session.scalar(select(AuditLog).where(AuditLog.action == "ledger.checkpoint"))
    assert logged.details["head_seq"] == entries
    explained = runner.invoke(args=["ledger", "explain", "--household", str(history["grower"].id)])
    assert f"hash chain: {entries} entries sealed" in explained.output
    assert f"last checkpoint: link {entries}" in explained.output and "signature and link hold" in explained.output


def test_a_ledger_emptied_behind_the_guards_no_longer_matches_its_checkpoint(history, runner):
    write_checkpoint()
    behind_the_guards("DELETE FROM ledger_unsealed", "DELETE FROM ledger_seals", "DELETE FROM postings",
                      "DELETE FROM lot_allocations", "DELETE FROM journal_entries")
    result = verify(runner)
    assert result.exit_code == 1
    assert "VIOLATION [checkpoints] checkpoint" in result.output and "is no longer" in result.output


def test_the_reconciliation_page_shows_the_chain_and_the_last_checkpoint(history, client, auth):
    write_checkpoint()
    entries = db.session.query(JournalEntry).count()
    email = history["district"].user("town_staff", town_id=history["district"].town.id).email
    db.session.commit()
    auth.login_as(email)
    page = client.get("/town/reconciliation").get_data(as_text=True)
    assert f"已封存 {entries} 笔分录" in page and "签名与链环均一致" in page
    refresh()  # the test's app context outlives the request, and Flask-Babel keeps the locale on it
    english = client.get("/town/reconciliation?lang=en").get_data(as_text=True)
    assert f"{entries} entries sealed" in english and "(Beijing time)" in english


@pytest.mark.postgres
def test_truncate_is_refused_on_the_ledger_and_audit_tables(history):
    for table in ("postings", "journal_entries", "lot_allocations", "audit_log", "ledger_seals"):
        with pytest.raises(Exception, match="cannot be truncated"):
            db.session.execute(text(f"TRUNCATE {table} CASCADE"))
        db.session.rollback()
    assert db.session.query(Posting).count() > 0


@pytest.mark.postgres
@pytest.mark.parametrize("trigger, table", [("postings_immutable", "postings"),
                                            ("audit_log_no_truncate", "audit_log")])
def test_a_guard_switched_off_fails_verify(history, runner, trigger, table):
    seal_pending()
    db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
    db.session.commit()
    try:
        result = verify(runner)
        assert result.exit_code == 1
        assert f"VIOLATION [guards] trigger {trigger} is disabled (table={table})" in result.output
    finally:
        db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        db.session.commit()


@pytest.mark.postgres
def test_an_amount_altered_with_the_triggers_disabled_is_found(history, runner):
    seal_pending()
    shipping = entry_for_key(f"attr:order:{history['order'].id}:shipping")
    db.session.expunge(shipping)
    db.session.execute(text("ALTER TABLE postings DISABLE TRIGGER postings_immutable"))
    db.session.execute(text("UPDATE postings SET amount_fen = amount_fen * 10 WHERE entry_id = :e"), {"e": shipping.id})
    db.session.execute(text("ALTER TABLE postings ENABLE TRIGGER postings_immutable"))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert f"the entry differs from what was sealed (entry_id={shipping.id})" in result.output
    assert "VIOLATION [rederivation] shipping entry: sales_pending posted 7000, derived 700; shipping posted -7000, " \
           f"derived -700 (entry_id={shipping.id}" in result.output
