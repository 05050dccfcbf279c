from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from campaign.formfields import choice_field, date_field, percent_field, year_field


class PlanForm(FlaskForm):
    number = StringField(
        _l("Số, ký hiệu"),
        validators=[DataRequired(_l("Nhập số kế hoạch, ví dụ 276/KH-BCĐTH.")), Length(max=60)],
    )
    issued_on = date_field(_l("Ngày ban hành"))
    issuer_id = choice_field(_l("Đơn vị ban hành"), coerce=int)
    title = StringField(
        _l("Trích yếu"),
        validators=[DataRequired(_l("Nhập trích yếu kế hoạch.")), Length(max=500)],
    )
    year = year_field(_l("Năm thực hiện"))
    counting_rule = choice_field(_l("Cách tính đơn vị máu"))
    parent_id = choice_field(_l("Thực hiện kế hoạch cấp trên"), coerce=int)
    #: A plan's id, or AUTO_COMPARE / NO_COMPARE.
    compare_with_id = choice_field(_l("So với cùng kỳ"))
    note = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=2000)])
    #: Targets beyond blood units, named as the plan's columns (TARGET_COLUMNS).
    min_large_bag_percent = percent_field(_l("Tỷ lệ túi 350 ml và 450 ml tối thiểu (%)"))
    min_repeat_percent = percent_field(_l("Tỷ lệ người hiến nhắc lại tối thiểu (%)"))
    min_participation_percent = percent_field(_l("Tỷ lệ quân số tham gia hiến tối thiểu (%)"))


#: compare_with_id's choices that name no plan: the issuer's plan of the year before, or none.
AUTO_COMPARE = "auto"
NO_COMPARE = "none"


class StatusForm(FlaskForm):
    status = choice_field(_l("Trạng thái"))


class DocumentForm(FlaskForm):
    number = StringField(
        _l("Số, ký hiệu"),
        validators=[DataRequired(_l("Nhập số văn bản, ví dụ 78/BCĐTH.")), Length(max=60)],
    )
    issued_on = date_field(_l("Ngày ban hành"))
    issuer = StringField(
        _l("Cơ quan ban hành"),
        validators=[DataRequired(_l("Ghi cơ quan ban hành văn bản.")), Length(max=300)],
    )
    summary = TextAreaField(_l("Trích yếu"), validators=[Optional(), Length(max=2000)])


class DriveForm(FlaskForm):
    name = StringField(
        _l("Tên đợt"), validators=[DataRequired(_l("Ghi tên đợt hiến máu.")), Length(max=200)]
    )
    starts_on = date_field(_l("Từ ngày"))
    ends_on = date_field(_l("Đến ngày"))
    site = StringField(_l("Địa điểm"), validators=[Optional(), Length(max=300)])
    report_due_on = date_field(
        _l("Hạn báo cáo"),
        required=False,
        description=_l(
            "Để trống: 3 ngày sau ngày kết thúc đợt. Báo cáo gửi sau hạn này là báo cáo trễ."
        ),
    )


class PublicForm(FlaskForm):
    #: "1" publishes the plan's progress, "0" stops publishing it.
    public = choice_field(_l("Công khai"))
