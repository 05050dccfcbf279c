"""A province and its commune-level units from the official list, into the unit tree.

The preview says what would be written, the same shape as a spreadsheet import's, and
applying it goes through the units service (:func:`units.create_unit`, :func:`units.update_unit`),
so every rule of a unit typed by hand holds. Running it again changes nothing: a unit is
found by its official code on :data:`official_units.VALID_FROM`, else by its name (accents and
case ignored) among the units without an official code, which then receive theirs.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select

from campaign import labels, official_units
from campaign.extensions import db
from campaign.models import ImportKind, OrgUnit, UnitKind, User
from campaign.services import units
from campaign.services.errors import NotFound
from campaign.services.imports import Change, ChangeKind, Preview
from campaign.services.scope import Scope
from campaign.text import fold

VALID_FROM = official_units.VALID_FROM
COMMUNE_LEVEL = (UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE, UnitKind.TOWN)


def find_province(query: str) -> official_units.Province:
    """The province of the official list named by ``query`` ("38", "thanh hoa")."""
    province = official_units.find_province(query)
    if province is None:
        raise NotFound(
            _("Không có tỉnh, thành phố %(query)s trong danh mục từ 01/07/2025.", query=query),
            field="province",
        )
    return province


def app_code(official_code: str) -> str:
    """The app's own code for a unit made from the list, e.g. "HC2025-16543": the official
    code alone could not stay a permanent key, as codes are reused."""
    return f"HC2025-{official_code}"


def province_unit(province: official_units.Province) -> OrgUnit | None:
    """The tree's unit for ``province``, if there is one: the unit the import adds under."""
    roots = _units_valid_from_reform(OrgUnit.parent_id.is_(None))
    return _match(roots, province.code, province.name, (UnitKind.PROVINCE,), parent=None)


def preview(province: official_units.Province, scope: Scope | None = None) -> Preview:
    """What importing ``province`` would write; nothing is written. Applying it creates
    units through the units service, checked against ``scope`` (the acting user's)."""
    result = Preview(ImportKind.UNITS)
    alive = _units_valid_from_reform()
    root = province_unit(province)
    root_step = _plan_unit(result, 0, root, province.code, province.name, "province", None, scope)
    children = [u for u in alive if root is not None and u.parent_id == root.id]
    for row, official in enumerate(official_units.units_of(province), start=1):
        # A unit elsewhere in the tree that holds the code is a clash, listed, never taken.
        found = _match(children, official.code, official.name, COMMUNE_LEVEL, parent=root)
        _plan_unit(
            result, row, found, official.code, official.name, official.kind, root_step, scope
        )
    return result


def _units_valid_from_reform(*where: ColumnElement[bool]) -> list[OrgUnit]:
    query = select(OrgUnit).where(
        (OrgUnit.valid_to.is_(None)) | (OrgUnit.valid_to >= VALID_FROM), *where
    )
    return list(db.session.scalars(query))


def _match(
    candidates: list[OrgUnit],
    official_code: str,
    name: str,
    kinds: tuple[str, ...],
    parent: OrgUnit | None,
) -> OrgUnit | None:
    for unit in candidates:
        if unit.official_code == official_code and unit.is_valid_on(VALID_FROM):
            return unit
    wanted = fold(name)
    for unit in candidates:
        if (
            unit.official_code is None
            and unit.kind in kinds
            and unit.is_valid_on(VALID_FROM)
            and (parent is not None or unit.parent_id is None)
            and fold(unit.name) == wanted
        ):
            return unit
    return None


def _plan_unit(
    result: Preview,
    row: int,
    found: OrgUnit | None,
    official_code: str,
    name: str,
    kind: str,
    parent: Callable[[], OrgUnit | None] | None,
    scope: Scope | None,
) -> Callable[[], OrgUnit | None]:
    """Adds the row's change and step; returns how a later step gets the unit."""
    shown = f"{official_code} · {name} · {labels.UNIT_KIND[kind]}"
    if found is not None and found.official_code == official_code:
        result.changes.append(Change(row, name, ChangeKind.UNCHANGED, shown, shown))
        return lambda: found
    if found is not None:
        return _give_code(result, row, found, official_code, shown)
    code = app_code(official_code)
    if db.session.scalar(select(OrgUnit.id).where(units.code_is(code))) is not None:
        result.problem(row, _("Mã đơn vị %(code)s đã được dùng.", code=code))
    elif units.official_code_taken(official_code, VALID_FROM, None):
        result.problem(row, _clash(official_code))
    result.changes.append(Change(row, name, ChangeKind.NEW, "", f"{code} · {shown}"))
    made: list[OrgUnit] = []

    def step(user: User | None) -> None:
        made.append(
            units.create_unit(
                code=code,
                name=name,
                kind=kind,
                parent=parent() if parent else None,
                valid_from=VALID_FROM,
                official_code=official_code,
                user=user,
                scope=scope,
            )
        )

    result.steps.append(step)
    return lambda: made[0] if made else None


def _give_code(
    result: Preview, row: int, unit: OrgUnit, official_code: str, shown: str
) -> Callable[[], OrgUnit | None]:
    """A unit found by its name receives its official code; nothing else of it changes."""
    if units.official_code_taken(official_code, unit.valid_from, unit.valid_to, unit):
        result.problem(row, _clash(official_code))
    before = f"{unit.code} · {unit.name} · {unit.kind_label}"
    result.changes.append(Change(row, unit.name, ChangeKind.CHANGED, before, shown))

    def step(user: User | None) -> None:
        units.update_unit(
            unit,
            code=unit.code,
            name=unit.name,
            kind=unit.kind,
            parent=unit.parent,
            valid_from=unit.valid_from,
            valid_to=unit.valid_to,
            contact_name=unit.contact_name,
            contact_phone=unit.contact_phone,
            contact_email=unit.contact_email,
            official_code=official_code,
            user=user,
        )

    result.steps.append(step)
    return lambda: unit


def _clash(official_code: str) -> str:
    # The unit holding it may be outside the user's scope: never named.
    return _(
        "Mã đơn vị hành chính %(code)s đã được dùng cho một đơn vị khác có hiệu lực "
        "trong cùng thời gian.",
        code=official_code,
    )
