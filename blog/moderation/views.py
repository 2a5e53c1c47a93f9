"""Moderation routes: parse, one service call, respond. Every change is a POST (CSRF by CSRFProtect)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..comments.service import CommentRefused
from ..extensions import db
from ..mail import failed_mail, masked
from ..models import BlockKind, Comment, Post, Status
from ..permissions import can_block, can_edit_own, can_moderate, can_use_desk
from ..reading.views import int_arg
from ..urls import safe_next
from . import service
from .forms import OwnEditForm, QuickEditForm, ReplyForm, SettingsForm, settings_values
from .own import owned_ids
from .settings import FIELDS, SITE_ONLY, discussion_for, values_for
from .spam import form_stamp

bp = Blueprint("moderation", __name__)

STATUS_VIEWS = ("pending", "approved", "spam", "trash")
ACTION_DONE = {"approve": "Comment approved.", "unapprove": "Comment unapproved.", "spam": "Comment marked as spam.",
               "unspam": "Comment restored from spam.", "trash": "Comment moved to the trash.",
               "restore": "Comment restored from the trash.", "delete": "Comment deleted permanently."}


@bp.app_template_global()
def comment_form_stamp() -> str:
    return form_stamp()


@bp.app_errorhandler(service.NotAllowed)
def not_allowed(_error):
    return render_template("errors/error.html", status=403, message="You are not allowed to do that."), 403


def _desk_user():
    """:raise 403: signed in but moderates nothing (sign-in redirect comes from login_required)."""
    if not can_use_desk(current_user):
        abort(403)
    return current_user._get_current_object()


def _comment(comment_id: int) -> Comment:
    """:raise 404: no such comment; 403: not the current user's to moderate."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    if not can_moderate(current_user, comment.post):
        abort(403)
    return comment


def _back(anchor: str | None = None):
    target = safe_next(request.form.get("next"), url_for("moderation.desk"))
    return redirect(target + (f"#{anchor}" if anchor else ""), code=303)


@bp.get("/moderation/")
@login_required
def desk():
    actor = _desk_user()
    status = request.args.get("status")
    status = status if status in STATUS_VIEWS else None
    post_id = int_arg("post")
    search = (request.args.get("s") or "").strip()[:200]
    page = service.desk_page(actor, status, post_id, search, int_arg("paged", 1))
    return render_template("moderation/desk.html", page=page, status=status, post_id=post_id, search=search,
                           posts=service.posts_for(actor), actions=service.BULK_ACTIONS,
                           can_block=can_block(actor), failed_mail=failed_mail(), masked=masked)


@bp.post("/moderation/comments/<int:comment_id>/<any(approve, unapprove, spam, unspam, trash, restore):action>")
@login_required
def act(comment_id: int, action: str):
    _desk_user()
    comment = _comment(comment_id)
    service.set_status(comment, action, current_user._get_current_object())
    flash(ACTION_DONE[action])
    return _back(f"comment-row-{comment_id}")


@bp.post("/moderation/comments/<int:comment_id>/delete")
@login_required
def delete(comment_id: int):
    _desk_user()
    if db.session.get(Comment, comment_id) is None:
        flash("That comment was already deleted.")  # a repeated POST changes nothing
        return _back()
    service.delete_permanently(_comment(comment_id), current_user._get_current_object())
    flash(ACTION_DONE["delete"])
    return _back()


@bp.post("/moderation/bulk")
@login_required
def bulk():
    actor = _desk_user()
    action = request.form.get("action", "")
    ids = [int(i) for i in request.form.getlist("comment_ids") if i.isdigit() and len(i) < 18]
    if action not in service.BULK_ACTIONS:
        flash("Choose an action for the selected comments.")
        return _back()
    if not ids:
        flash("Select at least one comment.")
        return _back()
    n = service.bulk(ids, action, actor)
    flash(f"{n} comment{'s' if n != 1 else ''} changed.")
    return _back()


@bp.route("/moderation/comments/<int:comment_id>/reply", methods=["GET", "POST"])
@login_required
def reply(comment_id: int):
    _desk_user()
    comment = _comment(comment_id)
    form = ReplyForm()
    errors, message, status = {}, None, 200
    if request.method == "POST":
        was_pending = comment.status == Status.PENDING
        try:
            service.reply_as_author(comment, current_user._get_current_object(), form.comment.data or "",
                                    ip=request.remote_addr, user_agent=request.user_agent.string)
        except CommentRefused as refused:
            errors, message, status = refused.errors, refused.message, refused.status
        else:
            flash("Reply published." + (" The comment you replied to is approved too." if was_pending else ""))
            return _back(f"comment-row-{comment_id}")
    return render_template("moderation/reply.html", comment=comment, form=form, errors=errors,
                           message=message, next=safe_next(request.values.get("next"), url_for("moderation.desk"))), status


