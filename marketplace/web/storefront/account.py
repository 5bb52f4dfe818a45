from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from marketplace.errors import DomainError
from marketplace.extensions import limiter
from marketplace.people import registration
from marketplace.web.access import safe_next
from marketplace.web.links import public_url
from marketplace.web.storefront import bp
from marketplace.web.storefront.forms import ForgotPasswordForm, ResetPasswordForm, SignUpForm


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("storefront.orders"))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = registration.sign_up(form.email.data, form.name.data, form.password.data)
        except DomainError as error:
            flash(error.message, "error")
            return render_template("storefront/signup.html", form=form), error.status
        login_user(user)
        flash(_("Welcome! Your account is ready."), "info")
        return redirect(safe_next(request.args.get("next"), url_for("storefront.index")))
    return render_template("storefront/signup.html", form=form), 400 if form.errors else 200


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        registration.request_password_reset(
            form.email.data, lambda token: public_url("storefront.reset_password", token=token))
        flash(_("If an account has this e-mail, a link to reset the password is on its way."), "info")
        return redirect(url_for("auth.login")), 303
    return render_template("storefront/forgot.html", form=form), 400 if form.errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    registration.user_for_reset_token(token)  # a bad, used or expired link says so at once
    form = ResetPasswordForm()
    if form.validate_on_submit():
        registration.reset_password(token, form.password.data)
        flash(_("Your password is changed. Sign in with the new one."), "info")
        return redirect(url_for("auth.login")), 303
    return render_template("storefront/reset.html", form=form), 400 if form.errors else 200
