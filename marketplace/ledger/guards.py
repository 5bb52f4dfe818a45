"""PostgreSQL guards behind the ledger, shared by the migration and the test schema.

Postings, entries and the audit log reject UPDATE and DELETE; every journal entry must
balance when its transaction commits.
"""
APPEND_ONLY_TABLES = ("postings", "journal_entries", "audit_log")

INSTALL = [
    """
    CREATE OR REPLACE FUNCTION reject_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% rows are immutable: post a reversing entry instead', TG_TABLE_NAME;
    END $$ LANGUAGE plpgsql
    """,
    *[
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION reject_change()"
        for table in APPEND_ONLY_TABLES
    ],
    """
    CREATE OR REPLACE FUNCTION check_entry_balances() RETURNS trigger AS $$
    DECLARE total bigint;
    BEGIN
        SELECT COALESCE(SUM(amount_fen), 0) INTO total FROM postings WHERE entry_id = NEW.entry_id;
        IF total <> 0 THEN
            RAISE EXCEPTION 'journal entry % does not balance (% fen)', NEW.entry_id, total;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE CONSTRAINT TRIGGER postings_balance AFTER INSERT ON postings "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_entry_balances()",
]

UNINSTALL = [
    "DROP TRIGGER IF EXISTS postings_balance ON postings",
    "DROP FUNCTION IF EXISTS check_entry_balances()",
    *[f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}" for table in APPEND_ONLY_TABLES],
    "DROP FUNCTION IF EXISTS reject_change()",
]
