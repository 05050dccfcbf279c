from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from campaign import labels


class AccountForm(FlaskForm):
    full_name = StringField(_l("Họ và tên"), validators=[Length(max=200)])
    role = SelectField(
        _l("Vai trò"), choices=[SelectChoice(code, name) for code, name in labels.ROLE.items()]
    )
    units = StringField(
        _l("Mã đơn vị phạm vi"),
        description=_l("Cách nhau bằng dấu phẩy hoặc khoảng trắng, ví dụ QX-QBINH QX-QHAI."),
        validators=[Length(max=2000)],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )


class NewAccountForm(AccountForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[DataRequired(_l("Nhập tên đăng nhập.")), Length(max=80)],
        render_kw={"autocapitalize": "none", "autocomplete": "off"},
    )


def unit_codes(text: str | None) -> list[str]:
    return [code for code in (text or "").replace(",", " ").split() if code]
