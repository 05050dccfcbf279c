from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(
        "Tên đăng nhập",
        validators=[DataRequired("Nhập tên đăng nhập."), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        "Mật khẩu",
        validators=[DataRequired("Nhập mật khẩu."), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
