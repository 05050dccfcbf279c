"""Form fields that speak Vietnamese when the input is wrong, shared by the blueprints."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional
from wtforms.widgets import TextInput

from campaign.services.errors import ServiceError

#: Dates are typed and shown as dd/mm/yyyy (DOMAIN.md); an ISO date (a script's, an old
#: page's date picker) is read too.
DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]


def date_field(label: Any, required: bool = True, description: Any = "") -> DateField:
    """A text field, not the browser's date picker: the picker shows mm/dd/yyyy in a browser
    set to English, and "01/10/2022" would become 10 January."""
    return DateField(
        label,
        format=DATE_FORMATS,
        widget=TextInput(),
        validators=[InputRequired(_l("Nhập ngày."))] if required else [Optional()],
        invalid_value_message=_l("Ngày không hợp lệ; ghi theo dạng dd/mm/yyyy."),
        render_kw={"placeholder": "dd/mm/yyyy", "autocomplete": "off", "maxlength": 10},
        description=description,
    )


def choice_field(label: Any, coerce: Any = str) -> SelectField:
    return SelectField(
        label, coerce=coerce, invalid_choice_message=_l("Lựa chọn không hợp lệ."), choices=[]
    )


def year_field(label: Any) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(_l("Nhập năm.")),
            NumberRange(2000, 2100, _l("Năm phải từ %(min)s đến %(max)s.")),
        ],
        invalid_value_message=_l("Năm phải là số nguyên."),
    )


def percent_field(label: Any) -> IntegerField:
    """An optional whole percentage from 1 to 100 (a plan's target)."""
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(1, 100, _l("Ghi số nguyên từ 1 đến 100, hoặc để trống.")),
        ],
        invalid_value_message=_l("Ghi số nguyên từ 1 đến 100, hoặc để trống."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


def show_error(form: Any, error: ServiceError, default: Any = None) -> None:
    """Puts a refused input's message next to its field (the refused service already
    undid what it flushed: see :mod:`campaign.services.transaction`).

    A message for no field of the form goes next to ``default``, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None or not hasattr(field, "errors"):
        field = default
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
