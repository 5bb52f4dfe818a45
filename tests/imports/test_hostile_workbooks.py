"""Workbooks built to break the reader: malformed XML or cells, and a tiny file claiming the whole
sheet. The request only stores the file (the worker reads it), and the dry run fails each as a
whole, quickly, writing nothing — never a 500 or a held worker."""
import re
import time
import zipfile
from io import BytesIO

from openpyxl import Workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.imports.models import ImportJob
from tests.admin.conftest import district  # noqa: F401
from tests.imports.conftest import HEADERS, check_in_worker
from tests.imports.test_household_import import job_of, upload

SHEET = "xl/worksheets/sheet1.xml"


def workbook_with(rewrite):
    """A good registry workbook whose first sheet's XML is passed through `rewrite`."""
    workbook = Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append(["岭子镇", "李里村", "王五", 3, "370303000000000001", "", ""])
    buffer = BytesIO()
    workbook.save(buffer)
    source, out = zipfile.ZipFile(BytesIO(buffer.getvalue())), BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == SHEET:
                content = rewrite(content.decode()).encode()
            target.writestr(item, content)
    return out.getvalue()


def replace_cell(reference, cell):
    return lambda xml: re.sub(rf'<c r="{reference}"[^>]*>.*?</c>', cell, xml, count=1)


HOSTILE = {
    "truncated sheet XML": lambda xml: xml[: len(xml) // 2],
    "a bad number cell": replace_cell("D2", '<c r="D2" t="n"><v>three</v></c>'),
    "a bad date cell": replace_cell("D2", '<c r="D2" t="d"><v>not-a-date</v></c>'),
    "a shared string that does not exist": replace_cell("C2", '<c r="C2" t="s"><v>99999</v></c>'),
    "the whole sheet claimed": lambda xml: re.sub(r'<dimension ref="[^"]*" ?/>', '<dimension ref="A1:XFD1048576"/>', xml)
    .replace("</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'),
}


def test_malformed_and_oversized_workbooks_are_refused_whole_and_quickly(app, client, auth, district):
    auth.login_as("admin@demo.cn")
    for what, rewrite in HOSTILE.items():
        started = time.monotonic()
        response = upload(client, workbook_with(rewrite))
        assert response.status_code == 303, what  # stored for the worker: the request reads nothing
        assert time.monotonic() - started < 5, what
        started = time.monotonic()
        check_in_worker(app, job_of(response))
        assert time.monotonic() - started < 5, what
    with client.application.app_context():
        jobs = db.session.scalars(select(ImportJob)).all()
        assert len(jobs) == len(HOSTILE) and {job.status for job in jobs} == {"failed"}
        assert not any(job.report for job in jobs)
