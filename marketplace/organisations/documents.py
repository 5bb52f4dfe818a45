"""Files organisations keep with their orders: acceptance records and issued e-invoices.

An upload is checked and re-written before it is kept, so no uploaded byte is served as sent:
a PDF (at most MAX_DOCUMENT_BYTES, at most MAX_PAGES pages) is parsed with pypdf and its pages
copied into a new file — scripts, open actions, embedded files and forms left behind; a photo of a
signed acceptance slip (JPEG, PNG, WebP) is re-encoded like a product photo. A file that is
neither is refused with a message, and nothing is saved.
"""
import hashlib
import re
from io import BytesIO

from flask_babel import lazy_gettext as _
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from marketplace.catalog.photos import BadPhoto, reencoded_photo
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.organisations.models import OrganisationDocument

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_PAGES = 50


class BadDocument(DomainError):
    code = "bad_document"


def rewritten_pdf(data):
    """The pages of the PDF in `data`, written afresh; BadDocument if it is not a readable PDF."""
    if not data:
        raise BadDocument(_("Choose the PDF file to upload."), field="document")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise BadDocument(_("The file is larger than 5 MB."), field="document")
    if not data.lstrip()[:5] == b"%PDF-":
        raise BadDocument(_("Only a PDF file is accepted."), field="document")
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted:
            raise BadDocument(_("The PDF is password-protected; upload it without a password."), field="document")
        if not 1 <= len(reader.pages) <= MAX_PAGES:
            raise BadDocument(_("The PDF must have from 1 to 50 pages."), field="document")
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        out = BytesIO()
        writer.write(out)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise BadDocument(_("This PDF cannot be read; export it again and upload that."), field="document") from error
    return out.getvalue()


def _filename(name, extension):
    stem = re.sub(r"[^\w.-]", "_", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[:80].rsplit(".", 1)[0]
    return f"{stem or 'document'}.{extension}"


def store_document(organisation_id, kind, filename, data, uploaded_by_id, photos_allowed=False):
    """Check and re-write an upload, add it to the session (the caller commits) and return it."""
    if photos_allowed and data and not data.lstrip()[:5] == b"%PDF-":
        try:
            body, _thumbnail = reencoded_photo(data)
        except BadPhoto as error:
            raise BadDocument(_("Upload a PDF or a photo (JPEG, PNG) of the signed acceptance."),
                              field="document") from error
        content_type, extension = "image/jpeg", "jpg"
    else:
        body, content_type, extension = rewritten_pdf(data), "application/pdf", "pdf"
    document = OrganisationDocument(organisation_id=organisation_id, kind=kind, content_type=content_type,
                                    filename=_filename(filename, extension), size=len(body),
                                    sha256=hashlib.sha256(body).hexdigest(), data=body, uploaded_by_id=uploaded_by_id)
    db.session.add(document)
    db.session.flush()
    return document
