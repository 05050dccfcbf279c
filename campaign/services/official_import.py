"""A province and its commune-level units from the official list, into the unit tree.

The preview says what would be written, the same shape as a spreadsheet import's, and
applying it goes through the units service (:func:`units.create_unit`, :func:`units.update_unit`),
so every rule of a unit typed by hand holds. Running it again changes nothing: a unit is
found by its official code on :data:`official_units.VALID_FROM`, else by its name (accents and
case ignored) among the units without an official code, which then receive theirs.

When the tree already holds the province's pre-reform districts and communes, the same
preview holds the reform (:mod:`campaign.services.reform`), recorded by the same
confirmation once the new units are there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select

from campaign import labels, official_units
from campaign.extensions import db
from campaign.models import ImportKind, OrgUnit, UnitKind, User
from campaign.services import audit, imports, reform, units
from campaign.services.errors import NotFound
from campaign.services.imports import Change, ChangeKind, Preview
from campaign.services.scope import Scope
from campaign.services.transaction import atomic
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


@dataclass
class OfficialPreview(Preview):
    """The units to add from the list, and the reform to record in the tree."""

    reform: reform.Reform = field(default_factory=reform.Reform)
    root: OrgUnit | None = None
    scope: Scope | None = None
    #: Rows whose "after" follows a split commune's choice; the fingerprint leaves it out,
    #: so the organiser may change the choice on the page that was confirmed.
    choice_rows: set[int] = field(default_factory=set)

    @property
    def unmatched(self) -> list[str]:
        return self.reform.unmatched

    def fingerprint(self) -> str:
        shown = [
            (c.row, c.unit, c.kind.value, c.before, "" if c.row in self.choice_rows else c.after)
            for c in self.changes
        ]
        splits = [(m.unit.id, m.options) for m in self.reform.splits]
        return hashlib.sha256(repr((shown, splits)).encode()).hexdigest()


def preview(
    province: official_units.Province,
    scope: Scope | None = None,
    choices: Mapping[int, str] | None = None,
) -> OfficialPreview:
    """What importing ``province`` would write; nothing is written. Applying it creates
    units through the units service, checked against ``scope`` (the acting user's), then
    records the reform in the tree's pre-reform units, if any. ``choices`` maps a split old
    commune's id to the code of the new unit it goes to, instead of the proposed one."""
    root = province_unit(province)
    found_reform = reform.find(province, root, choices)
    result = OfficialPreview(ImportKind.UNITS, reform=found_reform, root=root, scope=scope)
    spared = found_reform.closing_ids
    alive = _units_valid_from_reform()
    root_step = _plan_unit(
        result, 0, root, province.code, province.name, "province", None, scope, spared
    )
    children = [u for u in alive if root is not None and u.parent_id == root.id]
    units_of = official_units.units_of(province)
    for row, official in enumerate(units_of, start=1):
        # A unit elsewhere in the tree that holds the code is a clash, listed, never taken.
        found = _match(children, official.code, official.name, COMMUNE_LEVEL, parent=root)
        _plan_unit(
            result, row, found, official.code, official.name, official.kind, root_step, scope,
            spared,
        )  # fmt: skip
    if root is not None:
        _plan_reform(result, root, len(units_of) + 1)
    return result


def _plan_reform(result: OfficialPreview, root: OrgUnit, row: int) -> None:
    """The reform's changes, after the units': it merges into units the import adds."""
    found = result.reform
    rows = iter(range(row, row + 10**9))
    for unit in found.done:
        shown = f"{unit.code} · {unit.name}"
        result.changes.append(Change(next(rows), unit.name, ChangeKind.UNCHANGED, shown, shown))
    for merge in found.merges:
        target = merge.option(merge.chosen)
        after = _("Sáp nhập vào %(name)s (%(code)s) từ 01/07/2025", **vars(target))
        change = Change(
            next(rows),
            merge.unit.name,
            ChangeKind.CHANGED,
            f"{merge.unit.code} · {merge.unit.name} · {merge.district.name}",
            after,
        )
        result.changes.append(change)
        if merge.is_split:
            result.choice_rows.add(change.row)
    merges = {m.unit.id: m for m in found.merges}
    for move in found.moves:
        name = root.name if move.to is None else merges[move.old_parent.id].option(move.to).name
        change = Change(
            next(rows),
            move.unit.name,
            ChangeKind.CHANGED,
            f"{move.unit.code} · {move.unit.name} · {move.old_parent.name}",
            _("Chuyển về %(name)s từ 01/07/2025", name=name),
        )
        result.changes.append(change)
        if move.split_of is not None:
            result.choice_rows.add(change.row)
    for district in found.closes:
        result.changes.append(
            Change(
                next(rows),
                district.name,
                ChangeKind.CHANGED,
                f"{district.code} · {district.name}",
                _("Hết hiệu lực sau 30/06/2025"),
            )
        )
    if found.merges or found.closes or found.moves:
        result.steps.insert(0, lambda user: reform.close_first(found, user))
        result.steps.append(lambda user: reform.record(found, root, user))


@atomic
def apply(result: OfficialPreview, user: User | None = None) -> int:
    """Writes the preview all or nothing (see :func:`imports.apply`), once the scope it
    was read with may write every unit the reform changes. Returns the changes written."""
    if result.root is not None:
        reform.check_scope(result.reform, result.root, result.scope)
    user = user or (result.scope.user if result.scope else None)
    written = imports.apply(result, user)
    found = result.reform
    if found.merges or found.closes or found.moves:
        # One entry says what the reform did as a whole; each unit's own entries follow.
        audit.record(
            "unit.reform",
            result.root,
            user=user,
            after={
                "valid_from": VALID_FROM.isoformat(),
                "merged": {str(m.unit.id): m.chosen for m in found.merges},
                "closed": [d.id for d in found.closes],
                "moved": [m.unit.id for m in found.moves],
            },
        )
    return written


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
    spared: Collection[int] = (),
) -> Callable[[], OrgUnit | None]:
    """Adds the row's change and step; returns how a later step gets the unit. The units
    ``spared`` cease before the list is in force: their codes are free from then."""
    shown = f"{official_code} · {name} · {labels.UNIT_KIND[kind]}"
    if found is not None and found.official_code == official_code:
        result.changes.append(Change(row, name, ChangeKind.UNCHANGED, shown, shown))
        return lambda: found
    if found is not None:
        return _give_code(result, row, found, official_code, shown, spared)
    code = app_code(official_code)
    if db.session.scalar(select(OrgUnit.id).where(units.code_is(code))) is not None:
        result.problem(row, _("Mã đơn vị %(code)s đã được dùng.", code=code))
    elif units.official_code_taken(official_code, VALID_FROM, None, spared=spared):
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
    result: Preview,
    row: int,
    unit: OrgUnit,
    official_code: str,
    shown: str,
    spared: Collection[int],
) -> Callable[[], OrgUnit | None]:
    """A unit found by its name receives its official code; nothing else of it changes."""
    if units.official_code_taken(official_code, unit.valid_from, unit.valid_to, unit, spared):
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
