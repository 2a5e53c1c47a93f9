from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Please enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Please enter your password."), Length(max=1024)])
    remember = BooleanField("Remember me")
    next = HiddenField()
