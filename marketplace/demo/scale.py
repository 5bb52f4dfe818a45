"""A district of any size, fast: `flask --app wsgi seed-scale --households N ...` (PostgreSQL).

Rows are generated in Python and streamed with PostgreSQL COPY (psycopg), never built as ORM
objects: 100,000 households, 5,000 cooperatives, 50,000 products and 1,000,000 paid orders
with their ledger take minutes, not hours. Ids are assigned here, so every table is written in
one pass and the sequences are moved past them at the end.

The ledger is posted as the attribution rules of DESIGN §3 would post it (see `scale_ledger`):
every entry balances and carries a unique idempotency key; `check_scale_ledger` proves it
afterwards with one aggregate query each, since foreign-key and balance triggers are switched
off for the load (`session_replication_role = replica`) and must not be trusted blindly.
"""
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import text

from marketplace.catalog import lowest_price
from marketplace.catalog.search import LABEL_WORDS, product_terms, title_terms
from marketplace.crypto import blind_index, mask
from marketplace.demo.scale_ledger import LedgerWriter
from marketplace.demo.seed import CATEGORIES, GIVEN, SURNAMES
from marketplace.extensions import db

PRODUCE = [("雪梨", "snow pears", 400, 5), ("小米", "millet", 600, 2), ("山楂", "hawthorn", 150, 5),
           ("核桃", "walnuts", 900, 2), ("蜂蜜", "honey", 2000, 1), ("西红柿", "tomatoes", 300, 3),
           ("黄瓜", "cucumbers", 250, 3), ("高粱", "sorghum", 350, 5), ("红薯", "sweet potatoes", 200, 5),
           ("苹果", "apples", 450, 5), ("香椿", "toona sprouts", 1500, 1), ("花椒", "Sichuan pepper", 3000, 1)]
DAILY_GOODS = [("复合肥", "compound fertiliser", "farm-supplies"), ("玉米种子", "corn seed", "farm-supplies"),
               ("花生油", "peanut oil", "household"), ("洗衣粉", "laundry powder", "household")]
QUALIFIERS = [("有机", "organic"), ("富硒", "selenium-rich"), ("山地", "hillside"), ("农家", "farmhouse"), ("精选", "choice")]
PASSWORD_HASH = "scrypt:32768:8:1$scale$not-a-usable-password"  # buyers of the scale district never sign in
START = datetime(2025, 12, 1)
# The commission every scale supplier agreed with the platform; scale_ledger posts its sales at it.
SUPPLIER_COMMISSION_RATE = "0.05"


