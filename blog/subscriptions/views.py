from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import csrf, db, limiter
from ..reading.views import get_post, render_post
from . import bp
from .forms import SignupForm
from .service import (BLOG, LinkRefused, SubscriptionError, Target, confirm, describe, manage_url,
                      normalise_email, pending_targets, read_confirm_link, read_link, subscribe, unsubscribe)


@bp.errorhandler(LinkRefused)
def link_refused(refused: LinkRefused):
    return render_template("subscriptions/refused.html", message=refused.message), refused.status


@bp.after_request
def private(response):
    # Pages opened from signed links: keep them out of shared caches and search indexes (the
    # site-wide Referrer-Policy already keeps the token from other origins).
    if request.view_args and "token" in request.view_args:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.post("/<slug>/subscribe")
@limiter.limit(lambda: current_app.config["SUBSCRIBE_LIMIT_PER_IP"])
def signup(slug: str):
    post = get_post(slug)
    form = SignupForm()  # CSRF is checked before this view runs
    user = current_user if current_user.is_authenticated else None
    try:
        email = normalise_email(user.email if user is not None and user.email else form.email.data)
    except SubscriptionError as exc:
        g.signup = {"email": form.email.data or "", "error": str(exc)}
        return render_post(post, status=422)
    subscribe(email, [Target(BLOG)], user)
    db.session.commit()
    # The thanks shows beside the form (the same whatever the address's state: nothing to learn from it).
    return redirect(url_for("reading.post", slug=post.slug, subscribed=1, _anchor="subscribe"), code=303)


@bp.get("/subscriptions/confirm/<token>", endpoint="confirm")
def confirm_page(token: str):
    # Confirming takes a POST: a mail scanner fetching the link confirms nothing.
    subscriber = read_confirm_link(token)
    return render_template("subscriptions/confirm.html", subscriber=subscriber,
                           items=describe(pending_targets(subscriber)))


@bp.post("/subscriptions/confirm/<token>")
def confirm_address(token: str):
    subscriber = confirm(token)
    flash("Your subscription is confirmed. You can change it here at any time; every email has this link.")
    return redirect(manage_url(subscriber), code=303)


@bp.get("/subscriptions/manage/<token>")
def manage(token: str):
    subscriber, _ = read_link("manage", token)
    return render_template("subscriptions/manage.html", subscriber=subscriber,
                           items=describe(pending_targets(subscriber)))


@bp.post("/subscriptions/manage/<token>")
def manage_change(token: str):
    subscriber, _ = read_link("manage", token)
    chosen = request.form.get("subscription", "")
    if request.form.get("all"):
        unsubscribe(subscriber, None)
        flash("You are unsubscribed from everything. No more mail will be sent to this address.")
    elif chosen.isdigit() and len(chosen) < 19:
        unsubscribe(subscriber, [int(chosen)])
        flash("That subscription is turned off.")
    else:
        flash("Choose a subscription to turn off.")
    return redirect(url_for("subscriptions.manage", token=token), code=303)


@bp.get("/subscriptions/unsubscribe/<token>", endpoint="unsubscribe")
def unsubscribe_page(token: str):
    subscriber, _ = read_link("unsubscribe", token)
    return render_template("subscriptions/unsubscribe.html", subscriber=subscriber,
                           manage_url=manage_url(subscriber))


# RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" on the reader's behalf,
# with no session and so no CSRF token. The signed token in the URL is the authority (it names the
# address and the subscriptions), and the only thing it can do is turn mail off.
@bp.post("/subscriptions/unsubscribe/<token>")
@csrf.exempt
def unsubscribe_now(token: str):
    subscriber, data = read_link("unsubscribe", token)
    ids = data.get("i")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise LinkRefused(400, "This link is not valid. Please copy the whole link from the email.")
    unsubscribe(subscriber, ids)
    return render_template("subscriptions/unsubscribed.html", manage_url=manage_url(subscriber))
