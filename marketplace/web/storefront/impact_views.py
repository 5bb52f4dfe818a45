from flask import abort, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.database import reads_only
from marketplace.extensions import db
from marketplace.ledger.figures import TOWN_PAGE_KEY, town_figures
from marketplace.money import format_fen
from marketplace.places.models import Town
from marketplace.web.page_cache import cached_page, depends_on
from marketplace.web.storefront import bp
from marketplace.web.storefront.charts import horizontal_bars


def mechanism_names():
    return {"direct_sale": _("Direct sales"), "floor_purchase": _("Guaranteed floor purchase"),
            "profit_return": _("Profit return"), "dividend": _("Share dividends"),
            "fixed_return": _("Fixed-return investment"), "love_fund_aid": _("Love-fund aid")}


@bp.get("/towns/<slug>/impact")
@cached_page
@reads_only
def town_impact_page(slug):
    """The town's figures as kept by `marketplace.ledger.figures`: two small queries, whatever the ledger's size."""
    town = db.session.scalar(select(Town).where(Town.slug == slug))
    if town is None:
        abort(404)
    impact = town_figures(town.id)
    depends_on([TOWN_PAGE_KEY.format(town.id)])
    names = mechanism_names()
    locale = "en" if str(get_locale()).startswith("en") else "zh_CN"
    rows = [(names[key], fen, format_fen(fen, locale)) for key, fen in impact.by_mechanism.items()]
    bars, height = horizontal_bars(rows)
    return render_template("storefront/impact.html", town=town, impact=impact, names=names,
                           bars=bars, chart_height=height)
