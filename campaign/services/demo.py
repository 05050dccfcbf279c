"""Loads the demo data set in ``data/demo`` into an empty database."""

from __future__ import annotations

import csv
import json
import random
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import TARGET_COLUMNS, Drive, OrgUnit, Plan, PlanStatus, Result, ResultState
from campaign.rates import Targets
from campaign.services import official_import, plans, results, units, users
from campaign.services.errors import ServiceError

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(OrgUnit))


def load(directory: Path = DEMO_DIR, *, reform: bool = True) -> dict[str, int]:
    """Creates the demo units, plans, quotas and results; refuses a database with data.

    Both worlds: Quảng Xương district's plans of 2021 and 2025 on the old tree; then, with
    ``reform``, the official list of 1 July 2025 imported for Thanh Hóa, the reform recorded
    in that tree, and a 2026 province plan of the new communes read against 2025."""
    if not database_is_empty():
        raise ServiceError(
            "Cơ sở dữ liệu đã có dữ liệu; chỉ nạp dữ liệu mẫu vào cơ sở dữ liệu trống."
        )
    by_code: dict[str, OrgUnit] = {}
    with open(directory / "units.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_code[row["code"]] = units.create_unit(
                code=row["code"],
                name=row["name"],
                kind=row["kind"],
                official_code=row["official_code"] or None,
                parent=by_code[row["parent_code"]] if row["parent_code"] else None,
                contact_name=row["contact_name"],
                contact_phone=row["contact_phone"],
            )
    data = json.loads((directory / "plans.json").read_text(encoding="utf-8"))
    created: dict[str, Plan] = {}
    for spec in data["plans"]:
        created[spec["key"]] = _load_plan(spec, data["note"], by_code, created)
    db.session.flush()
    counts = {"units": len(by_code), "plans": len(created)}
    if reform:
        counts["units"] += _after_reform(data["after_reform"], data["note"])
        counts["plans"] += 1
    return counts


def _after_reform(spec: dict[str, Any], note: str) -> int:
    """The reform recorded by the official list's import, then the 2026 plan of the
    province's new communes and wards with sample figures (drawn from ``spec["seed"]``, the
    same every time). Returns how many units the import added."""
    preview = official_import.preview(official_import.find_province(spec["province"]))
    added = official_import.apply(preview)
    seed, spec = spec["seed"], spec["plan"]
    province = units.by_code(spec["issuer"])
    plan = _new_plan(spec, province, note)
    new_units = db.session.scalars(
        select(OrgUnit)
        .where(OrgUnit.parent_id == province.id, OrgUnit.kind.in_(NEW_KINDS))
        .where(OrgUnit.valid_from == official_import.VALID_FROM)
        .order_by(OrgUnit.code)
    ).all()
    draw = random.Random(seed)
    quotas = {unit: draw.randrange(40, 160, 5) for unit in new_units}
    plans.set_quotas(plan, quotas, one_entry=True)
    for drive_spec in spec["drives"]:
        drive = _new_drive(plan, drive_spec)
        rows = [
            (unit.id, _sample_counts(draw, quota * drive_spec["share"]), None)
            for unit, quota in quotas.items()
        ]
        results.save_many(drive, rows, submit=True, one_entry=True)
        if drive_spec["state"] == ResultState.APPROVED:
            for result in db.session.scalars(select(Result).where(Result.drive_id == drive.id)):
                results.approve(result)
    if spec["status"] != plan.status:
        plans.set_status(plan, spec["status"])
    return added


#: Kinds of the units the official list adds under a province.
NEW_KINDS = ("commune", "ward", "special_zone")


def _sample_counts(draw: random.Random, expected: float) -> results.Counts:
    """A drive's sample report around ``expected`` donations: mostly 350 ml bags, some
    repeat donors, a few deferred."""
    donors = max(1, round(expected * draw.uniform(0.7, 1.3)))
    large = round(donors * draw.uniform(0.6, 0.85))
    bags_450 = round(large * draw.uniform(0.1, 0.3))
    deferred = draw.randint(0, max(1, donors // 8))
    return results.Counts(
        registered=donors + deferred + draw.randint(0, 3),
        deferred=deferred,
        bags_250=donors - large,
        bags_350=large - bags_450,
        bags_450=bags_450,
        repeat_donors=round(donors * draw.uniform(0.3, 0.55)),
    )


def _new_plan(spec: dict[str, Any], issuer: OrgUnit, note: str, parent: Plan | None = None) -> Plan:
    """A plan as ``spec`` describes it, in progress: closed, if it is, once its figures
    are in (a closed plan takes none)."""
    return plans.create_plan(
        issuer=issuer,
        number=spec["number"],
        issued_on=date.fromisoformat(spec["issued_on"]),
        title=spec["title"],
        year=spec["year"],
        counting_rule=spec["counting_rule"],
        parent=parent,
        status=PlanStatus.ACTIVE.value,
        note=note,
        targets=Targets(*(spec.get("targets", {}).get(column) for column in TARGET_COLUMNS)),
    )


def _new_drive(plan: Plan, spec: dict[str, Any]) -> Drive:
    return plans.add_drive(
        plan,
        name=spec["name"],
        starts_on=date.fromisoformat(spec["starts_on"]),
        ends_on=date.fromisoformat(spec["ends_on"]),
        site=spec["site"],
    )


def _load_plan(
    spec: dict[str, Any], note: str, by_code: dict[str, OrgUnit], created: dict[str, Plan]
) -> Plan:
    parent = created[spec["parent"]] if spec.get("parent") else None
    plan = _new_plan(spec, by_code[spec["issuer"]], note, parent)
    for doc in spec["documents"]:
        plans.cite_document(
            plan,
            number=doc["number"],
            issued_on=date.fromisoformat(doc["issued_on"]),
            issuer=doc["issuer"],
            summary=doc["summary"],
        )
    plans.set_quotas(plan, {by_code[code]: amount for code, amount in spec["quotas"].items()})
    for drive_spec in spec["drives"]:
        drive = _new_drive(plan, drive_spec)
        for r in drive_spec["results"]:
            counts = results.Counts(
                r["registered"], r["deferred"], r["bags_250"], r["bags_350"], r["bags_450"]
            )
            result = results.save(
                drive, by_code[r["unit"]], counts, submit=r["state"] != ResultState.DRAFT
            )
            if r["state"] == ResultState.APPROVED:
                results.approve(result)
    if spec["status"] != plan.status:
        plans.set_status(plan, spec["status"])
    return plan


def _after_reform_units(spec: dict[str, Any]) -> list[OrgUnit]:
    """The units an account also answers for once the reform is recorded (the reporter of
    old Xã Quảng Bình reports for the new one too), when the demo holds them."""
    codes = spec.get("units_after_reform", [])
    found = db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes))).all()
    return list(found)


def reset_demo_accounts(directory: Path = DEMO_DIR) -> list[tuple[str, str, str]]:
    """Creates the demo accounts, or gives them new passwords; returns (user, role, password).

    Passwords are random and printed once: there is no default password anywhere.
    """
    data = json.loads((directory / "plans.json").read_text(encoding="utf-8"))
    accounts = []
    for spec in data["accounts"]:
        password = secrets.token_urlsafe(9)
        user = users.by_username(spec["username"])
        if user is None:
            user = users.create_user(
                username=spec["username"],
                password=password,
                role=spec["role"],
                units=[units.by_code(code) for code in spec["units"]] + _after_reform_units(spec),
                full_name=spec["full_name"],
            )
        else:
            users.set_password(user, password)
        accounts.append((user.username, user.role_label, password))
    return accounts
