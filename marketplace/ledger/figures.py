"""The towns' public figures, kept up as the ledger grows, so no public page sums postings.

The impact page and the API's impact figures used to add up every posting of a town's
households on each request (13 s at 1,000,000 orders). They now read three small tables:
`HouseholdIncome` (household × mechanism), `TownIncome` (town × mechanism: fen and households
reached) and `TownFigures` (households reached by any mechanism, love fund in and out).

Those tables follow the hash chain. The sealer chains every committed entry exactly once, in
`seq` order, with no gaps (chain.py); `fold_sealed_entries` takes the links after its mark
(`FoldMark` "town_figures"), adds their household and love-fund postings to the tables and moves
the mark, all in one transaction under one advisory lock. So every entry is counted exactly once
whatever is retried or run twice, and an entry committed late is simply chained (and counted)
late. The figures lag the ledger by the sealer's beat (a few seconds); the task that seals folds
right after.

`verify_town_figures` compares the tables with `town_impact` and `love_fund_summary` summed from
the postings; `flask ledger figures --rebuild` empties them and folds the whole chain again.
"""
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text

from marketplace.database import is_postgres
from marketplace.extensions import db
from marketplace.ledger.models import (
    Account, EntrySeal, FoldMark, HouseholdIncome, JournalEntry, Posting, TownFigures, TownIncome,
)
from marketplace.ledger.rules.names import INCOME_MECHANISMS, LOVE_FUND_AID, mechanism_of
from marketplace.ledger.services import among, dialect_insert

FOLD_NAME = "town_figures"
FOLD_BATCH = 20_000  # links per transaction
FOLD_LOCK = 0x66696773  # the folder's advisory lock ("figs")
# Where a commit that changed a town's figures leaves the page-cache keys to retire (see page_cache).
RETIRE_AFTER_COMMIT = "retire_page_keys"
TOWN_PAGE_KEY = "impact:town:{}"


@dataclass(frozen=True)
class PublicTownFigures:
    """What the public sees of a town: households reached and income, by mechanism, and its love fund."""

    town_id: int
    households_reached: int
    income_fen: int
    by_mechanism: dict
    households_by_mechanism: dict
    love_fund_received_fen: int
    love_fund_granted_fen: int

    @property
    def love_fund_balance_fen(self):
        return self.love_fund_received_fen - self.love_fund_granted_fen


def town_figures(town_id):
    """The town's public figures in one query of at most six rows, whatever the size of the ledger."""
    rows = db.session.execute(
        select(TownFigures.households_reached, TownFigures.love_fund_received_fen, TownFigures.love_fund_granted_fen,
               TownIncome.mechanism, TownIncome.fen, TownIncome.households)
        .outerjoin(TownIncome, TownIncome.town_id == TownFigures.town_id)
        .where(TownFigures.town_id == town_id)).all()
    by_mechanism = {mechanism: 0 for mechanism in INCOME_MECHANISMS}
    households = dict(by_mechanism)
    for row in rows:
        if row.mechanism in by_mechanism:
            by_mechanism[row.mechanism], households[row.mechanism] = int(row.fen), row.households
    first = rows[0] if rows else None
    return PublicTownFigures(
        town_id=town_id, households_reached=first.households_reached if first else 0,
        income_fen=sum(by_mechanism.values()), by_mechanism=by_mechanism, households_by_mechanism=households,
        love_fund_received_fen=int(first.love_fund_received_fen) if first else 0,
        love_fund_granted_fen=int(first.love_fund_granted_fen) if first else 0)


def fold_sealed_entries(batch=FOLD_BATCH):
    """Add the entries chained since the last fold to the towns' figures; commits each batch.
    Returns how many links were folded (0 when the figures are up to date)."""
    folded = 0
    while True:
        if is_postgres():
            db.session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": FOLD_LOCK})
        mark = db.session.get(FoldMark, FOLD_NAME, populate_existing=True)
        if mark is None:
            mark = FoldMark(name=FOLD_NAME, seq=0)
            db.session.add(mark)
        head = db.session.scalar(select(func.max(EntrySeal.seq))) or 0
        upto = min(mark.seq + batch, head)
        if upto <= mark.seq:
            db.session.commit()
            return folded
        _fold(db.session.execute(
            select(Account.kind, Account.owner_id, Posting.amount_fen, JournalEntry.rule, JournalEntry.rule_settings)
            .select_from(EntrySeal)
            .join(Posting, Posting.entry_id == EntrySeal.entry_id)
            .join(Account, Account.id == Posting.account_id)
            .join(JournalEntry, JournalEntry.id == EntrySeal.entry_id)
            .where(EntrySeal.seq > mark.seq, EntrySeal.seq <= upto,
                   Account.kind.in_(("household_payable", "love_fund")))).all())
        folded += upto - mark.seq
        mark.seq = upto
        db.session.commit()


