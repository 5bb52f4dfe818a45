"""Each product's `lowest_price_fen`, kept by the database from its variants.

The catalogue lists, filters and sorts products by the lowest price of their active variants, and
a product without one is not for sale (NULL). Computed per product in every listing query, "price:
low to high" over the whole catalogue read all 100,000 variants (≈100 ms at province scale); kept
on the product, it is an index walk (ix_products_by_price). Triggers keep it, so every way a
variant changes — the portals, an import, an UPDATE statement, plain SQL — keeps it true; stock
changes (the frequent ones) do not fire them. `seed-scale` loads with triggers off and writes the
column itself.

On PostgreSQL the trigger locks the product row before reading its variants: each statement of a
PL/pgSQL function sees the latest committed state, so two transactions repricing two variants of
one product at once leave the lowest of both, not each one's stale view of the other.
"""
from sqlalchemy import DDL, event

# The lowest price of a product's active variants (NULL when none), for the row of `products` at hand.
LOWEST = ("(SELECT min(variants.price_fen) FROM variants "
          "WHERE variants.product_id = products.id AND variants.is_active)")
# Written only if it changed (no new row version else).
_REFRESH = f"UPDATE products SET lowest_price_fen = {LOWEST} WHERE products.id IN ({{ids}}) " \
           f"AND products.lowest_price_fen IS DISTINCT FROM {LOWEST}"
_FIRES_ON = "price_fen, is_active, product_id"

POSTGRESQL = [
    f"""
    CREATE OR REPLACE FUNCTION keep_lowest_price() RETURNS trigger AS $$
    DECLARE changed int[];
    BEGIN
        IF TG_OP = 'INSERT' THEN changed := ARRAY[NEW.product_id];
        ELSIF TG_OP = 'DELETE' THEN changed := ARRAY[OLD.product_id];
        ELSE changed := ARRAY[OLD.product_id, NEW.product_id];
        END IF;
        PERFORM 1 FROM products WHERE id = ANY(changed) ORDER BY id FOR UPDATE;
        {_REFRESH.format(ids="SELECT unnest(changed)")};
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER variants_keep_lowest_price AFTER INSERT OR DELETE OR UPDATE OF "
    f"{_FIRES_ON} ON variants FOR EACH ROW EXECUTE FUNCTION keep_lowest_price()",
]

# SQLite has one writer at a time: no lock to take.
SQLITE = [
    f"CREATE TRIGGER variants_lowest_price_insert AFTER INSERT ON variants BEGIN "
    f"{_REFRESH.format(ids='NEW.product_id')}; END",
    f"CREATE TRIGGER variants_lowest_price_update AFTER UPDATE OF {_FIRES_ON} ON variants BEGIN "
    f"{_REFRESH.format(ids='OLD.product_id, NEW.product_id')}; END",
    f"CREATE TRIGGER variants_lowest_price_delete AFTER DELETE ON variants BEGIN "
    f"{_REFRESH.format(ids='OLD.product_id')}; END",
]

UNINSTALL = {
    "postgresql": ["DROP TRIGGER IF EXISTS variants_keep_lowest_price ON variants",
                   "DROP FUNCTION IF EXISTS keep_lowest_price()"],
    "sqlite": [f"DROP TRIGGER IF EXISTS variants_lowest_price_{kind}" for kind in ("insert", "update", "delete")],
}

# Every product's lowest price from scratch (the migration's backfill).
RECOMPUTE_ALL = f"UPDATE products SET lowest_price_fen = {LOWEST}"


def statements(dialect_name):
    return {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(dialect_name, [])


def attach(variants_table):
    """Install the triggers whenever the variants table is created (create_all: tests, fresh databases)."""
    for dialect_name in ("postgresql", "sqlite"):
        for statement in statements(dialect_name):
            event.listen(variants_table, "after_create", DDL(statement).execute_if(dialect=dialect_name))
