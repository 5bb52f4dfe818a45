from flask import abort, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.ledger import town_impact
from marketplace.ledger.balances import love_fund_summary
from marketplace.money import format_fen
from marketplace.places.models import Town
from marketplace.web.storefront import bp
from marketplace.web.storefront.charts import horizontal_bars


def mechanism_names():
    return {"direct_sale": _("Direct sales"), "floor_purchase": _("Guaranteed floor purchase"),
            "profit_return": _("Profit return"), "dividend": _("Share dividends"),
            "fixed_return": _("Fixed-return investment"), "love_fund_aid": _("Love-fund aid")}


@bp.get("/towns/<slug>/impact")
def town_impact_page(slug):
    town = db.session.scalar(select(Town).where(Town.slug == slug))
    if town is None:
        abort(404)
    impact = town_impact(town.id)
    fund = love_fund_summary(town.id)
    db.session.commit()  # the fund's account may have been opened on first read
    names = mechanism_names()
    locale = "en" if str(get_locale()).startswith("en") else "zh_CN"
    rows = [(names[key], fen, format_fen(fen, locale)) for key, fen in impact.by_mechanism.items()]
    bars, height = horizontal_bars(rows)
    return render_template("storefront/impact.html", town=town, impact=impact, fund=fund, names=names,
                           bars=bars, chart_height=height)
