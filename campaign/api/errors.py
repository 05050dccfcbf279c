"""One JSON shape for every error under /api/: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from campaign.api.messages import translated
from campaign.services.errors import Conflict, NotFound, ServiceError

#: The ``code`` of each status, stable for the systems that read it.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    428: "precondition_required",
    429: "too_many_requests",
    500: "server_error",
}

MESSAGES = {
    400: _l("Yêu cầu không hợp lệ."),
    401: _l("Cần mã truy cập hợp lệ (Authorization: Bearer <mã>)."),
    403: _l("Bạn không có quyền thực hiện thao tác này."),
    404: _l("Không tìm thấy dữ liệu được yêu cầu."),
    405: _l("Phương thức không được hỗ trợ."),
    409: _l("Dữ liệu vừa được người khác thay đổi."),
    413: _l("Dữ liệu gửi lên quá lớn."),
    422: _l("Dữ liệu gửi lên không hợp lệ."),
    429: _l("Quá nhiều yêu cầu từ địa chỉ này. Vui lòng đợi một phút rồi thử lại."),
    500: _l("Đã có lỗi phía máy chủ. Thao tác chưa được lưu; vui lòng thử lại."),
}


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "e.g. not_found, invalid"})
    message = ma.fields.String(required=True, metadata={"description": "In Vietnamese"})
    details = ma.fields.Dict(
        required=True,
        allow_none=True,
        metadata={"description": "Field names and their problems, or other context"},
    )


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


def error_response(
    status: int, message: str | None = None, details: dict[str, Any] | None = None
) -> Response:
    body = {
        "code": CODES.get(status, "error"),
        "message": message or str(MESSAGES.get(status, MESSAGES[500])),
        "details": details,
    }
    response = jsonify(error=body)
    response.status_code = status
    return response


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    # webargs puts the fields that failed validation in ``data["messages"]``, in
    # marshmallow's English: said again in the request's language.
    data = getattr(error, "data", None) or {}
    details = translated(data.get("messages") or data.get("errors"))
    message = data.get("message")
    if status == 400 and getattr(error, "description", "").startswith("The CSRF"):
        message = _("Thiếu hoặc sai mã CSRF; yêu cầu dùng cookie phiên cần mã này.")
    response = error_response(status, message, details)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


#: Services name a refused field as the forms do; the API's bodies name a few otherwise.
API_FIELDS = {"parent_id": "parent_plan_id", "compare_with_id": "compare_with_plan_id"}


def handle_service_error(error: ServiceError) -> Response:
    if isinstance(error, NotFound):
        status = 404
    elif isinstance(error, Conflict):
        status = 409
    else:
        status = 422
    field = API_FIELDS.get(error.field or "", error.field)
    details: dict[str, Any] | None = {field: [error.message]} if field else None
    if isinstance(error, Conflict) and error.current is not None:
        details = {"current_version": getattr(error.current, "version", None)}
    return error_response(status, error.message, details)
