"""Creating and finding units."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import OrgUnit, UnitKind, User
from campaign.services import audit
from campaign.services.errors import NotFound, ServiceError


def by_code(code: str) -> OrgUnit:
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code.strip()))
    if unit is None:
        raise NotFound(_("Không có đơn vị mã %(code)r.", code=code), field="code")
    return unit


def create_unit(
    *,
    code: str,
    name: str,
    kind: str,
    parent: OrgUnit | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    user: User | None = None,
) -> OrgUnit:
    code, name = code.strip(), " ".join(name.split())
    if not code or not name:
        raise ServiceError(
            _("Mã và tên đơn vị không được để trống."), field="code" if not code else "name"
        )
    if kind not in UnitKind.__members__.values():
        raise ServiceError(_("Loại đơn vị không hợp lệ: %(kind)r.", kind=kind), field="kind")
    if valid_from and valid_to and valid_from > valid_to:
        raise ServiceError(_("Ngày bắt đầu hiệu lực phải trước ngày kết thúc."), field="valid_to")
    if db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
        raise ServiceError(_("Mã đơn vị %(code)s đã được dùng.", code=code), field="code")
    unit = OrgUnit(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        valid_from=valid_from,
        valid_to=valid_to,
        contact_name=contact_name or None,
        contact_phone=contact_phone or None,
    )
    db.session.add(unit)
    audit.record("unit.create", unit, user=user)
    return unit