@bp.route("/moderation/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def quick_edit(comment_id: int):
    _desk_user()
    comment = _comment(comment_id)
    form = QuickEditForm(obj=None) if request.method == "POST" else QuickEditForm(
        formdata=None, data={"author": comment.author_name, "email": comment.author_email,
                             "url": comment.author_url, "comment": comment.body_raw})
    errors, message, status = {}, None, 200
    if request.method == "POST":
        try:
            service.edit(comment, current_user._get_current_object(), request.form)
        except service.Invalid as invalid:
            errors, message, status = invalid.errors, str(invalid), invalid.status
        else:
            flash("Comment updated.")
            return _back(f"comment-row-{comment_id}")
    return render_template("moderation/edit.html", comment=comment, form=form, errors=errors, message=message,
                           next=safe_next(request.values.get("next"), url_for("moderation.desk"))), status


@bp.post("/moderation/comments/<int:comment_id>/block")
@login_required
def block(comment_id: int):
    _desk_user()
    comment = _comment(comment_id)
    kind = request.form.get("kind", "")
    if kind not in set(BlockKind):
        abort(400)
    try:
        service.block(comment, kind, current_user._get_current_object())
    except service.Invalid as invalid:
        flash(str(invalid))
    else:
        flash(f"Blocked this commenter’s {kind}: their next comments go to spam.")
    return _back(f"comment-row-{comment_id}")


@bp.get("/moderation/blocks")
@login_required
def blocks():
    actor = _desk_user()
    return render_template("moderation/blocks.html", blocks=service.blocks_for(actor))


@bp.post("/moderation/blocks/<int:block_id>/delete")
@login_required
def unblock(block_id: int):
    _desk_user()
    service.unblock(block_id, current_user._get_current_object())
    flash("Unblocked.")
    return redirect(url_for("moderation.blocks"), code=303)


@bp.route("/moderation/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Site-wide settings (admins), or with ?post=<id> that post's overrides (its moderators).
    The "Try it" button runs a dry run over recent comments and saves nothing."""
    actor = _desk_user()
    post = None
    if request.args.get("post"):
        post = db.session.get(Post, int_arg("post", 0))
        if post is None:
            abort(404)
        if not can_moderate(actor, post):
            abort(403)
    elif actor.role != "admin":
        abort(403)
    current = values_for(post)
    form = SettingsForm() if request.method == "POST" else SettingsForm(formdata=None, data=current)
    dry, status = None, 200
    if request.method == "POST":
        if not form.validate():
            status = 422
        elif request.form.get("do") == "dry_run":
            dry = service.dry_run(settings_values(form), actor, post, form.dry_run_limit.data or 50)
        else:
            service.save_settings(settings_values(form), actor, post)
            flash("Settings saved.")
            return redirect(url_for("moderation.settings", post=post.id if post else None), code=303)
    fields = [name for name in FIELDS if post is None or name not in SITE_ONLY]
    return render_template("moderation/settings.html", form=form, fields=fields, post=post, dry=dry), status


# --- links from the moderation mail: GET shows, only POST acts ----------------------------------

@bp.route("/moderation/mail/<token>", methods=["GET", "POST"])
def mail_action(token: str):
    try:
        link = service.use_link(token) if request.method == "POST" else service.check_link(token)
    except service.Invalid as invalid:
        return render_template("moderation/mail_action.html", error=str(invalid), link=None), invalid.status
    return render_template("moderation/mail_action.html", link=link, done=request.method == "POST",
                           token=token, error=None)


# --- the commenter's own comment -----------------------------------------------------------------

def _own(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    return comment


def _owner():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit_own(comment_id: int):
    comment = _own(comment_id)
    form = OwnEditForm() if request.method == "POST" else OwnEditForm(formdata=None,
                                                                      data={"comment": comment.body_raw})
    errors, message, status = {}, None, 200
    if request.method == "POST":
        try:
            service.edit_own(comment, _owner(), owned_ids(), form.comment.data or "")
        except service.Invalid as invalid:
            errors, message, status = invalid.errors, str(invalid), invalid.status
        else:
            flash("Your comment was updated." if comment.status == Status.APPROVED
                  else "Your comment was updated and is awaiting moderation.")
            return redirect(url_for("reading.post", slug=comment.post.slug, _anchor=f"comment-{comment.id}"), code=303)
    elif not _may_edit(comment):
        abort(403)
    return render_template("moderation/edit_own.html", comment=comment, form=form, errors=errors,
                           message=message), status


@bp.post("/comments/<int:comment_id>/delete")
def delete_own(comment_id: int):
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        flash("That comment was already deleted.")
        return redirect(safe_next(request.form.get("next")), code=303)
    slug = comment.post.slug
    service.delete_own(comment, _owner(), owned_ids())
    flash("Your comment was deleted.")
    return redirect(url_for("reading.post", slug=slug, _anchor="comments"), code=303)



def _may_edit(comment: Comment) -> bool:
    return can_edit_own(_owner(), comment, datetime.now(timezone.utc), discussion_for(comment.post).edit_minutes,
                        owned_ids(), service.has_replies(comment))
