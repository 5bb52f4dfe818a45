"""The link in an invitation e-mail: the invitee chooses a password and is signed in."""
from flask import flash, redirect, render_template
from flask_babel import gettext as _
from flask_login import login_user

from marketplace.errors import DomainError
from marketplace.extensions import limiter
from marketplace.people import invitations
from marketplace.web.admin.forms import AcceptInvitationForm
from marketplace.web.auth.routes import home_for
from marketplace.web.invitations import bp


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def accept(token):
    try:
        invitation = invitations.open_invitation(token)
    except DomainError as error:
        return render_template("errors.html", status=error.status, message=error.message), error.status
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept_invitation(token, form.password.data)
        except DomainError as error:
            flash(error.message, "error")
            return render_template("invitations/accept.html", form=form, invitation=invitation), error.status
        login_user(user)
        flash(_("Welcome! Your account is ready."), "info")
        return redirect(home_for(user))
    return render_template("invitations/accept.html", form=form, invitation=invitation)