@dataclass
class Sizes:
    households: int
    cooperatives: int
    products: int
    orders: int
    villages: int = 0
    towns: int = 0
    buyers: int = 0

    def __post_init__(self):
        self.villages = self.villages or max(1, -(-self.households // 300))
        # Towns of 20,000 households: a town's bank (or cash) payout batch covers 10,000 of them.
        self.towns = self.towns or max(1, min(self.villages, self.households // 20_000))
        self.buyers = self.buyers or max(1, self.orders // 20)


@dataclass
class Timings:
    steps: dict = field(default_factory=dict)

    def timed(self, name, function, *args):
        started = time.perf_counter()
        result = function(*args)
        self.steps[name] = time.perf_counter() - started
        return result


class Copier:
    """COPY rows into tables on one raw psycopg connection, triggers and FK checks off."""

    def __init__(self, connection):
        self.connection = connection
        self.cursor = connection.cursor()
        self.cursor.execute("SET session_replication_role = replica")
        self.counts = {}

    def copy(self, table, columns, rows):
        """COPY `rows` (tuples in `columns` order); other NOT NULL columns get their model default."""
        extra_columns, extra = _defaults(db.metadata.tables[table], columns)
        count = 0
        with self.cursor.copy(f"COPY {table} ({', '.join([*columns, *extra_columns])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + extra if extra else row)
                count += 1
        self.counts[table] = self.counts.get(table, 0) + count
        return count


def _defaults(table, given):
    """Columns not given that cannot be NULL, with the model's default (START for callables).

    Branches add columns with defaults all the time; this keeps the generator loading them.
    """
    names, values = [], []
    for column in table.columns:
        if column.name in given or column.nullable or column.server_default is not None:
            continue
        default = column.default
        if default is None:
            raise RuntimeError(f"seed-scale does not know a value for {table.name}.{column.name}")
        value = START if default.is_callable else default.arg
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        names.append(column.name)
        values.append(value)
    return names, tuple(values)


def seed_scale(sizes, echo=print):
    """Build the district of `sizes` into empty tables; returns (row counts, seconds per step)."""
    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("seed-scale streams with PostgreSQL COPY: set DATABASE_URL to a PostgreSQL database")
    if db.session.execute(text("SELECT EXISTS (SELECT 1 FROM households)")).scalar():
        raise RuntimeError("the database already holds households: run with --reset to empty it first")
    timings = Timings()
    raw = db.engine.raw_connection()
    try:
        copier = Copier(raw.driver_connection)
        district = timings.timed("places, people, cooperatives", _places_people_coops, copier, sizes)
        echo(f"  households encrypted in {district.encrypt_seconds:.1f} s")
        timings.timed("catalogue, lots", _catalogue, copier, sizes, district)
        timings.timed("orders, payments, ledger", _orders, copier, sizes, district)
        raw.driver_connection.commit()
    finally:
        raw.close()
    timings.timed("sequences, statistics", _finish)
    return copier.counts, timings.steps


@dataclass
class District:
    town_ids: list
    village_town: list
    household_village: list
    household_poor: list
    coop_town: list
    coop_members: dict
    coop_rates: list
    encrypt_seconds: float = 0.0
    products: list = field(default_factory=list)
    lots: dict = field(default_factory=dict)


def _places_people_coops(copier, sizes):
    towns = range(1, sizes.towns + 1)
    copier.copy("towns", ["id", "slug", "name_zh", "name_en"],
                ((t, f"town-{t}", f"第{t}镇", f"Town {t}") for t in towns))
    village_town = [0] + [1 + (v - 1) % sizes.towns for v in range(1, sizes.villages + 1)]
    copier.copy("villages", ["id", "town_id", "name_zh", "name_en", "is_poor_village"],
                ((v, village_town[v], *_village_names(v), v % 3 == 0)
                 for v in range(1, sizes.villages + 1)))
    copier.copy("service_points", ["id", "village_id", "name_zh", "name_en", "address_zh", "is_free_stall"],
                ((v, v, f"{v}村电商服务站", f"Village {v} service point", f"{v}村村委会", v % 3 == 0)
                 for v in range(1, sizes.villages + 1)))
    household_village = [0] + [1 + (h - 1) % sizes.villages for h in range(1, sizes.households + 1)]
    household_poor = [False] + [h % 4 != 0 for h in range(1, sizes.households + 1)]
    started = time.perf_counter()
    households = list(_household_rows(sizes, household_village, household_poor))
    encrypt_seconds = time.perf_counter() - started
    copier.copy("households", HOUSEHOLD_COLUMNS, households)
    del households
    suppliers = max(1, sizes.cooperatives // 50)
    copier.copy("suppliers", ["id", "name_zh", "name_en", "town_id", "contact_phone", "commission_rate", "created_at"],
                ((s, f"第{s}号农资日用品超市", f"Supplies shop {s}", 1 + s % sizes.towns, "0533-0000000",
                  SUPPLIER_COMMISSION_RATE, START)
                 for s in range(1, suppliers + 1)))
    coop_town = [0] + [1 + (c - 1) % sizes.towns for c in range(1, sizes.cooperatives + 1)]
    copier.copy("cooperatives", ["id", "town_id", "village_id", "registration_no", "name_zh", "name_en", "story_zh",
                                 "story_en", "created_at"],
                ((c, coop_town[c], 1 + (c - 1) % sizes.villages, f"SCALE-{c}", f"第{c}号{PRODUCE[c % 12][0]}专业合作社",
                  f"Cooperative {c} ({PRODUCE[c % 12][1]})", "带动周边贫困户增收。", "Lifts nearby poor households.", START)
                 for c in range(1, sizes.cooperatives + 1)))
    coop_rates = [Decimal(0)] + [Decimal(("0.20", "0.25", "0.30")[c % 3]) for c in range(1, sizes.cooperatives + 1)]
    copier.copy("sharing_rules", ["id", "cooperative_id", "profit_return_rate", "dividend_rate", "period", "weight_land",
                                  "weight_house", "weight_fund", "weight_cash", "effective_at", "note"],
                ((c, c, coop_rates[c], Decimal("0.30"), "quarter", 1, Decimal("0.8"), Decimal("1.2"), 1, START, "规模数据")
                 for c in range(1, sizes.cooperatives + 1)))
    # Every household is a member of one cooperative (round robin), holding land or cash shares.
    coop_members = {}
    for h in range(1, sizes.households + 1):
        coop_members.setdefault(1 + (h - 1) % sizes.cooperatives, []).append(h)
    copier.copy("memberships", ["id", "cooperative_id", "household_id", "joined_on"],
                ((h, 1 + (h - 1) % sizes.cooperatives, h, date(2018, 3, 1)) for h in range(1, sizes.households + 1)))
    copier.copy("share_holdings", ["id", "membership_id", "kind", "quantity"],
                ((h, h, "land" if h % 2 else "cash", Decimal(1 + h % 3)) for h in range(1, sizes.households + 1)))
    copier.copy("users", ["id", "email", "name", "password_hash", "role", "is_active_account", "session_version",
                          "created_at"],
                ((u, f"buyer{u}@scale.test", f"买家{u}", PASSWORD_HASH, "buyer", True, 1, START)
                 for u in range(1, sizes.buyers + 1)))
    # Two staff per town (maker and checker of payout batches): staff{town}a@ and staff{town}b@.
    copier.copy("users", ["id", "email", "name", "password_hash", "role", "town_id", "is_active_account",
                          "session_version", "created_at"],
                ((sizes.buyers + 2 * t - 1 + i, f"staff{t}{'ab'[i]}@scale.test", f"第{t}镇专员{'甲乙'[i]}", PASSWORD_HASH,
                  "town_staff", t, True, 1, START) for t in towns for i in (0, 1)))
    return District([*towns], village_town, household_village, household_poor, coop_town, coop_members, coop_rates,
                    encrypt_seconds)


HOUSEHOLD_COLUMNS = ["id", "village_id", "head_name", "people_count", "registry_no", "registry_no_index",
                     "registry_no_masked", "is_verified_poor", "verification_evidence", "consent_public",
                     "display_label_zh", "display_label_en", "payout_method", "bank_account", "bank_account_masked",
                     "bank_name", "created_at"]


def _household_rows(sizes, household_village, household_poor):
    """Households with registry (and, for half, bank) numbers encrypted exactly as the model does."""
    cipher = current_app.extensions["field_cipher"]
    for h in range(1, sizes.households + 1):
        surname, surname_py = SURNAMES[h % 12]
        given, given_py = GIVEN[(h // 12) % len(GIVEN)]
        registry_no = f"37{household_village[h]:06d}{h:08d}"
        bank = h % 2 == 0
        account = f"6217{h:015d}" if bank else None
        yield (h, household_village[h], f"{surname}{given}", 1 + h % 5, cipher.encrypt(registry_no.encode()),
               blind_index(registry_no), mask(registry_no), household_poor[h], "规模数据：建档立卡名册" if household_poor[h] else "",
               h % 4 != 3, f"{given} · {household_village[h]}村", f"{given_py} {surname_py}, village {household_village[h]}",
               "bank" if bank else "cash", cipher.encrypt(account.encode()) if bank else None,
               mask(account) if bank else "", "农商银行（规模数据）" if bank else "", START)


def _catalogue(copier, sizes, district):
    """Categories, sellers, products with two variants each, and two supply lots per coop product."""
    copier.copy("categories", ["id", "slug", "name_zh", "name_en", "direction"],
                ((i, slug, zh, en, direction) for i, (slug, zh, en, direction) in enumerate(CATEGORIES, 1)))
    category_id = {slug: i for i, (slug, *_rest) in enumerate(CATEGORIES, 1)}
    suppliers = max(1, sizes.cooperatives // 50)
    direct_households = max(1, min(sizes.households, sizes.products // 10))
    sellers = ([(c, "cooperative", c, None, None) for c in range(1, sizes.cooperatives + 1)]
               + [(sizes.cooperatives + i, "household", None, i * (sizes.households // direct_households), None)
                  for i in range(1, direct_households + 1)]
               + [(sizes.cooperatives + direct_households + s, "supplier", None, None, s) for s in range(1, suppliers + 1)])
    copier.copy("sellers", ["id", "kind", "cooperative_id", "household_id", "supplier_id"], sellers)
    products, variants = [], []
    lot_count = 0
    for p in range(1, sizes.products + 1):
        products.append(_product(p, sizes, sellers, direct_households, suppliers, category_id, district))
    # The triggers that keep lowest_price_fen are off for the load: it is written here.
    copier.copy("products", [*PRODUCT_COLUMNS, "search_terms", "title_terms", "lowest_price_fen"],
                ((*row[:len(PRODUCT_COLUMNS)], _search_terms(row, sizes.cooperatives), title_terms(row[7], row[8]),
                  min(_variant_price(row[-4], i) for i in (0, 1)))
                 for row in products))
    copier.copy("product_photos", ["id", "product_id", "filename", "thumbnail", "position"],
                ((p, p, f"products/scale-{p % 12}.jpg", f"products/scale-{p % 12}-thumb.jpg", 0)
                 for p in range(1, sizes.products + 1)))
    for product in products:
        p, price, lot_units, kind, owner, floor = product[0], product[-4], product[-3], product[-2], product[-1], product[13]
        for index in (0, 1):
            v = 2 * p - 1 + index
            units = lot_units * (1 + 4 * index)
            variants.append((v, p, f"SC-{p}-{index}", f"{units}斤装" if lot_units else "每件", f"{units} jin" if lot_units else "each",
                             "jin" if index == 0 else "box", _variant_price(price, index), 100_000, 500 * (1 + index),
                             max(1, units), True))
        if kind == "cooperative":
            members = district.coop_members.get(owner) or [1]
            # [lot id, household, quantity, units allocated so far]: the ledger writer fills the last.
            district.lots[p] = [[lot_count + 1 + i, members[(p + i) % len(members)], 200 + (p * 37 + i * 11) % 400, 0]
                                for i in (0, 1)]
            lot_count += 2
        district.products.append((p, kind, owner, floor))
    copier.copy("variants", ["id", "product_id", "sku", "name_zh", "name_en", "unit", "price_fen", "stock_available",
                             "weight_grams", "lot_units", "is_active"], variants)
    district.variant_prices = {v[0]: (v[6], v[9]) for v in variants}


def _variant_price(product_price, index):
    """A product's variant `index` (0: one jin, 1: a box of five) in fen."""
    return product_price * (1 + 4 * index) - 10 * index


PRODUCT_COLUMNS = ["id", "slug", "seller_id", "category_id", "origin_village_id", "direction", "status", "title_zh",
                   "title_en", "story_zh", "story_en", "label_selenium_rich", "label_organic", "floor_price_fen",
                   "label_poor_household_direct", "lot_unit", "is_featured", "created_at", "updated_at"]


def _village_names(v):
    return f"{SURNAMES[v % 12][0]}家{v}村", f"{SURNAMES[v % 12][1]}jia {v} Village"


def _search_terms(row, cooperatives):
    """The product's search terms, as `marketplace.catalog.search` keeps them for the app's writes."""
    column = dict(zip(PRODUCT_COLUMNS, row))
    village_zh, village_en = _village_names(column["origin_village_id"]) if column["origin_village_id"] else ("", "")
    labels = [label for label in LABEL_WORDS if column[label]]
    return product_terms(column["title_zh"], column["title_en"], village_zh, village_en, labels,
                         *_cooperative_names(column["seller_id"], cooperatives))


def _cooperative_names(seller_id, cooperatives):
    """The names `generate` gives cooperative `seller_id` (cooperatives' sellers share their ids), or blanks."""
    if seller_id > cooperatives:
        return "", ""
    return f"第{seller_id}号{PRODUCE[seller_id % 12][0]}专业合作社", f"Cooperative {seller_id} ({PRODUCE[seller_id % 12][1]})"


def _product(p, sizes, sellers, direct_households, suppliers, category_id, district):
    """One product row plus (price, lot units, seller kind, owner id) for its variants and lots."""
    share = p % 10
    qualifier, qualifier_en = QUALIFIERS[p % len(QUALIFIERS)]
    if share < 8 or sizes.products < 10:
        coop = 1 + (p - 1) % sizes.cooperatives
        zh, en, floor, lot_units = PRODUCE[p % 12]
        village = 1 + (coop - 1) % sizes.villages
        row = (p, f"scale-{p}", coop, category_id["fruit" if p % 2 else "grains"], village, "uplink", "active",
               f"{qualifier}{zh}（{village}村）", f"{qualifier_en.capitalize()} {en} from village {village}",
               f"第{coop}号合作社社员种植的{zh}，保底收购、利润返还。", f"{en.capitalize()} grown by members of cooperative {coop}.",
               qualifier == "富硒", qualifier == "有机", floor, False)
        return row + ("jin", p % 97 == 0, START, START, floor * lot_units * 2, lot_units, "cooperative", coop)
    if share == 8:
        index = 1 + p % direct_households
        seller = sellers[sizes.cooperatives + index - 1]
        zh, en, _floor, _units = PRODUCE[p % 12]
        household = seller[3]
        row = (p, f"scale-{p}", seller[0], category_id["specialties"], district.household_village[household], "uplink",
               "active", f"农户直供{zh}", f"{en.capitalize()} direct from a household", f"自家种的{zh}。",
               f"Home-grown {en}.", False, False, None, district.household_poor[household])
        return row + ("jin", False, START, START, 3000 + p % 50 * 100, 1, "household", household)
    supplier = 1 + p % suppliers
    seller = sellers[sizes.cooperatives + direct_households + supplier - 1]
    zh, en, category = DAILY_GOODS[p % 4]
    row = (p, f"scale-{p}", seller[0], category_id[category], None, "downlink", "active", f"{zh}（{p}号）",
           f"{en.capitalize()} no. {p}", f"{zh}，送到村服务站。", f"{en.capitalize()}, delivered to the village.",
           False, False, None, False)
    return row + ("jin", False, START, START, 2500 + p % 80 * 100, 1, "supplier", supplier)


def _orders(copier, sizes, district):
    LedgerWriter(copier, sizes, district).write()
    # Every entry waits for the sealer (ledger/chain.py), as the migration that brought the chain queued them.
    copier.cursor.execute("INSERT INTO ledger_unsealed (entry_id) SELECT id FROM journal_entries")


def _finish():
    """Move every sequence past the ids written, then VACUUM ANALYZE: the planner's statistics, and
    the visibility maps a live district's autovacuum would have set (without them every index-only
    scan reads the table too)."""
    with db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            sequence = connection.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar() \
                if "id" in table.c else None
            if sequence:
                connection.execute(text(f"SELECT setval('{sequence}', COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def check_scale_ledger():
    """The invariants the load could not enforce row by row (the ledger's, each product's lowest price): returns
    a list of problems."""
    problems = []
    checks = {
        "unbalanced entries": "SELECT count(*) FROM (SELECT entry_id FROM postings GROUP BY entry_id "
                              "HAVING sum(amount_fen) <> 0) unbalanced",
        "ledger total (must be 0)": "SELECT COALESCE(sum(amount_fen), 0) FROM postings",
        "entries with fewer than two postings": "SELECT count(*) FROM journal_entries e WHERE "
                                                "(SELECT count(*) FROM postings p WHERE p.entry_id = e.id) < 2",
        "paid orders whose payment entry is missing": "SELECT count(*) FROM payments p WHERE NOT EXISTS (SELECT 1 FROM "
                                                      "journal_entries e WHERE e.idempotency_key = 'pay:' || p.id)",
        "products whose lowest price is not their variants'": "SELECT count(*) FROM products WHERE lowest_price_fen "
                                                              f"IS DISTINCT FROM {lowest_price.LOWEST}",
    }
    with db.engine.connect() as connection:
        for name, query in checks.items():
            value = connection.execute(text(query)).scalar()
            if value:
                problems.append(f"{name}: {value}")
    return problems


def reset_database():
    """Empty every table of the schema (the scale district is rebuilt from nothing)."""
    names = ", ".join(table.name for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        # The ledger's guards refuse TRUNCATE; a district rebuilt from nothing empties it as a replica.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def days_ago(order_id, orders):
    """Orders are spread evenly over the year before START + 365 days, oldest first."""
    return START + timedelta(seconds=int(order_id * 365 * 86400 / max(1, orders)))
