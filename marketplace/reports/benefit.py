"""The poverty-benefit report (带贫): what the town's households earned, by mechanism and village.

Income is read from the ledger's credits to each household's account in the period, grouped by
the rule that posted them: operating income (direct sales, guaranteed purchase, profit return),
asset income (share dividends, fixed returns). A refund counts against the mechanism it
reverses (the ledger's `household_mechanism`); aid from the love fund is shown apart, as it is not
earned. Wages are not recorded by any ledger rule yet, so the report has no wage column.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from marketplace.spreadsheets import xlsx_bytes
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import household_mechanism
from marketplace.local_time import day_bounds_utc
from marketplace.people.models import Household
from marketplace.places.models import Town, Village
from marketplace.statements.services import check_period, render_chinese_pdf

OPERATING = ("direct_sale", "floor_purchase", "profit_return")
ASSET = ("dividend", "fixed_return")
AID = "love_fund_aid"
COLUMNS = (*OPERATING, *ASSET, AID)


@dataclass
class VillageFigures:
    village: Village
    fen: dict = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    households: set = field(default_factory=set)

    @property
    def operating_fen(self):
        return sum(self.fen[c] for c in OPERATING)

    @property
    def asset_fen(self):
        return sum(self.fen[c] for c in ASSET)

    @property
    def income_fen(self):
        return self.operating_fen + self.asset_fen


def benefit_report(town_id, start, end):
    """Per village and for the town: households reached and income by mechanism, in fen."""
    check_period(start, end)
    villages = db.session.scalars(select(Village).where(Village.town_id == town_id).order_by(Village.id)).all()
    figures = {village.id: VillageFigures(village) for village in villages}
    rows = db.session.execute(
        select(Household.id, Household.village_id, JournalEntry, Posting.amount_fen)
        .join(Account, (Account.owner_type == "household") & (Account.owner_id == Household.id)
              & (Account.kind == "household_payable"))
        .join(Posting, Posting.account_id == Account.id).join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(Village, Village.id == Household.village_id)
        .where(Village.town_id == town_id,
               JournalEntry.created_at >= day_bounds_utc(start, end)[0],  # the district's calendar days
               JournalEntry.created_at < day_bounds_utc(start, end)[1])).all()
    earned = defaultdict(int)
    for household_id, village_id, entry, amount in rows:
        mechanism = household_mechanism(entry)
        if mechanism not in COLUMNS:
            continue  # payouts and spending are not income
        figures[village_id].fen[mechanism] -= amount  # a credit to the household is negative
        if mechanism != AID:
            earned[(village_id, household_id)] -= amount
    for (village_id, household_id), fen in earned.items():
        if fen > 0:
            figures[village_id].households.add(household_id)
    total = VillageFigures(None)
    for one in figures.values():
        for column in COLUMNS:
            total.fen[column] += one.fen[column]
        total.households |= one.households
    return {"town": db.session.get(Town, town_id), "start": start, "end": end,
            "villages": list(figures.values()), "total": total}


HEADERS = ["村 Village", "带动户数 Households reached", "直接销售 Direct sales", "保底收购 Guaranteed purchase",
           "利润返还 Profit return", "经营性收入 Operating", "股份分红 Dividends", "固定收益 Fixed returns",
           "资产性收益 Asset", "合计 Income", "爱心救助 Love-fund aid"]


def _line(name, figures):
    yuan = lambda fen: Decimal(fen) / 100  # noqa: E731
    return [name, len(figures.households), *(yuan(figures.fen[c]) for c in OPERATING), yuan(figures.operating_fen),
            *(yuan(figures.fen[c]) for c in ASSET), yuan(figures.asset_fen), yuan(figures.income_fen),
            yuan(figures.fen[AID])]


def benefit_xlsx(report):
    rows = [_line(one.village.name_zh, one) for one in report["villages"]]
    rows.append(_line("合计 Total", report["total"]))
    return xlsx_bytes(f"带贫 {report['start']:%Y%m%d}-{report['end']:%Y%m%d}", HEADERS, rows)


def benefit_pdf(report):
    return render_chinese_pdf("documents/benefit_report.html", report=report, columns=COLUMNS)
