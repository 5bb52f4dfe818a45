from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from marketplace.i18n import catalog_files, untranslated


def test_every_message_has_a_chinese_translation():
    assert untranslated() == [], "add these to the area's translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def test_compiled_catalogs_match_their_sources():
    for po_path in catalog_files():
        with po_path.open("rb") as source, po_path.with_suffix(".mo").open("rb") as compiled:
            expected = {m.id: m.string for m in read_po(source) if m.id and m.string}
            actual = {m.id: m.string for m in read_mo(compiled) if m.id and m.string}
        assert actual == expected, f"run `make translations` to recompile {po_path}"


def test_one_english_message_has_one_chinese_translation_in_every_catalog():
    """Flask-Babel merges the areas' catalogs, so a message translated two ways shows whichever loads last."""
    translations = {}
    for po_path in catalog_files():
        with po_path.open("rb") as source:
            for message in read_po(source):
                if message.id and message.string:
                    translations.setdefault(message.id, set()).add(message.string)
    clashes = {msgid: strings for msgid, strings in translations.items() if len(strings) > 1}
    assert clashes == {}, "give the same translation, or a distinct English message where the meaning differs"
