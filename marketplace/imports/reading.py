"""Reading the spreadsheets districts keep: XLSX (openpyxl read-only) or CSV (UTF-8 or GB18030).

Columns are found by their Chinese header (or an accepted alias); their order does not matter
and unknown columns are ignored. A workbook is read within bounds — at most MAX_SHEET_ROWS rows
and MAX_COLUMNS columns, whatever its sheet claims (a 2 KB file claiming A1:XFD1048576 would
otherwise have every empty row and column of it made) — and a malformed one (truncated XML, a
bad number or date cell, a shared string that does not exist) is refused as unreadable. A row that cannot be decoded is kept, marked `bad_encoding`,
so the dry run can report it by its number instead of failing the whole file.
"""
import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
import zlib
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from marketplace.errors import DomainError

MAX_ROWS = 50_000
MAX_SHEET_ROWS = MAX_ROWS + 10_000  # blank rows between records are skipped, not counted
MAX_COLUMNS = 100
# What openpyxl raises, while reading cell by cell, for a workbook that is not well formed.
MALFORMED_WORKBOOK = (BadZipFile, InvalidFileException, KeyError, IndexError, ValueError, TypeError, OSError,
                      EOFError, SyntaxError, zlib.error, OverflowError)
REPLACEMENT_CHARACTER = "\ufffd"


class FileRefused(DomainError):
    """The file as a whole cannot be read (wrong type, no header, missing columns, too long)."""

    code = "file_refused"

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.detail = detail


def refuse_unknown_kind(filename, data):
    """What can be refused without reading the file: not an .xlsx or .csv, or empty."""
    if not (filename or "").lower().endswith((".xlsx", ".csv")):
        raise FileRefused("Upload an .xlsx or .csv file.")
    if not data:
        raise FileRefused("The file is empty.")


@dataclass
class SheetRow:
    number: int
    values: dict = field(default_factory=dict)
    bad_encoding: bool = False


def read_rows(filename, data, columns, required):
    """Rows of the first sheet as `SheetRow`s whose values are stripped text keyed by field.

    `columns` maps a field to the header names accepted for it; `required` lists the fields
    whose column must be present.
    """
    refuse_unknown_kind(filename, data)
    table = _xlsx_table(data) if filename.lower().endswith(".xlsx") else _csv_table(data)
    header_number, header = next(table, (None, None))
    if header is None:
        raise FileRefused("The file is empty.")
    positions = _column_positions(header, columns)
    missing = [columns[name][0] for name in required if name not in positions]
    if missing:
        raise FileRefused("The file lacks a required column:", "、".join(missing))
    rows = []
    for number, cells in table:
        if cells is None:
            rows.append(SheetRow(number, bad_encoding=True))
            continue
        values = {name: _text(cells[index]) if index < len(cells) else "" for name, index in positions.items()}
        if not any(values.values()):
            continue
        row = SheetRow(number, values, any(REPLACEMENT_CHARACTER in value for value in values.values()))
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise FileRefused("The file has too many rows; split it. Rows at most:", str(MAX_ROWS))
    return rows


def _normal(header):
    return "".join(str(header or "").split()).lower().replace("（", "(").replace("）", ")")


def _column_positions(header, columns):
    wanted = {_normal(alias): name for name, aliases in columns.items() for alias in aliases}
    positions = {}
    for index, cell in enumerate(header):
        name = wanted.get(_normal(cell))
        if name and name not in positions:
            positions[name] = index
    return positions


def _text(value):
    """A cell as text: integers without '.0', dates as YYYY-MM-DD, floats as Excel shows them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_table(data):
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except MALFORMED_WORKBOOK as error:
        raise FileRefused("This is not a readable XLSX file.") from error
    try:
        sheet = workbook.worksheets[0]
        if (sheet.max_row or 0) > MAX_SHEET_ROWS:
            raise FileRefused("The file has too many rows; split it. Rows at most:", str(MAX_ROWS))
        rows = sheet.iter_rows(max_row=MAX_SHEET_ROWS, max_col=MAX_COLUMNS, values_only=True)
        for number, cells in enumerate(rows, start=1):
            yield number, list(cells)
    except MALFORMED_WORKBOOK as error:  # found only while the sheet's XML is read, row by row
        raise FileRefused("This is not a readable XLSX file.") from error
    finally:
        workbook.close()


def _csv_table(data):
    """CSV lines decoded one by one: UTF-8 (with or without BOM), or GB18030 if the header is."""
    lines = data.split(b"\n")
    if lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    encoding = "utf-8"
    try:
        lines[0].decode("utf-8")
    except UnicodeDecodeError:
        encoding = "gb18030"
    for number, raw in enumerate(lines, start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError:
            yield number, None
            continue
        yield number, next(csv.reader([line]), [])
