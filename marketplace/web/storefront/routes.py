from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, send_from_directory, session, url_for

from marketplace.catalog import services as catalog
from marketplace.web.page_cache import cached_page
from marketplace.web.storefront import bp


@bp.get("/")
@cached_page
def index():
    products = catalog.featured_products()
    return render_template("storefront/index.html", products=products, lowest_price_fen=catalog.lowest_price_fen)


@bp.get("/lang/<code>")
def set_language(code):
    if code in ("zh_CN", "en"):
        session["lang"] = code
    target = request.referrer or url_for("storefront.index")
    # Only ever go back to a page of this site.
    if urlsplit(target).netloc not in ("", request.host):
        target = url_for("storefront.index")
    return redirect(target)


@bp.get("/media/<path:filename>")
def media(filename):
    """Uploaded and generated pictures, served from UPLOAD_DIR (re-encoded JPEGs only)."""
    return send_from_directory(current_app.config["UPLOAD_DIR"], filename, max_age=3600)
