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


@functools.cache
def wtforms_translations(locale):
    return support.Translations.load(messages_path(), [locale], domain="wtforms")
