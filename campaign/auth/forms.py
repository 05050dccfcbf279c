from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from campaign.services.users import MAX_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[DataRequired(_l("Nhập tên đăng nhập.")), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[DataRequired(_l("Nhập mật khẩu.")), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        _l("Mật khẩu hiện tại"),
        validators=[DataRequired(_l("Nhập mật khẩu hiện tại."))],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        _l("Mật khẩu mới"),
        validators=[DataRequired(_l("Nhập mật khẩu mới."))],
        description=_l("Ít nhất 8 ký tự; một câu dễ nhớ là mật khẩu tốt."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[EqualTo("new", _l("Hai lần nhập không khớp."))],
        render_kw={"autocomplete": "new-password"},
    )
