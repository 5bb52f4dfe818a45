"""Printable and downloadable documents: PDF (WeasyPrint), XLSX (openpyxl), QR codes (qrcode).

PDFs are rendered from Jinja templates; the CSS names Noto Sans CJK (Debian's fonts-noto-cjk) so
Chinese renders. Every area uses these helpers rather than its own.
"""
from io import BytesIO

import qrcode
import qrcode.image.svg
from flask import render_template
from openpyxl import Workbook
from openpyxl.styles import Font


def render_pdf(template, **context):
    """Render a Jinja template (extending `documents/base.html`) to PDF bytes."""
    return html_to_pdf(render_template(template, **context))


def html_to_pdf(html):
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def xlsx_bytes(sheet_title, headers, rows):
    """One sheet with a bold header row; money columns should be passed as yuan numbers or text."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def qr_svg(url):
    """An inline SVG QR code for `url` (no image files, no external service)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()
