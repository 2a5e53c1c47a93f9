"""Local accounts: /login, /logout, /register, email verification, password reset, /account."""
from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter, login_manager
from ..urls import safe_next
from . import bp
from .forms import ChangePasswordForm, LoginForm, NewPasswordForm, RegisterForm, ResetRequestForm
from .identities import IdentityError, can_unlink, identities_of, unlink
from .oauth import providers
from .service import (FormRefused, authenticate, change_password, confirm_email, register,
                      request_password_reset, resend_verification, reset_password, user_for_reset)

log = logging.getLogger(__name__)

login_manager.login_view = "accounts.login"
login_manager.login_message = "Please sign in to see this page."

REGISTERED = ("Thanks! We have sent a message to {email}. Follow the link in it to confirm your "
              "address. (If you already have an account, the message says so.)")
RESET_SENT = "If an account exists for {email}, we have sent it a link to choose a new password."


def _config(name: str):
    return lambda: current_app.config[name]


def _account_key(prefix: str):
    """Throttle per account: the address typed, known or not (the answer stays the same)."""
    return lambda: f"{prefix}:{(request.form.get('email') or '').strip().lower()[:254]}"


def start_session(user, remember: bool = False, keep: tuple[str, ...] = ()) -> None:
    """A fresh session at sign-in (no fixation), keeping only the named entries."""
    kept = {k: session[k] for k in keep if k in session}
    session.clear()
    session.update(kept)
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_config("LOGIN_LIMIT_PER_IP"), methods=["POST"], scope="login-ip")
@limiter.limit(_config("LOGIN_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_account_key("login"),
               scope="login-account", deduct_when=lambda response: response.status_code != 303)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            start_session(user, remember=form.remember.data, keep=("draft",))
            return redirect(safe_next(form.next.data), code=303)
        log.info("failed sign-in from %s", request.remote_addr)
        form.password.errors.append("The email address or password is incorrect.")
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form, providers=providers()), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(safe_next(request.form.get("next")), code=303)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_config("REGISTER_LIMIT_PER_IP"), methods=["POST"], scope="register-ip")
def register_view():
    form = RegisterForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            register(form.email.data or "", form.name.data or "", form.password.data or "")
        except FormRefused as refused:
            errors = refused.errors
        else:
            return render_template("accounts/message.html", title="Check your email",
                                   message=REGISTERED.format(email=form.email.data.strip()))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/register.html", form=form, errors=errors), status


@bp.get("/verify/<token>")
def verify(token: str):
    user = confirm_email(token)
    if user is None:
        return render_template("accounts/message.html", title="Link not valid",
                               message="This confirmation link is not valid: it was already used, it "
                                       "expired, or it was copied incompletely."), 410
    flash("Thanks, your email address is confirmed.")
    return redirect(url_for("accounts.account") if current_user.is_authenticated else url_for("accounts.login"), code=303)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_config("RESET_LIMIT_PER_IP"), methods=["POST"], scope="reset-ip")
@limiter.limit(_config("RESET_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_account_key("reset"),
               scope="reset-account")
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data or "")
        return render_template("accounts/message.html", title="Check your email",
                               message=RESET_SENT.format(email=(form.email.data or "").strip()))
    return render_template("accounts/reset_request.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    form = NewPasswordForm()
    errors: dict[str, str] = {}
    if user_for_reset(token) is None:
        return render_template("accounts/message.html", title="Link not valid",
                               message="This password reset link is not valid: it was already used, "
                                       "it expired, or it was copied incompletely. You can ask for a new one."), 410
    if form.validate_on_submit():
        try:
            reset_password(token, form.password.data or "")
        except FormRefused as refused:
            errors = refused.errors
        else:
            logout_user()
            session.clear()
            flash("Your password is changed. Please sign in with it.")
            return redirect(url_for("accounts.login"), code=303)
    return render_template("accounts/reset.html", form=form, errors=errors), 422 if request.method == "POST" else 200


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data or "", form.new_password.data or "")
        except FormRefused as refused:
            errors = refused.errors
        else:
            flash("Your password is changed.")
            return redirect(url_for("accounts.account"), code=303)
    linked = identities_of(current_user)
    return render_template(
        "accounts/account.html", form=form, errors=errors, identities=linked,
        unlinkable={i.id for i in linked if can_unlink(current_user, i)},
        providers=providers(),
    ), 422 if request.method == "POST" else 200


@bp.post("/account/verify")
@login_required
@limiter.limit(_config("RESET_LIMIT_PER_ACCOUNT"), key_func=lambda: f"verify:{current_user.id}", scope="verify")
def resend_verify():
    if resend_verification(current_user):
        flash(f"We have sent a new confirmation link to {current_user.email}.")
    return redirect(url_for("accounts.account"), code=303)


@bp.post("/account/identities/<int:identity_id>/unlink")
@login_required
def unlink_identity(identity_id: int):
    try:
        identity = unlink(current_user, identity_id)
    except IdentityError as exc:
        flash(str(exc))
        return redirect(url_for("accounts.account"), code=303)
    if session.get("identity_id") == identity.id:
        session.pop("identity_id")
    title = providers().get(identity.provider)
    flash(f"Your {title.title if title else identity.provider} account is unlinked.")
    return redirect(url_for("accounts.account"), code=303)


@login_manager.user_loader
def load_user(user_id: str):
    from ..extensions import db
    from ..models import User

    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


