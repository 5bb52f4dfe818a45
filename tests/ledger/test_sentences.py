"""Every ledger entry reads as a plain sentence in the reader's language, one template per rule."""
from datetime import date
from decimal import Decimal

from flask_babel import force_locale

from marketplace.i18n import merged_translations
from marketplace.ledger.rules import names
from marketplace.ledger.sentences import (
    HOUSEHOLD_TEMPLATES, OTHER_RULES, Both, Day, Money, Quantity, Rate, Sentence, Unit,
)

PROFIT_RETURN = ("The %(quantity)s of %(product)s you delivered sold on %(day)s at %(price)s per %(unit)s, %(over)s "
                 "above the floor price; the cooperative returns %(rate)s of that to you: %(amount)s")


def example(day=date(2026, 12, 2)):
    return Sentence(PROFIT_RETURN, {"quantity": Quantity(2, "jin"), "product": Both("李里小杂粮", "Lili grains"),
                                    "day": Day(day), "price": Money(800), "unit": Unit("jin"), "over": Money(300),
                                    "rate": Rate(Decimal("0.3000")), "amount": Money(180)})


def test_a_profit_return_reads_as_the_household_would_say_it(app):
    with app.test_request_context(), force_locale("zh_CN"):
        assert str(example()) == "您交售的李里小杂粮 2 斤在12月2日售出，售价每斤 8.00 元，高出保底价 3.00 元，合作社按 30% 返还：1.80 元"
    with app.test_request_context(), force_locale("en"):
        assert str(example()) == ("The 2 jin of Lili grains you delivered sold on 2 Dec at ¥8.00 per jin, ¥3.00 above "
                                  "the floor price; the cooperative returns 30% of that to you: ¥1.80")


def test_units_are_the_products_own(app):
    with app.test_request_context(), force_locale("zh_CN"):
        assert str(Quantity(3, "bottle")) == "3 瓶" and str(Unit("box")) == "箱"
    with app.test_request_context(), force_locale("en"):
        assert str(Quantity(3, "bottle")) == "3 bottles" and str(Quantity(1, "box")) == "1 box"


def test_every_rule_has_one_template_and_every_template_is_translated():
    rules = {value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
    assert rules <= set(HOUSEHOLD_TEMPLATES) | set(OTHER_RULES)
    chinese = merged_translations()
    assert all(message in chinese for message in OTHER_RULES.values())
    assert PROFIT_RETURN in chinese
