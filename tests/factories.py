"""Builds test data through the services, as the app itself does."""

from __future__ import annotations

from datetime import date
from itertools import count

from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, Result, Role, User
from campaign.services import plans, results, units, users

PASSWORD = "correct horse battery"
_serial = count(1)


def unit(name: str = "", kind: str = "commune", parent: OrgUnit | None = None, **kw) -> OrgUnit:
    n = next(_serial)
    return units.create_unit(
        code=kw.pop("code", f"U{n:05d}"), name=name or f"Đơn vị {n}", kind=kind, parent=parent, **kw
    )


def district_with_communes(names: list[str]) -> tuple[OrgUnit, list[OrgUnit]]:
    province = unit("Tỉnh Thanh Hóa", "province")
    district = unit("Huyện Quảng Xương", "district", province)
    return district, [unit(name, "commune", district) for name in names]


def plan(issuer: OrgUnit, *, rule: str = "bag", parent: Plan | None = None, **kw) -> Plan:
    n = next(_serial)
    return plans.create_plan(
        issuer=issuer,
        number=kw.pop("number", f"{n}/KH-BCĐ"),
        issued_on=kw.pop("issued_on", date(2021, 5, 10)),
        title=kw.pop("title", "Tổ chức hiến máu tình nguyện năm 2021"),
        year=kw.pop("year", 2021),
        counting_rule=rule,
        parent=parent,
        **kw,
    )


def drive(plan_: Plan, name: str = "Đợt 1", day: date = date(2021, 6, 11)) -> Drive:
    return plans.add_drive(plan_, name=name, starts_on=day, ends_on=day, site="Trung tâm Hội nghị")


def result(
    drive_: Drive,
    unit_: OrgUnit,
    b250: int = 0,
    b350: int = 0,
    b450: int = 0,
    *,
    state: str = "submitted",
    registered: int | None = None,
    deferred: int = 0,
) -> Result:
    donors = b250 + b350 + b450
    counts = results.Counts(
        registered if registered is not None else donors + deferred, deferred, b250, b350, b450
    )
    saved = results.save(
        drive_, unit_, counts, submit=state in ("submitted", "approved", "returned")
    )
    if state == "approved":
        results.approve(saved)
    elif state == "returned":
        results.return_for_correction(saved, "Sai số liệu")
    return saved


def user(role: str = Role.ORGANISER, units_: list[OrgUnit] | None = None, **kw) -> User:
    n = next(_serial)
    return users.create_user(
        username=kw.pop("username", f"user{n}"),
        password=kw.pop("password", PASSWORD),
        role=role,
        units=units_ or [],
        **kw,
    )


def commit() -> None:
    db.session.commit()
