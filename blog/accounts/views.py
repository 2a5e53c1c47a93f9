from __future__ import annotations

from flask import flash, redirect, render_template, request, session
from flask_login import login_user, logout_user

from ..extensions import login_manager
from ..ratelimits import limited
from ..urls import safe_next
from . import bp
from .forms import LoginForm
from .service import authenticate

login_manager.login_view = "accounts.login"
login_manager.login_message = "Please sign in to see this page."


@bp.route("/login", methods=["GET", "POST"])
@limited("LOGIN_LIMIT_PER_IP")
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session at sign-in: no fixation
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data), code=303)
        form.password.errors.append("The email address or password is incorrect.")
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(safe_next(request.form.get("next")), code=303)


@login_manager.user_loader
def load_user(user_id: str):
    from ..extensions import db
    from ..models import User

    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
