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

#: The dashboard's status filter: one status, or every quota holder not yet at its quota.
STATUS_FILTER = {
    "not_completed": _l("Chưa hoàn thành chỉ tiêu"),
    **STATUS,
}

UNIT_KIND = {
    "province": _l("Tỉnh"),
    "district": _l("Huyện"),
    "commune": _l("Xã"),
    "ward": _l("Phường"),
    "special_zone": _l("Đặc khu"),
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

#: A plan's targets beyond blood units: the column heading, and the badge of a unit missing it.
TARGET = {
    "large_bag": _l("Túi 350-450 ml"),
    "repeat": _l("Hiến nhắc lại"),
    "participation": _l("Tham gia"),
}
TARGET_MISSED = {
    "large_bag": _l("Chưa đạt tỷ lệ túi 350 ml"),
    "repeat": _l("Chưa đạt tỷ lệ hiến nhắc lại"),
    "participation": _l("Chưa đạt tỷ lệ tham gia"),
}

GROUP_BY = {
    "kind": _l("Loại đơn vị"),
    "parent": _l("Đơn vị cấp trên"),
}

AUDIT_ENTITY = {
    "result": _l("Báo cáo kết quả"),
    "org_unit": _l("Đơn vị"),
    "plan": _l("Kế hoạch"),
    "drive": _l("Đợt hiến máu"),
    "quota": _l("Chỉ tiêu"),
    "user_account": _l("Tài khoản"),
}

#: Whether a unit's report for a drive came on time (campaign.rates.Timeliness).
TIMELINESS = {
    "on_time": _l("Đúng hạn"),
    "late": _l("Trễ hạn"),
    "overdue": _l("Quá hạn"),
    "not_due": _l("Chưa đến hạn"),
}

AUDIT_ACTION = {
    "result.save": _l("Lưu nháp"),
    "result.submit": _l("Gửi báo cáo"),
    "result.withdraw": _l("Rút lại báo cáo"),
    "result.approve": _l("Duyệt"),
    "result.return": _l("Trả lại"),
    "result.reopen": _l("Mở lại báo cáo đã duyệt"),
    "result.import": _l("Nhập kết quả từ tệp"),
    "unit.create": _l("Tạo đơn vị"),
    "unit.edit": _l("Sửa đơn vị"),
    "unit.move": _l("Chuyển đơn vị cấp trên"),
    "unit.deactivate": _l("Ngừng hoạt động"),
    "unit.merge": _l("Sáp nhập"),
    "unit.reform": _l("Ghi nhận sắp xếp đơn vị hành chính 2025"),
    "plan.create": _l("Tạo kế hoạch"),
    "plan.edit": _l("Sửa kế hoạch"),
    "plan.status": _l("Đổi trạng thái kế hoạch"),
    "plan.delete": _l("Xóa kế hoạch"),
    "plan.cite": _l("Thêm văn bản"),
    "plan.uncite": _l("Xóa văn bản"),
    "plan.publish": _l("Công khai tiến độ"),
    "plan.unpublish": _l("Thôi công khai tiến độ"),
    "drive.create": _l("Tạo đợt hiến máu"),
    "drive.edit": _l("Sửa đợt hiến máu"),
    "drive.delete": _l("Xóa đợt hiến máu"),
    "reminder.send": _l("Gửi e-mail nhắc báo cáo"),
    "quota.set": _l("Giao chỉ tiêu"),
    "quota.remove": _l("Bỏ chỉ tiêu"),
    "quota.import": _l("Nhập chỉ tiêu từ tệp"),
    "token.create": _l("Tạo mã API"),
    "token.revoke": _l("Thu hồi mã API"),
    "user.create": _l("Tạo tài khoản"),
    "user.update": _l("Đổi vai trò hoặc phạm vi"),
    "user.password": _l("Đổi mật khẩu"),
    "user.revoke_tokens": _l("Thu hồi mã API"),
    "user.disable": _l("Khóa tài khoản"),
    "user.enable": _l("Mở khóa tài khoản"),
    "auth.login": _l("Đăng nhập"),
    "auth.logout": _l("Đăng xuất"),
    "auth.failed": _l("Đăng nhập sai"),
    "access.refused": _l("Bị từ chối truy cập"),
}

IMPORT_CHANGE = {
    "new": _l("Thêm mới"),
    "changed": _l("Thay đổi"),
    "unchanged": _l("Không đổi"),
}
