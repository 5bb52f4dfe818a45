"""What a batch looks like outside the portal: the bank's transfer file and the cash sheet.

Only an approved batch is exported, so the amounts in the file are the frozen ones. The bank
file carries the full account numbers the bank needs; each export is audited.
"""
from decimal import Decimal

from marketplace.audit.services import record
from marketplace.spreadsheets import csv_bytes, xlsx_bytes
from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.local_time import local_today
from marketplace.payouts.services import batch_in_town, batch_payees
from marketplace.places.models import Town
from marketplace.places.scope import staff_town_id
from marketplace.statements.services import render_chinese_pdf

# The columns of a bank's 代发 (batch transfer) import, in its own words; 用途/附言 is what the
# household reads on its bank statement, so it says what the money is, in Chinese.
BANK_HEADERS = ["序号", "收款人户名", "所在村", "收款人开户行", "收款人账号", "金额（元）", "用途/附言"]


def _exportable_batch(actor_id, batch_id, method, kind):
    town_id = staff_town_id(actor_id)
    batch = batch_in_town(batch_id, town_id)
    if batch.status not in ("approved", "closed"):
        raise Conflict("Only an approved batch can be exported.")
    if batch.method != method:
        raise Conflict("This batch is not paid that way.")
    record("payout_batch.export", actor_id, batch, town_id=town_id, format=kind)
    db.session.commit()
    return batch


def _rows(batch):
    """(number, item, payee) for every item that did not fail; payees loaded in two queries."""
    paid = [(item, payee) for item, payee in batch_payees(batch) if item.status != "failed"]
    return [(number, item, payee) for number, (item, payee) in enumerate(paid, start=1)]


def _payee_columns(item, payee):
    """Payee, where (village, or 'supplier'), bank: a household or a daily-goods supplier."""
    if item.household_id is not None:
        return payee.head_name, payee.village.name_zh, payee.bank_name, payee.bank_account or ""
    return payee.name_zh, "日用品供应商 Supplier", payee.bank_name, payee.bank_account or ""


CENTS = Decimal("0.01")


def yuan(amount_fen):
    return Decimal(amount_fen) / 100


def bank_memo(batch, item):
    """What the payee sees on its bank statement: who pays, for what, and the batch to ask about."""
    town = db.session.get(Town, batch.town_id).name_zh
    what = "助农收益" if item.household_id is not None else "日用品货款"
    return f"{town}{what} 第{batch.id}批{item.id}号"


def bank_file_names(batch, suffix):
    """(name in Chinese, ASCII fallback) of the bank file: named for the bank's 代发 import."""
    town = db.session.get(Town, batch.town_id)
    day = local_today()
    return (f"代发-{town.name_zh}-{day:%Y%m%d}-第{batch.id}批.{suffix}",
            f"daifa-{town.slug}-{day:%Y%m%d}-batch-{batch.id}.{suffix}")


def bank_rows(batch):
    return [[number, *_payee_columns(item, payee), yuan(item.amount_fen), bank_memo(batch, item)]
            for number, item, payee in _rows(batch)]


def bank_csv(actor_id, batch_id):
    """The bank file as CSV: amounts with two decimals, every text cell neutralised."""
    batch = _exportable_batch(actor_id, batch_id, "bank", "csv")
    rows = [[*row[:5], row[5].quantize(CENTS), *row[6:]] for row in bank_rows(batch)]
    return batch, csv_bytes(BANK_HEADERS, rows)


def bank_xlsx(actor_id, batch_id):
    batch = _exportable_batch(actor_id, batch_id, "bank", "xlsx")
    rows = bank_rows(batch)
    total = sum((row[5] for row in rows), Decimal(0))
    return batch, xlsx_bytes(f"代发第{batch.id}批", BANK_HEADERS, [*rows, ["", "合计", "", "", "", total, ""]])


def cash_sheet_pdf(actor_id, batch_id):
    """A printable sheet: one line per household or supplier with room for the payee's signature."""
    batch = _exportable_batch(actor_id, batch_id, "cash", "pdf")
    rows = _rows(batch)
    return batch, render_chinese_pdf("documents/payout_cash_sheet.html", batch=batch, rows=rows,
                             total_fen=sum(item.amount_fen for _, item, _ in rows))
