from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from campaign.formfields import choice_field, date_field


class UnitForm(FlaskForm):
    code = StringField(
        _l("Mã đơn vị"),
        validators=[
            DataRequired(_l("Nhập mã đơn vị.")),
            Length(max=32, message=_l("Tối đa 32 ký tự.")),
        ],
    )
    name = StringField(
        _l("Tên đơn vị"),
        validators=[
            DataRequired(_l("Nhập tên đơn vị.")),
            Length(max=200, message=_l("Tối đa 200 ký tự.")),
        ],
    )
    kind = choice_field(_l("Loại đơn vị"))
    official_code = StringField(
        _l("Mã đơn vị hành chính"),
        validators=[Optional(), Length(max=16, message=_l("Tối đa 16 ký tự."))],
        description=_l("Mã của Cục Thống kê, ví dụ 16543; để trống nếu không có."),
    )
    parent_id = choice_field(_l("Đơn vị cấp trên"), coerce=int)
    valid_from = date_field(_l("Hiệu lực từ ngày"), required=False)
    valid_to = date_field(_l("Hiệu lực đến ngày"), required=False)
    contact_name = StringField(_l("Người liên hệ"), validators=[Optional(), Length(max=200)])
    contact_phone = StringField(_l("Điện thoại"), validators=[Optional(), Length(max=40)])
    contact_email = StringField(
        _l("E-mail nhận nhắc báo cáo"),
        validators=[Optional(), Length(max=254, message=_l("Tối đa 254 ký tự."))],
        render_kw={"type": "email", "autocomplete": "off", "inputmode": "email"},
    )
    #: Read only when the parent changes (the edit page).
    moved_on = date_field(_l("Chuyển sang cấp trên mới từ ngày"), required=False)


class DeactivateForm(FlaskForm):
    last_day = date_field(_l("Ngày cuối cùng hoạt động"))


class MergeForm(FlaskForm):
    sources = SelectMultipleField(
        _l("Các đơn vị sáp nhập"),
        coerce=int,
        validators=[DataRequired(_l("Chọn ít nhất một đơn vị để sáp nhập."))],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    starts_on = date_field(_l("Sáp nhập từ ngày"))
    target_id = choice_field(_l("Đơn vị sau sáp nhập"), coerce=int)
    #: When ``target_id`` is 0, the merged unit is created from these fields.
    code = StringField(_l("Mã đơn vị mới"), validators=[Optional(), Length(max=32)])
    name = StringField(_l("Tên đơn vị mới"), validators=[Optional(), Length(max=200)])
    kind = choice_field(_l("Loại đơn vị mới"))
    parent_id = choice_field(_l("Đơn vị cấp trên của đơn vị mới"), coerce=int)


class OfficialImportForm(FlaskForm):
    """Confirms the preview of a province's units from the official list."""

    #: The province's official code, e.g. "38".
    province = HiddenField()
    #: The preview the user saw; confirming a different one is refused.
    fingerprint = HiddenField()
