from __future__ import annotations

from flask import redirect, request, session, url_for
from flask_login import current_user

from ..accounts.templating import current_identity
from ..models import Status
from ..ratelimits import limited
from ..security import client_address
from ..moderation.settings import discussion_for
from ..moderation.spam import HONEYPOT_FIELD, STAMP_FIELD, form_age
from ..moderation.own import remember_own
from ..reading.thread import page_of
# The module, not its names: reading.views imports this package, so either may load first.
from ..reading import views as reading
from . import bp
from .forms import CommentForm
from .service import CommentRefused, Submission, submit_comment

HELD_REMEMBERED = 20  # a commenter's own held comments shown back to them


@bp.post("/<slug>/comments")
@limited("COMMENT_LIMIT_PER_IP")
def create(slug: str):
    post = reading.get_post_head(slug)  # a plain row: posting needs no Post object
    try:  # CSRF is checked before this view runs (CSRFProtect)
        comment = submit_comment(post, request.form, Submission(
            user=current_user if current_user.is_authenticated else None, identity=current_identity(),
            ip=client_address(), user_agent=request.user_agent.string,
            honeypot=request.form.get(HONEYPOT_FIELD, ""), form_age=form_age(request.form.get(STAMP_FIELD))))
    except CommentRefused as refused:
        return reading.render_post(post, CommentForm(), errors=refused.errors, message=refused.message,
                           status=refused.status)
    if comment.user_id is None:
        remember_own(comment.id)  # lets this guest edit or delete it for a while
    if comment.status == Status.PENDING:
        held = [i for i in session.get(reading.HELD_SESSION_KEY, []) if i != comment.id]
        session[reading.HELD_SESSION_KEY] = (held + [comment.id])[-HELD_REMEMBERED:]
    elif comment.status != Status.APPROVED:
        # Spam or trash: nothing to show, and nothing to tell a spammer.
        return redirect(url_for("reading.post", slug=post.slug, _anchor="comments"), code=303)
    page = page_of(comment, discussion_for(post).per_page, top_level=post.top_level_count)
    return redirect(url_for("reading.post", slug=post.slug, cpage=page if page > 1 else None,
                            _anchor=f"comment-{comment.id}"), code=303)
