from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from marketplace.web.forms import Form


class NewTokenForm(Form):
    name = StringField(_l("Name (e.g. the app that uses it)"), validators=[DataRequired(), Length(max=60)])


class RevokeTokenForm(Form):
    """Only the CSRF token: the token to revoke is in the URL."""
