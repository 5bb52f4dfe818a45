"""The two-way-flow marketplace (双向流通): the Flask application factory."""
from flask import Flask, has_request_context, request, session
from flask_babel import get_locale, get_translations, lazy_gettext
from jinja2 import pass_context

from marketplace import config, crypto, database
from marketplace.celery_setup import celery_init_app
from marketplace.config import PROJECT_ROOT
from marketplace.i18n import template_gettext, translation_directories
from marketplace.extensions import babel, csrf, db, limiter, login_manager, migrate
from marketplace.money import format_fen, format_percent
from marketplace.web import dropped_connections, page_cache
from marketplace.web.security.fields import WholeNumberConverter


def create_app(config_overrides=None):
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(config.load_settings())
    if config_overrides:
        app.config.update(config_overrides)
    config.check_production_settings(app.config)
    app.url_map.converters["int"] = WholeNumberConverter  # before any route is added

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    dropped_connections.init_app(app)
    register_template_helpers(app)
    register_input_guards(app)
    register_security_headers(app)
    register_commands(app)
    return app


def select_locale():
    if not has_request_context():
        return "zh_CN"  # tasks and services outside a request speak the default language
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in ("en", "zh_CN"):
        return chosen
    return "zh_CN"


def register_extensions(app):
    from marketplace import models  # noqa: F401  (the whole schema, for Alembic)
    from marketplace.people.auth import load_user

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "marketplace" / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to open this page.")
    login_manager.needs_refresh_message = lazy_gettext("Please sign in again to open this page.")
    login_manager.localize_callback = str  # rendered in the request's language when flashed
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=";".join(translation_directories()))
    limiter.init_app(app)
    from marketplace.web.request_costs import (
        LeanCookieSessionInterface, remember_sync_checks, skip_hooks_for_plain_reads,
    )

    skip_hooks_for_plain_reads(app)
    remember_sync_checks(app)
    app.session_interface = LeanCookieSessionInterface()
    crypto.init_app(app)
    page_cache.init_app(app)
    celery_init_app(app)


def register_blueprints(app):
    from marketplace.web.admin import bp as admin
    from marketplace.web.api import account_bp as api_tokens
    from marketplace.web.api import bp as api
    from marketplace.web.auth import bp as auth
    from marketplace.web.coop import bp as coop
    from marketplace.web import elder_mode
    from marketplace.web.downlink import bp as downlink
    from marketplace.web.health import bp as health
    from marketplace.web.invitations import bp as invitations
    from marketplace.web.org import bp as org
    from marketplace.web.storefront import bp as storefront
    from marketplace.web.supplier import bp as supplier
    from marketplace.web.town import bp as town
    from marketplace.web.webhooks import bp as webhooks

    csrf.exempt(api)  # bearer tokens only, never the session cookie: see marketplace/web/api
    for blueprint in (storefront, auth, health, webhooks, coop, town, downlink, supplier, admin, invitations,
                      org, api, api_tokens):
        app.register_blueprint(blueprint)
    elder_mode.init_app(app)


def register_errorhandlers(app):
    from flask import render_template

    from marketplace.errors import DomainError
    from marketplace.web.api.problems import http_problem, is_api_request

    def render_error(error):
        if is_api_request(request):
            return http_problem(error)
        status = getattr(error, "code", 500)
        status = status if isinstance(status, int) else 500
        # A request that failed in the database (a dropped connection) left its transaction
        # unusable; the error page reads the cart badge, so start it a fresh one.
        db.session.rollback()
        return render_template("errors.html", status=status), status

    for status in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(status, render_error)

    @app.errorhandler(DomainError)
    def domain_error(error):
        return render_template("errors.html", status=error.status, message=error.message), error.status


def register_template_helpers(app):
    from marketplace.audit.sentences import ACTIONS as AUDIT_ACTIONS
    from marketplace.audit.sentences import describe as describe_audit_row
    from marketplace.catalog.units import unit_name
    from marketplace.local_time import format_local
    from marketplace.web.links import template_url_for
    from marketplace.web.storefront.cards import product_cards

    app.jinja_env.globals["url_for"] = template_url_for
    app.jinja_env.globals["product_cards"] = product_cards
    app.jinja_env.globals["describe"] = describe_audit_row
    app.jinja_env.globals["unit_name"] = unit_name
    app.jinja_env.globals["audit_actions"] = AUDIT_ACTIONS

    @app.template_filter("fen")
    @pass_context
    def fen_filter(context, amount_fen):
        english = context.get("is_english")
        if english is None:  # a macro imported without the page's context
            english = str(get_locale()).startswith("en")
        return format_fen(amount_fen, "en" if english else "zh_CN")

    app.add_template_filter(format_percent, "percent")
    # One clock: every stored (UTC) moment is shown in the district's time (DISPLAY_TIMEZONE).
    app.add_template_filter(format_local, "china_time")

    @app.template_filter("unit")
    def unit_filter(unit):
        return unit_name(unit, get_locale() or "zh")

    @app.context_processor
    def inject_locale():
        from marketplace.web.auth.routes import workspace_url

        locale = str(get_locale())
        gettext = template_gettext(get_translations())
        return {"locale": locale, "is_english": locale.startswith("en"), "workspace_url": workspace_url,
                "gettext": gettext, "_": gettext}


def register_input_guards(app):
    @app.before_request
    def refuse_nul_bytes():
        # No text column takes a NUL character (PostgreSQL refuses it with an error): a 400 instead,
        # whether it comes in the path (/products/%00), the query, a form or a JSON body.
        from flask import abort

        environ = request.environ
        if request.method in ("GET", "HEAD") and "\x00" not in environ.get("PATH_INFO", "") \
                and "%00" not in environ.get("QUERY_STRING", "") and "\x00" not in environ.get("QUERY_STRING", ""):
            return  # a plain read with no NUL in its path or query (a NUL in a query arrives as %00)
        values = [request.path, *request.args.values()] + (list(request.form.values()) if request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data") else [])
        if any("\x00" in value for value in values) or (request.is_json and _holds_nul(request.get_json(silent=True))):
            abort(400)


def _holds_nul(value):
    """Whether a JSON document has a NUL character in any string, key or value, at any depth."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def register_security_headers(app):
    from marketplace.web.request_costs import security_headers

    # No inline script anywhere: the CSP forbids it, and assets come only from this origin.
    headers = security_headers(app.config["SESSION_COOKIE_SECURE"])

    @app.after_request
    def add_security_headers(response):
        present = response.headers
        if "Content-Security-Policy" in present:  # a page with its own (payment): keep what it set
            for name, value in headers:
                present.setdefault(name, value)
        else:
            present.extend(headers)
        return response


def register_commands(app):
    from marketplace.commands import register

    register(app)
