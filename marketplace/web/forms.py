"""The base of every form of the app."""
import functools

from babel import support
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


class Form(FlaskForm):
    """A Flask-WTF form whose WTForms messages ("This field is required.") follow the page's language.

    Flask-WTF reads WTForms' catalogue from disk again for every request (≈1 ms); it never
    changes, so each process reads it once per language."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return wtforms_translations(str(get_locale()))


# WTForms' own Chinese says "Email" in Latin letters; ours says it in Chinese.
CHINESE_OVERRIDES = {"Invalid email address.": "电子邮箱地址无效。"}


class _Overridden:
    """WTForms' catalogue, with a few of its Chinese messages replaced by ours."""

    def __init__(self, translations, overrides):
        self.translations, self.overrides = translations, overrides

    def gettext(self, string):
        return self.overrides.get(string) or self.translations.gettext(string)

    def ngettext(self, singular, plural, n):
        return self.translations.ngettext(singular, plural, n)


@functools.cache
def wtforms_translations(locale):
    translations = support.Translations.load(messages_path(), [locale], domain="wtforms")
    return _Overridden(translations, CHINESE_OVERRIDES) if locale.startswith("zh") else translations
