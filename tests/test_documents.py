from io import BytesIO

from flask import render_template_string
from openpyxl import load_workbook
from pypdf import PdfReader

from marketplace.documents import html_to_pdf, qr_svg
from marketplace.spreadsheets import xlsx_bytes


def test_a_pdf_renders_chinese_text_that_can_be_read_back(app):
    with app.test_request_context():
        html = render_template_string(
            '{% extends "documents/base.html" %}{% block body %}<h1>焦氏雪梨 5斤装</h1>{% endblock %}')
        pdf = html_to_pdf(html)
    assert "焦氏雪梨" in PdfReader(BytesIO(pdf)).pages[0].extract_text()


def test_xlsx_has_a_header_and_rows():
    sheet = load_workbook(BytesIO(xlsx_bytes("批次", ["户", "金额"], [["秀兰", 500.0]]))).active
    assert [c.value for c in sheet[1]] == ["户", "金额"]
    assert sheet["B2"].value == 500.0


def test_qr_codes_are_inline_svg():
    assert "<svg" in qr_svg("http://127.0.0.1:5000/products/jiao-snow-pears")
