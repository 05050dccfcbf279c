"""Interface names of the codes stored in the database and used by rates.py."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS = {
    "no_quota": _l("Không giao chỉ tiêu"),
    "not_reported": _l("Chưa báo cáo"),
    "below": _l("Chưa đạt"),
    "met": _l("Đạt"),
    "over": _l("Vượt"),
}

UNIT_KIND = {
    "province": _l("Tỉnh"),
    "district": _l("Huyện"),
    "commune": _l("Xã"),
    "ward": _l("Phường"),
    "town": _l("Thị trấn"),
    "agency": _l("Cơ quan"),
    "school": _l("Trường học"),
    "enterprise": _l("Doanh nghiệp"),
    "armed_forces": _l("Lực lượng vũ trang"),
    "union": _l("CĐCS"),
    "other": _l("Khác"),
}

ROLE = {
    "admin": _l("Quản trị"),
    "organiser": _l("Cán bộ Ban chỉ đạo"),
    "reporter": _l("Cán bộ báo cáo"),
    "leader": _l("Lãnh đạo"),
}

PLAN_STATUS = {
    "draft": _l("Dự thảo"),
    "active": _l("Đang thực hiện"),
    "closed": _l("Đã kết thúc"),
}

RESULT_STATE = {
    "draft": _l("Nháp"),
    "submitted": _l("Đã gửi"),
    "approved": _l("Đã duyệt"),
    "returned": _l("Trả lại"),
}

COUNTING_RULE = {
    "bag": _l("Theo túi máu"),
    "ml250": _l("Quy đổi 250 ml"),
}

IMPORT_CHANGE = {
    "new": _l("Thêm mới"),
    "changed": _l("Thay đổi"),
    "unchanged": _l("Không đổi"),
}
