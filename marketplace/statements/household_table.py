"""The town's households as a table staff can sort and total, on the page and in XLSX.

Chinese names sort by their pinyin (pypinyin), as a person looks a name up in a register —
not by Unicode code point, which puts 赵 before 吴 for no reason anyone can see.
"""
from dataclasses import dataclass

from marketplace.statements.services import town_households

SORTS = ("name", "village", "available", "pending")


def pinyin_key(text):
    """'吴长林' → 'wu chang lin': the order of a register, tones ignored."""
    from pypinyin import Style, lazy_pinyin  # when first needed, as catalog.search does (56 MB)

    return " ".join(lazy_pinyin(text or "", style=Style.NORMAL, errors="default")).lower()


@dataclass(frozen=True)
class HouseholdTable:
    rows: list
    sort: str
    descending: bool
    available_fen: int
    pending_fen: int
    paid_to_date_fen: int


def household_table(town_id, query="", village_id=None, sort="name", descending=False):
    """The households of the town matching `query`/`village_id`, sorted by `sort`, with totals."""
    sort = sort if sort in SORTS else "name"
    rows = town_households(town_id, query, village_id)
    name_key = {row.household.id: pinyin_key(row.household.head_name) for row in rows}
    keys = {
        "name": lambda row: (name_key[row.household.id], row.household.id),
        "village": lambda row: (pinyin_key(row.household.village.name_zh), name_key[row.household.id], row.household.id),
        "available": lambda row: (row.available_fen, name_key[row.household.id]),
        "pending": lambda row: (row.pending_fen, name_key[row.household.id]),
    }
    rows = sorted(rows, key=keys[sort], reverse=descending)
    return HouseholdTable(rows=rows, sort=sort, descending=descending,
                          available_fen=sum(row.available_fen for row in rows),
                          pending_fen=sum(row.pending_fen for row in rows),
                          paid_to_date_fen=sum(row.paid_to_date_fen for row in rows))
