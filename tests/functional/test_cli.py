"""The commands an operator runs: flask demo load, users create, comments resanitize."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from blog.demo import AUTHOR_EMAIL
from blog.extensions import db
from blog.models import Comment, Post, User
from blog.sanitize import sanitize_comment
from tests.conftest import ROOT, add_comments

PASSWORD_LINE = re.compile(rf"Author login: {re.escape(AUTHOR_EMAIL)} / (\S+)")


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Post, Comment, User))


def load(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_load_is_idempotent(app, runner, monkeypatch):
    monkeypatch.delenv("DEMO_AUTHOR_PASSWORD", raising=False)
    first = load(runner)
    assert counts(app) == (1, 4, 1)
    second = load(runner)
    assert counts(app) == (1, 4, 1)
    assert "Demo post: /what-can-i-do-if-my-partner-wont-go-to-couples-therapy/" in first
    # The password is shown once, when the account is made.
    password = PASSWORD_LINE.search(first).group(1)
    assert PASSWORD_LINE.search(second) is None and password not in second
    assert "already exists" in second
    with app.app_context():
        author = db.session.scalar(select(User).where(User.email == AUTHOR_EMAIL))
        assert author.display_name == "Winifred" and author.role == "author"
        assert author.check_password(password)


def test_demo_thread_has_the_author_reply_under_the_first_comment(app, runner):
    load(runner)
    with app.app_context():
        post = db.session.scalar(select(Post))
        comments = db.session.scalars(select(Comment).order_by(Comment.created_at)).all()
        assert [c.status for c in comments] == ["approved"] * 4
        top = [c for c in comments if c.parent_id is None]
        [reply] = [c for c in comments if c.parent_id is not None]
        assert reply.parent_id == comments[0].id and reply.depth == 2 and reply.root_id == comments[0].id
        assert reply.user_id == post.author_id and reply.author_name == "Winifred"
        assert len(top) == 3 and all(c.depth == 1 and c.user_id is None for c in top)
        assert all(c.body_html == sanitize_comment(c.body_raw) for c in comments)


def test_demo_password_from_environment(app, runner, monkeypatch):
    monkeypatch.setenv("DEMO_AUTHOR_PASSWORD", "chosen-by-the-operator")
    output = load(runner)
    assert PASSWORD_LINE.search(output).group(1) == "chosen-by-the-operator"
    with app.app_context():
        assert db.session.scalar(select(User)).check_password("chosen-by-the-operator")


def test_generated_password_is_never_a_constant(app, runner, monkeypatch):
    monkeypatch.delenv("DEMO_AUTHOR_PASSWORD", raising=False)
    passwords = []
    for _ in range(2):
        passwords.append(PASSWORD_LINE.search(load(runner)).group(1))
        with app.app_context():
            db.session.execute(Comment.__table__.delete())
            db.session.execute(Post.__table__.delete())
            db.session.execute(User.__table__.delete())
            db.session.commit()
    assert passwords[0] != passwords[1] and min(map(len, passwords)) >= 12
    for path in list((ROOT / "blog").rglob("*")) + [ROOT / "app.py"]:
        if path.is_file() and path.suffix in {".py", ".json", ".cfg", ".toml", ".txt"}:
            assert passwords[0] not in path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("role", ["author", "admin", "reader"])
def test_users_create_with_password_from_stdin(app, runner, role):
    result = runner.invoke(args=["users", "create", "--role", role, "--email", "New@Example.com",
                                 "--name", "New Person", "--password-stdin"], input="a long passphrase\n")
    assert result.exit_code == 0, result.output
    assert f"Created {role} New Person <new@example.com>" in result.output
    assert "a long passphrase" not in result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.email, user.display_name, user.role) == ("new@example.com", "New Person", role)
        assert user.check_password("a long passphrase") and not user.check_password("a long passphrase\n")


def test_users_create_prompts_for_the_password(app, runner):
    result = runner.invoke(args=["users", "create", "--email", "p@example.com", "--name", "P"],
                           input="prompted secret\nprompted secret\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.role == "reader" and user.check_password("prompted secret")


@pytest.mark.parametrize("args, stdin, message", [
    (["--role", "owner"], "a long passphrase\n", "Invalid value for '--role'"),
    ([], "short\n", "at least 8 characters"),
    ([], "\n", "at least 8 characters"),
])
def test_users_create_refuses_with_a_clear_error(app, runner, args, stdin, message):
    result = runner.invoke(args=["users", "create", "--email", "x@example.com", "--name", "X",
                                 "--password-stdin", *args], input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert counts(app)[2] == 0


def test_users_create_refuses_a_duplicate_email(app, runner):
    args = ["users", "create", "--email", "dup@example.com", "--name", "One", "--password-stdin"]
    assert runner.invoke(args=args, input="a long passphrase\n").exit_code == 0
    args[3] = "DUP@example.com"
    result = runner.invoke(args=args, input="another passphrase\n")
    assert result.exit_code != 0
    assert "already exists" in result.output and "Traceback" not in result.output
    assert counts(app)[2] == 1


def test_comments_recount_fixes_counts_changed_behind_the_apps_back(app, runner, client, post):
    add_comments(app, post, 3)
    assert "3 thoughts on" in client.get(f"/{post}/").get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(Comment).values(status="spam"))  # by hand: no hook, no signal
        db.session.commit()
    result = runner.invoke(args=["comments", "recount"])
    assert result.exit_code == 0, result.output
    assert "Recounted the comments of 1 post." in result.output
    with app.app_context():
        assert db.session.execute(select(Post.comment_count, Post.top_level_count)).one() == (0, 0)
    assert "thoughts on" not in client.get(f"/{post}/").get_data(as_text=True)


def test_comments_resanitize_fixes_stale_html(app, runner, post):
    ids = add_comments(app, post, 3)
    typed = "Hi <b>there</b> <script>alert(1)</script> see http://example.com"
    with app.app_context():
        stale = db.session.get(Comment, ids[0])
        stale.body_raw = typed
        stale.body_html = "<p>Hi <b>there</b> <script>alert(1)</script> see http://example.com</p>"
        also_stale = db.session.get(Comment, ids[1])
        also_stale.body_html = '<p><a href="javascript:alert(1)">Comment 1</a></p>'
        db.session.commit()
    result = runner.invoke(args=["comments", "resanitize"])
    assert result.exit_code == 0, result.output
    assert "Resanitized 3 comments; 2 changed." in result.output
    with app.app_context():
        fixed = db.session.get(Comment, ids[0])
        assert fixed.body_raw == typed  # the text as typed is never touched
        assert fixed.body_html == sanitize_comment(typed)
        assert "<script>" not in fixed.body_html and 'rel="nofollow ugc"' in fixed.body_html
        assert db.session.get(Comment, ids[1]).body_html == "<p>Comment 1</p>"
        assert db.session.get(Comment, ids[2]).body_html == "<p>Comment 2</p>"
    again = runner.invoke(args=["comments", "resanitize"])
    assert "Resanitized 3 comments; 0 changed." in again.output


def test_resanitize_keeps_text_the_sanitiser_now_refuses_as_plain_text(app, runner, post):
    [cid] = add_comments(app, post, 1)
    typed = "<b>" * 30 + "deep"
    with app.app_context():
        db.session.get(Comment, cid).body_raw = typed
        db.session.commit()
    assert runner.invoke(args=["comments", "resanitize"]).exit_code == 0
    with app.app_context():
        assert db.session.get(Comment, cid).body_html == "<p>" + "&lt;b&gt;" * 30 + "deep</p>"
