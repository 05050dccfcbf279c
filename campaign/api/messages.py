"""marshmallow's messages in the app's language: the ``details`` of an API error name each
field's problem in Vietnamese (in English for a session that chose English), as the forms do.

marshmallow writes its messages in English from fixed templates; each template is matched
here and said again through the catalogue, with the numbers and choices it carried. A
message no template matches (the app's own, already translated) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

#: marshmallow 3 and 4's templates (fields, validators, schema), each with what it says.
TEMPLATES: list[tuple[str, Callable[..., str]]] = [
    (r"Missing data for required field\.", lambda: _("Thiếu trường bắt buộc.")),
    (r"Field may not be null\.", lambda: _("Trường này không được để null.")),
    (r"Unknown field\.", lambda: _("Trường này không được nhận.")),
    (r"Invalid input type\.", lambda: _("Dữ liệu gửi lên phải là một đối tượng JSON.")),
    (r"Invalid type\.", lambda: _("Sai kiểu dữ liệu.")),
    (r"Invalid value\.|Invalid input\.", lambda: _("Giá trị không hợp lệ.")),
    (r"Not a valid integer\.", lambda: _("Phải là một số nguyên.")),
    (r"Not a valid number\.", lambda: _("Phải là một số.")),
    (r"Number too large\.", lambda: _("Số quá lớn.")),
    (r"Not a valid string\.", lambda: _("Phải là một chuỗi ký tự.")),
    (r"Not a valid utf-8 string\.", lambda: _("Chuỗi ký tự không hợp lệ.")),
    (r"Not a valid boolean\.", lambda: _("Phải là true hoặc false.")),
    (r"Not a valid date\.", lambda: _("Phải là một ngày dạng YYYY-MM-DD.")),
    (r"Not a valid datetime\.", lambda: _("Phải là một thời điểm dạng ISO 8601.")),
    (r"Not a valid list\.", lambda: _("Phải là một danh sách.")),
    (r"Not a valid mapping type\.", lambda: _("Phải là một đối tượng JSON.")),
    (r"Not a valid email address\.", lambda: _("Địa chỉ thư điện tử không hợp lệ.")),
    (
        r"Must be greater than or equal to (?P<low>\S+) and less than or equal to (?P<high>\S+)\.",
        lambda low, high: _("Phải từ %(low)s đến %(high)s.", low=low, high=high),
    ),
    (
        r"Must be greater than or equal to (?P<low>\S+)\.",
        lambda low: _("Phải lớn hơn hoặc bằng %(low)s.", low=low),
    ),
    (
        r"Must be less than or equal to (?P<high>\S+)\.",
        lambda high: _("Phải nhỏ hơn hoặc bằng %(high)s.", high=high),
    ),
    (
        r"Length must be between (?P<low>\d+) and (?P<high>\d+)\.",
        lambda low, high: _("Phải dài từ %(low)s đến %(high)s ký tự.", low=low, high=high),
    ),
    (
        r"Shorter than minimum length (?P<low>\d+)\.",
        lambda low: _("Phải dài ít nhất %(low)s ký tự.", low=low),
    ),
    (
        r"Longer than maximum length (?P<high>\d+)\.",
        lambda high: _("Không được dài quá %(high)s ký tự.", high=high),
    ),
    (
        r"Must be one of: (?P<choices>.*)\.",
        lambda choices: _("Phải là một trong: %(choices)s.", choices=choices),
    ),
]
_COMPILED = [(re.compile(pattern), say) for pattern, say in TEMPLATES]


def translated(details: Any) -> Any:
    """``details`` (webargs' field -> messages, nested as the body is) with each of
    marshmallow's messages in the request's language."""
    if isinstance(details, dict):
        return {key: translated(value) for key, value in details.items()}
    if isinstance(details, list):
        return [translated(item) for item in details]
    if isinstance(details, str):
        for pattern, say in _COMPILED:
            match = pattern.fullmatch(details)
            if match:
                return say(**match.groupdict())
    return details
