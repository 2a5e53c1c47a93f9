from flask_wtf import FlaskForm
from wtforms import EmailField


class SignupForm(FlaskForm):
    """New posts by email, under the post. Validation lives in the service."""

    email = EmailField("Email address")
