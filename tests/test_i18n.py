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
