from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[DataRequired(_l("Nhập tên đăng nhập.")), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[DataRequired(_l("Nhập mật khẩu.")), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
