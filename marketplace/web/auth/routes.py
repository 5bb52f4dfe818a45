from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.errors import DomainError
from marketplace.extensions import limiter
from marketplace.people import accounts
from marketplace.web.access import safe_next
from marketplace.web.auth import bp
from marketplace.web.auth.forms import ChangePasswordForm, LoginForm

HOME_BY_ROLE = {
    "coop_manager": "coop.dashboard", "town_staff": "town.dashboard", "supplier": "supplier.dashboard",
    "agent": "downlink.agent_home", "admin": "admin.dashboard",
}


def workspace_url(user=None):
    """The signed-in user's own area (cooperative portal, town portal…), if their role has one."""
    user = user or current_user
    endpoint = HOME_BY_ROLE.get(getattr(user, "role", None))
    if getattr(user, "role", None) == "buyer" and getattr(user, "is_authenticated", False):
        from marketplace.organisations.services import membership

        endpoint = "org.home" if membership(user.id) is not None else None
    if endpoint and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return None


def home_for(user):
    return workspace_url(user) or url_for("storefront.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except accounts.BadCredentials:
            flash(_("Wrong e-mail or password."), "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(safe_next(request.args.get("next"), home_for(user)))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    # Ends this session and every other one of this user: old cookies stop working.
    accounts.end_all_sessions(current_user.id)
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("storefront.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_password(current_user.id, form.current.data, form.password.data)
        except accounts.BadCredentials:
            form.current.errors.append(_("Wrong current password."))
            return render_template("auth/change_password.html", form=form), 401
        except DomainError as error:
            form.password.errors.append(error.message)
            return render_template("auth/change_password.html", form=form), error.status
        # Every other session of this user has ended; this one carries on under the new version.
        login_user(user)
        flash(_("Your password is changed. You are signed out everywhere else."), "info")
        return redirect(home_for(user)), 303
    return render_template("auth/change_password.html", form=form), 400 if form.errors else 200
