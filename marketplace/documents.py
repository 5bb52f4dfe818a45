"""Printable documents: PDF (WeasyPrint) and QR codes (qrcode); spreadsheets are marketplace.spreadsheets.

PDFs are rendered from Jinja templates; the CSS names Noto Sans CJK (Debian's fonts-noto-cjk) so
Chinese renders. Every area uses these helpers rather than its own.
"""
import logging
from io import BytesIO

import qrcode
import qrcode.image.svg
from flask import render_template


def render_pdf(template, **context):
    """Render a Jinja template (extending `documents/base.html`) to PDF bytes."""
    return html_to_pdf(render_template(template, **context))


# WeasyPrint and the font subsetter log every layout step at INFO/DEBUG: only their warnings matter.
for _name in ("weasyprint", "weasyprint.progress", "fontTools"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def html_to_pdf(html):
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def qr_svg(url):
    """An inline SVG QR code for `url` (no image files, no external service)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()
