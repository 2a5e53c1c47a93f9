from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField, TextAreaField, URLField


class CommentForm(FlaskForm):
    """WordPress's field names. Validation lives in the service, shared with the API."""

    comment = TextAreaField("Comment")
    author = StringField("Name")
    email = EmailField("Email")
    url = URLField("Website")
    comment_parent = HiddenField(default="0")
    subscribe_replies = BooleanField("Notify me of replies to my comment")
    subscribe_comments = BooleanField("Notify me of all new comments on this post")
    subscribe_blog = BooleanField("Notify me of new posts by email")
