from datetime import date
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from pypdf import PdfReader

from marketplace.funds import services as love_fund
from marketplace.ledger.balances import household_balance
from marketplace.reports.benefit import benefit_pdf, benefit_report, benefit_xlsx

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def test_the_report_counts_households_reached_and_income_by_mechanism(lingzi):
    earners = lingzi.earning("bank") + lingzi.earning("cash")
    floor_fen = sum(household_balance(h.id).posted_fen for h in earners)
    love_fund.record_donation(lingzi.maker_id, "gift", 10_000, "捐赠-r1")
    grant = love_fund.propose_grant(lingzi.maker_id, earners[0].id, "hardship", 5_000, "临时困难")
    love_fund.approve_grant(lingzi.checker_id, grant.id)

    report = benefit_report(lingzi.town_id, *YEAR)

    total = report["total"]
    assert len(total.households) == len(earners)
    assert total.fen["floor_purchase"] == floor_fen == total.operating_fen == total.income_fen
    assert total.fen["love_fund_aid"] == 5_000  # shown apart: aid is not earned income
    lili = next(v for v in report["villages"] if v.village.name_zh == "李里村")
    assert lili.income_fen == floor_fen


def test_the_xlsx_and_pdf_carry_the_same_totals(lingzi):
    report = benefit_report(lingzi.town_id, *YEAR)
    income = report["total"].income_fen

    sheet = load_workbook(BytesIO(benefit_xlsx(report))).active
    headers = [cell.value for cell in sheet[1]]
    last = [cell.value for cell in sheet[sheet.max_row]]
    assert last[0] == "合计 Total"
    assert last[1] == len(report["total"].households)
    assert round(Decimal(str(last[headers.index("合计 Income")])) * 100) == income

    text = "".join(page.extract_text() for page in PdfReader(BytesIO(benefit_pdf(report))).pages)
    assert "带贫成效统计表" in text and "李里村" in text
    assert f"¥{income / 100:,.2f}" in text


def test_the_period_bounds_what_is_counted(lingzi):
    report = benefit_report(lingzi.town_id, date(2020, 1, 1), date(2020, 12, 31))
    assert report["total"].income_fen == 0 and not report["total"].households
