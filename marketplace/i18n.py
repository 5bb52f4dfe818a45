"""Translations: Simplified Chinese first, English second.

Message ids are English; every area keeps its own catalog in a `translations` folder beside
its code (so areas never edit one shared file), and Flask-Babel merges them all.
`flask --app wsgi translations` extracts, updates and compiles every catalog.
"""
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import pass_eval_context
from markupsafe import Markup

PACKAGE_ROOT = Path(__file__).resolve().parent
LOCALES = ("zh_Hans_CN",)


def translation_directories():
    return sorted(str(path) for path in PACKAGE_ROOT.rglob("translations") if path.is_dir())


def catalog_files(locale="zh_Hans_CN"):
    return sorted(Path(d) / locale / "LC_MESSAGES" / "messages.po" for d in translation_directories()
                  if (Path(d) / locale / "LC_MESSAGES" / "messages.po").exists())


def merged_translations(locale="zh_Hans_CN"):
    """msgid -> msgstr over every catalog of `locale`."""
    merged = {}
    for po_path in catalog_files(locale):
        with po_path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and message.string:
                    merged[message.id] = message.string
    return merged


def compile_catalogs():
    """Write each messages.mo from its messages.po."""
    for locale in LOCALES:
        for po_path in catalog_files(locale):
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            with po_path.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, catalog)


def extracted_message_ids(project_root=PACKAGE_ROOT.parent):
    """Every message id the code and templates ask to translate."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    from marketplace.errors import domain_error_names

    method_map = [("marketplace/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # form labels are translated lazily
    # A domain error's first argument and a ledger sentence's are message ids, rendered at the edge.
    keywords.update({name: None for name in domain_error_names()}, Sentence=None)
    ids = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(str(project_root), method_map,
                                                                           keywords=keywords):
        for single in (message if isinstance(message, tuple) else (message,)):
            if single:
                ids.add(single)
    return ids


def untranslated(locale="zh_Hans_CN"):
    return sorted(extracted_message_ids() - set(merged_translations(locale)))


def template_gettext(translations):
    """The templates' `gettext` and `_` for one render, bound to the request's catalogue.

    Flask-Babel's own callable looks the catalogue up again for every string of a page (≈40 µs
    each, a millisecond a page), and Jinja's `_` calls it through a second call. This one behaves
    as Jinja's "newstyle" gettext (jinja2.ext): the message is escaped under autoescape and always
    %-formatted with the keywords."""

    @pass_eval_context
    def gettext(eval_context, message, **variables):
        text = translations.ugettext(message)
        return (Markup(text) if eval_context.autoescape else text) % variables

    return gettext
