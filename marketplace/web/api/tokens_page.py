"""The account page where a signed-in person makes and revokes their API tokens.

A new token is shown once, on the page the form redirects to (so a reload neither shows it again
nor makes another), and never again: only its hash is kept. The page is not cached.
"""
from flask import flash, make_response, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.api import tokens
from marketplace.errors import DomainError
from marketplace.web.api import account_bp
from marketplace.web.api.forms import NewTokenForm, RevokeTokenForm


def _page(form, new_token=None, status=200):
    response = make_response(render_template(
        "api/tokens.html", form=form, revoke_form=RevokeTokenForm(formdata=None), new_token=new_token,
        tokens=tokens.user_tokens(current_user.id)), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@account_bp.get("/account/api-tokens")
@login_required
def api_tokens():
    return _page(NewTokenForm(formdata=None), new_token=session.pop("new_api_token", None))


@account_bp.post("/account/api-tokens")
@login_required
def create_api_token():
    form = NewTokenForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        _token, plaintext = tokens.create_token(current_user.id, form.name.data)
    except DomainError as error:
        flash(error.message, "error")
        return _page(form, status=error.status)
    session["new_api_token"] = plaintext
    return redirect(url_for("api_tokens.api_tokens")), 303


@account_bp.post("/account/api-tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id):
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("api_tokens.api_tokens")), 303
    tokens.revoke_token(current_user.id, token_id)
    flash(_("The token is revoked; programs using it can no longer sign in."), "info")
    return redirect(url_for("api_tokens.api_tokens")), 303
