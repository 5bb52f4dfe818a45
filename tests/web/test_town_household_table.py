"""The town's households as a table: sorted by pinyin, by village or by balance, with totals, and
the same table as XLSX (through the shared spreadsheet writer)."""
from io import BytesIO

from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.statements.household_table import household_table, pinyin_key


def test_names_sort_by_pinyin_not_by_character_code():
    names = ["赵守田", "吴长林", "韩丰年", "李金山"]
    assert sorted(names, key=pinyin_key) == ["韩丰年", "李金山", "吴长林", "赵守田"]
    assert sorted(names) != sorted(names, key=pinyin_key)  # code-point order would differ


def test_the_table_sorts_by_each_column_and_totals_what_it_shows(app, lingzi):
    table = household_table(lingzi.town_id)
    names = [row.household.head_name for row in table.rows]
    assert names == sorted(names, key=pinyin_key)
    assert table.available_fen == sum(row.available_fen for row in table.rows) > 0
    by_available = household_table(lingzi.town_id, sort="available", descending=True)
    assert [row.available_fen for row in by_available.rows] == sorted((r.available_fen for r in table.rows), reverse=True)
    assert household_table(lingzi.town_id, sort="no-such-column").sort == "name"


def test_the_page_and_its_xlsx_show_the_same_rows_and_totals(app, lingzi, auth):
    table = household_table(lingzi.town_id, sort="pending", descending=True)
    db.session.remove()
    client = auth.login_as("town@demo.cn")
    page = client.get("/town/households?sort=pending&dir=desc").get_data(as_text=True)
    assert 'aria-sort="descending"' in page and "合计" in page
    assert page.index(table.rows[0].household.head_name) < page.index(table.rows[-1].household.head_name)
    response = client.get("/town/households.xlsx?sort=pending&dir=desc")
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(load_workbook(BytesIO(response.data)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:-1]] == [row.household.head_name for row in table.rows]
    assert rows[-1][0] == "合计" and round(rows[-1][2] * 100) == table.available_fen