def _fold(postings):
    """Add (account kind, owner, fen, rule, settings) postings to the figures, in this transaction."""
    from marketplace.people.models import Household
    from marketplace.places.models import Village

    income = defaultdict(int)  # (household, mechanism) -> fen credited
    fund = defaultdict(lambda: [0, 0])  # town -> [received, granted]
    for kind, owner, amount, rule, settings in postings:
        if kind == "love_fund":
            # Aid is a debit of the fund; everything else (round-ups, gifts, their refunds) is money in.
            if rule == LOVE_FUND_AID:
                fund[owner][1] += amount
            else:
                fund[owner][0] -= amount
            continue
        mechanism = mechanism_of(rule, settings)
        if mechanism in INCOME_MECHANISMS:
            income[(owner, mechanism)] -= amount  # a credit to the household is negative
    households = sorted({household for household, _mechanism in income})
    town_of = dict(db.session.execute(select(Household.id, Village.town_id).join(Village)
                                      .where(among(Household.id, households))).all()) if households else {}
    known = {tuple(row) for row in db.session.execute(
        select(HouseholdIncome.household_id, HouseholdIncome.mechanism)
        .where(among(HouseholdIncome.household_id, households)))} if households else set()
    reached_before = {household for household, _mechanism in known}
    towns = defaultdict(lambda: {"fen": 0, "households": 0})  # (town, mechanism) -> change
    reached = defaultdict(int)  # town -> households reached for the first time
    for (household, mechanism), fen in income.items():
        change = towns[(town_of[household], mechanism)]
        change["fen"] += fen
        change["households"] += (household, mechanism) not in known
    for household in households:
        if household not in reached_before:
            reached[town_of[household]] += 1
    if income:
        _add(HouseholdIncome, ("household_id", "mechanism"), ("fen",),
             [{"household_id": household, "mechanism": mechanism, "fen": fen}
              for (household, mechanism), fen in sorted(income.items())])
        _add(TownIncome, ("town_id", "mechanism"), ("fen", "households"),
             [{"town_id": town, "mechanism": mechanism, **change} for (town, mechanism), change in sorted(towns.items())])
    changed = sorted({town for town, _mechanism in towns} | set(fund))
    if changed:
        _add(TownFigures, ("town_id",), ("households_reached", "love_fund_received_fen", "love_fund_granted_fen"),
             [{"town_id": town, "households_reached": reached.get(town, 0),
               "love_fund_received_fen": fund[town][0] if town in fund else 0,
               "love_fund_granted_fen": fund[town][1] if town in fund else 0} for town in changed])
        db.session.info.setdefault(RETIRE_AFTER_COMMIT, set()).update(TOWN_PAGE_KEY.format(town) for town in changed)


def _add(model, key, counters, rows):
    """INSERT `rows`, or add their `counters` to the rows already there (ON CONFLICT, both databases)."""
    statement = dialect_insert(model)
    table = model.__table__
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in key],
        set_={name: table.c[name] + getattr(statement.excluded, name) for name in counters}), rows)


def rebuild_town_figures():
    """Empty the figures and fold the whole chain again (a repair; the fold alone keeps them)."""
    if is_postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": FOLD_LOCK})
    for model in (HouseholdIncome, TownIncome, TownFigures, FoldMark):
        db.session.execute(delete(model) if model is not FoldMark else delete(FoldMark).where(FoldMark.name == FOLD_NAME))
    db.session.commit()
    return fold_sealed_entries()


def verify_town_figures():
    """Towns whose kept figures differ from the ledger summed anew (seal and fold first): [(town id, what)]."""
    from marketplace.ledger.balances import love_fund_summary
    from marketplace.ledger.reports import town_impact
    from marketplace.places.models import Town

    differences = []
    for town_id in db.session.scalars(select(Town.id).order_by(Town.id)):
        kept, summed, fund = town_figures(town_id), town_impact(town_id), love_fund_summary(town_id)
        expected = (summed.households_reached, summed.by_mechanism, summed.households_by_mechanism,
                    fund["received_fen"], fund["granted_fen"])
        found = (kept.households_reached, kept.by_mechanism, kept.households_by_mechanism,
                 kept.love_fund_received_fen, kept.love_fund_granted_fen)
        if found != expected:
            differences.append((town_id, f"kept {found} ≠ ledger {expected}"))
    return differences
