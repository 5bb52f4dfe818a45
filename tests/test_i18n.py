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


def test_templates_translate_escape_and_format_as_jinja_newstyle_gettext(app):
    """Templates translate through the request's catalogue (marketplace.i18n.template_gettext)."""
    from flask import render_template_string

    template = '{{ _("Results for “%(q)s”", q=q) }}|{{ _("Cart") }}'
    with app.test_request_context("/?lang=zh_CN"):
        assert render_template_string(template, q="<b>梨") == "“&lt;b&gt;梨”的搜索结果|购物车"
    with app.test_request_context("/?lang=en"):
        assert render_template_string(template, q="<b>") == "Results for “&lt;b&gt;”|Cart"


def test_form_messages_follow_the_page_language(client):
    """WTForms' own messages come from its catalogue, read once per process and language."""
    assert "该字段是必填字段。" in client.post("/login", data={}).get_data(as_text=True)
    assert "This field is required." in client.post("/login?lang=en", data={}).get_data(as_text=True)
