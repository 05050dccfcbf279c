from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from campaign.numbers import MAX_COUNT, parse_id, too_large
from campaign.services.errors import ServiceError

_COUNT = {"inputmode": "numeric", "min": 0, "max": MAX_COUNT, "autocomplete": "off"}


def _count(label: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(_l("Nhập một số (0 nếu không có).")),
            NumberRange(min=0, message=_l("Nhập số nguyên từ 0 trở lên.")),
            NumberRange(max=MAX_COUNT, message=LazyString(too_large)),
        ],
        render_kw=_COUNT,
    )


class ResultForm(FlaskForm):
    registered = _count(_l("Số người đăng ký"))
    deferred = _count(_l("Số người không đủ điều kiện hiến"))
    bags_250 = _count(_l("Số túi 250 ml"))
    bags_350 = _count(_l("Số túi 350 ml"))
    bags_450 = _count(_l("Số túi 450 ml"))
    repeat_donors = IntegerField(
        _l("Trong đó, số người hiến nhắc lại (nếu có đếm)"),
        validators=[
            Optional(),
            NumberRange(min=0, message=_l("Nhập số nguyên từ 0 trở lên.")),
            NumberRange(max=MAX_COUNT, message=LazyString(too_large)),
        ],
        render_kw=_COUNT,
    )
    #: The version the form was filled from; a save naming an older one is refused.
    version = HiddenField()
    save = SubmitField(_l("Lưu nháp"))
    send = SubmitField(_l("Gửi báo cáo"))


class VersionForm(FlaskForm):
    """An action on a report as the user saw it: withdraw, approve."""

    version = HiddenField()


class RemindForm(FlaskForm):
    """Sends the drive's reminders: a button, and its CSRF token."""


class ReasonForm(VersionForm):
    reason = TextAreaField(
        _l("Lý do"),
        validators=[DataRequired(_l("Cần ghi lý do.")), Length(max=2000)],
        render_kw={"rows": 3},
    )


def version_of(form: VersionForm | ResultForm) -> int | None:
    """The version the page was shown at; none for a new report. A damaged one is refused."""
    value = (form.version.data or "").strip()
    if not value:
        return None
    version = parse_id(value)
    if version is None:
        raise ServiceError(_("Trang này đã cũ hoặc bị hỏng; hãy tải lại trang rồi thử lại."))
    return version
