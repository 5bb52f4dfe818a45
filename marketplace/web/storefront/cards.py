"""The storefront's product card grid, each card's HTML made once per process.

A card shows only what its `Card` row holds (titles, village, labels, lowest price, thumbnail),
so the same row in the same language and under the same mount point always renders the same
HTML. The home page, the catalogue's first pages and the common searches show the same few
hundred cards all day; rendering one (two links, a price, three labels) cost more than reading it.
"""
import functools

from flask import render_template, request
from flask_babel import get_locale
from markupsafe import Markup


def product_cards(items):
    """The grid's HTML for these `Card`s, in the request's language."""
    locale, script_root = str(get_locale()), request.script_root
    return Markup("".join(_card_html(card, locale, script_root) for card in items))


@functools.lru_cache(maxsize=4096)
def _card_html(card, _locale, _script_root):
    # The language and mount point are those of the request rendering it: they key the memo.
    return render_template("storefront/_card.html", item=card)
