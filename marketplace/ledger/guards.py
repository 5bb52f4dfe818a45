"""PostgreSQL guards behind the ledger, shared by the migrations and the test schema.

Postings, entries, seals and the audit log reject UPDATE and DELETE row by row; every journal
entry must balance when its transaction commits; and a statement-level trigger refuses TRUNCATE
on the ledger and audit tables (a row trigger never sees a TRUNCATE). `ledger verify` checks
that each trigger below exists, calls its function and is enabled (`EXPECTED_TRIGGERS`).

`ROW_GUARDS` is what migration 0002 installed, kept as it was; `TRUNCATE_GUARDS` and
`SEAL_GUARDS` came with 0015; `INSTALL` is all of them, for a schema made by `create_all`.
"""
APPEND_ONLY_TABLES = ("postings", "journal_entries", "audit_log")
SEALED_TABLES = ("ledger_seals",)
NO_TRUNCATE_TABLES = ("postings", "journal_entries", "lot_allocations", "audit_log", "ledger_seals")

ROW_GUARDS = [
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

ROW_GUARDS_UNINSTALL = [
    "DROP TRIGGER IF EXISTS postings_balance ON postings",
    "DROP FUNCTION IF EXISTS check_entry_balances()",
    *[f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}" for table in APPEND_ONLY_TABLES],
    "DROP FUNCTION IF EXISTS reject_change()",
]

SEAL_GUARDS = [
    f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
    f"FOR EACH ROW EXECUTE FUNCTION reject_change()"
    for table in SEALED_TABLES
]

TRUNCATE_GUARDS = [
    """
    CREATE OR REPLACE FUNCTION reject_truncate() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% cannot be truncated: ledger and audit rows are kept for good', TG_TABLE_NAME;
    END $$ LANGUAGE plpgsql
    """,
    *[
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION reject_truncate()"
        for table in NO_TRUNCATE_TABLES
    ],
]

NEW_GUARDS_UNINSTALL = [
    *[f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}" for table in NO_TRUNCATE_TABLES],
    "DROP FUNCTION IF EXISTS reject_truncate()",
    *[f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}" for table in SEALED_TABLES],
]

INSTALL = ROW_GUARDS + SEAL_GUARDS + TRUNCATE_GUARDS
UNINSTALL = NEW_GUARDS_UNINSTALL + ROW_GUARDS_UNINSTALL

# trigger name -> (table, function it must call)
EXPECTED_TRIGGERS = {
    **{f"{table}_immutable": (table, "reject_change") for table in APPEND_ONLY_TABLES + SEALED_TABLES},
    "postings_balance": ("postings", "check_entry_balances"),
    **{f"{table}_no_truncate": (table, "reject_truncate") for table in NO_TRUNCATE_TABLES},
}
