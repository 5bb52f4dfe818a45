"""Form fields shared by every area."""
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField

# The largest value an INTEGER column holds (PostgreSQL int4): beyond it a number is no id,
# quantity or stock, and bigger still it breaks validators that compare through floats.
LARGEST_WHOLE_NUMBER = 2_147_483_647


class WholeNumberField(IntegerField):
    """An IntegerField that refuses numbers too large for any column, with a plain message."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and abs(self.data) > LARGEST_WHOLE_NUMBER:
            self.data = None
            raise ValueError(_l("Enter a smaller number."))
