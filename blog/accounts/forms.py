from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Please enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Please enter your password."), Length(max=1024)])
    remember = BooleanField("Remember me")
    next = HiddenField()


# The forms below are checked by the services (accounts/service.py); WTForms gives CSRF and markup.

class RegisterForm(FlaskForm):
    name = StringField("Display name")
    email = EmailField("Email")
    password = PasswordField("Password")


class ResetRequestForm(FlaskForm):
    email = EmailField("Email")


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password")
    new_password = PasswordField("New password")
