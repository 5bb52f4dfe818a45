"""Requests whose database connection is dropped under them (a PostgreSQL restart or failover, a
terminated backend, a network cut).

A GET or HEAD that had committed nothing when its connection was lost is run again, once, on a
fresh connection from the pool: the person sees their page, the log says it was retried. Any
other request is not replayed (it may have been half way through a payment or a stock change,
all of it rolled back with the connection) and gets a plain "nothing was saved, try again" page,
503 with Retry-After — or the API's problem document; Stripe retries a webhook answered so.
"""
import functools
import logging

from flask import g, has_app_context, render_template, request
from flask_babel import lazy_gettext as _
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from marketplace.extensions import db

log = logging.getLogger(__name__)
READING_METHODS = ("GET", "HEAD")
TRY_AGAIN = _("The connection to our database was lost, and nothing was saved. Please try again in a moment.")


def init_app(app):
    """Wrap every view of `app` (call after the blueprints are registered) and answer the rest."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = _retried_once_when_reading(view)
    app.register_error_handler(DBAPIError, _try_again)


def connection_lost(error):
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def _retried_once_when_reading(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method not in READING_METHODS:
            return view(*args, **kwargs)
        g.committed_before_retry = False
        try:
            return view(*args, **kwargs)
        except DBAPIError as error:
            if not connection_lost(error) or g.committed_before_retry:
                raise
            log.warning("%s %s: the database connection was lost; running it again on a fresh one",
                        request.method, request.path)
            db.session.rollback()
            return view(*args, **kwargs)

    return wrapper


@event.listens_for(db.session, "after_commit")
def _note_commit(_session):
    if has_app_context() and "committed_before_retry" in g:
        g.committed_before_retry = True


def _try_again(error):
    if not connection_lost(error):
        raise error
    from marketplace.web.api.problems import is_api_request, problem

    log.warning("%s %s: the database connection was lost; answered 503", request.method, request.path)
    db.session.rollback()
    if is_api_request(request):
        return problem(503, "database_unavailable", TRY_AGAIN, headers={"Retry-After": "1"})
    return render_template("errors.html", status=503, message=TRY_AGAIN), 503, {"Retry-After": "1"}
