"""Loads the demo data set in ``data/demo`` into an empty database."""

from __future__ import annotations

import csv
import json
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import OrgUnit, Plan, PlanStatus, ResultState
from campaign.services import plans, results, units, users
from campaign.services.errors import ServiceError

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(OrgUnit))


def load(directory: Path = DEMO_DIR) -> dict[str, int]:
    """Creates the demo units, plans, quotas and results; refuses a database with data."""
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
    return {"units": len(by_code), "plans": len(created)}


def _load_plan(
    spec: dict[str, Any], note: str, by_code: dict[str, OrgUnit], created: dict[str, Plan]
) -> Plan:
    plan = plans.create_plan(
        issuer=by_code[spec["issuer"]],
        number=spec["number"],
        issued_on=date.fromisoformat(spec["issued_on"]),
        title=spec["title"],
        year=spec["year"],
        counting_rule=spec["counting_rule"],
        parent=created[spec["parent"]] if spec.get("parent") else None,
        status=PlanStatus.ACTIVE.value,  # closed, if it is, once its figures are in
    )
    plan.note = note
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
        drive = plans.add_drive(
            plan,
            name=drive_spec["name"],
            starts_on=date.fromisoformat(drive_spec["starts_on"]),
            ends_on=date.fromisoformat(drive_spec["ends_on"]),
            site=drive_spec["site"],
        )
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
                units=[units.by_code(code) for code in spec["units"]],
                full_name=spec["full_name"],
            )
        else:
            users.set_password(user, password)
        accounts.append((user.username, user.role_label, password))
    return accounts
