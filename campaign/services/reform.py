"""The reform of 1 July 2025, read from a tree that holds a province's pre-reform units.

Each old commune merges into the new unit it became (:func:`units.merge_units`: it stays,
valid until 30/06/2025 and linked to the new unit, and the units under it move with it);
each district closes on 30/06/2025, and the units directly under it that are not communes
(agencies, schools, base unions...) move under the province. Moves keep where each unit
stood, so plans issued before the reform keep their tree and their figures.

An old unit is matched by its official code where it has one, else by its name within its
district, accents, case and the leading "Xã", "Phường", "Huyện"... ignored. What cannot be
matched, or matches more than one, is listed and left as it is: never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from campaign import official_units
from campaign.extensions import db
from campaign.models import OrgUnit, UnitKind, User
from campaign.services import audit, units
from campaign.services.errors import Forbidden, ServiceError
from campaign.services.scope import Scope
from campaign.services.transaction import atomic
from campaign.text import fold

VALID_FROM = official_units.VALID_FROM
#: The last day of the districts and of the communes merged by the reform.
LAST_DAY = VALID_FROM - timedelta(days=1)
#: Kinds of the units a district was made of; any other unit under it moves to the province.
ADMINISTRATIVE = (UnitKind.COMMUNE, UnitKind.WARD, UnitKind.TOWN, UnitKind.SPECIAL_ZONE)
#: Words a name may start with or not: "Quảng Bình" is "Xã Quảng Bình".
_PREFIXES = ("xa ", "phuong ", "thi tran ", "dac khu ", "huyen ", "quan ", "thi xa ", "thanh pho ")


T = TypeVar("T")


def bare(name: str) -> str:
    """The name folded, without the word for its kind: "Huyện Quảng Xương" -> "quang xuong"."""
    folded = fold(name)
    for prefix in _PREFIXES:
        if folded.startswith(prefix):
            return folded.removeprefix(prefix)
    return folded


@dataclass(frozen=True)
class Option:
    #: The new unit's official code and name.
    code: str
    name: str


@dataclass(frozen=True)
class Merge:
    """An old commune of the tree and the new unit it merges into."""

    unit: OrgUnit
    district: OrgUnit
    #: The new units that took part of it, in the list's order; more than one for a split.
    options: tuple[Option, ...]
    #: The proposal: the one that took its largest part where the list says (the one it is
    #: not marked as going to only in part), else the first listed.
    proposed: str
    #: The new unit's code it goes to: the proposal, or the organiser's choice.
    chosen: str

    @property
    def is_split(self) -> bool:
        return len(self.options) > 1

    def option(self, code: str) -> Option:
        return next(o for o in self.options if o.code == code)


@dataclass(frozen=True)
class Move:
    """A unit under an old commune or district, and where it goes from 1 July 2025: the
    new unit with this official code, or the province when ``to`` is ``None``."""

    unit: OrgUnit
    old_parent: OrgUnit
    to: str | None
    #: The old commune whose choice decides ``to``, when it is a split one.
    split_of: int | None = None


@dataclass
class Reform:
    """What recording the reform would write, and what it found done or could not match."""

    merges: list[Merge] = field(default_factory=list)
    #: Districts to close on :data:`LAST_DAY`.
    closes: list[OrgUnit] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    #: Units of the tree already recorded: old communes merged, districts closed.
    done: list[OrgUnit] = field(default_factory=list)
    #: What could not be matched, said to the organiser; none of it is written.
    unmatched: list[str] = field(default_factory=list)

    @property
    def splits(self) -> list[Merge]:
        return [m for m in self.merges if m.is_split]

    @property
    def closing_ids(self) -> frozenset[int]:
        """The units that cease on :data:`LAST_DAY`: their official codes are free from
        :data:`VALID_FROM`, for the new units that reuse them."""
        return frozenset(m.unit.id for m in self.merges) | {d.id for d in self.closes}

    @property
    def written(self) -> list[OrgUnit]:
        return [
            *(m.unit for m in self.merges),
            *self.closes,
            *(m.unit for m in self.moves),
        ]


@dataclass
class _OldCommune:
    code: str
    name: str
    into: list[tuple[official_units.Unit, bool]] = field(default_factory=list)

    def proposal(self) -> str:
        whole = [unit for unit, partly in self.into if not partly]
        return (whole or [self.into[0][0]])[0].code


@dataclass
class _OldDistrict:
    code: str
    name: str
    communes: dict[str, _OldCommune] = field(default_factory=dict)


def _old_districts(province: official_units.Province) -> dict[str, _OldDistrict]:
    """The province's pre-reform districts and communes, from the list's predecessors."""
    districts: dict[str, _OldDistrict] = {}
    for unit in official_units.units_of(province):
        for old in unit.predecessors:
            district = districts.setdefault(
                old.district_code, _OldDistrict(old.district_code, old.district_name)
            )
            commune = district.communes.setdefault(old.code, _OldCommune(old.code, old.name))
            commune.into.append((unit, old.partly))
    return districts


def find(
    province: official_units.Province,
    root: OrgUnit | None,
    choices: Mapping[int, str] | None = None,
) -> Reform:
    """The reform of ``province`` in the tree under ``root`` (its province unit); nothing
    is written. ``choices`` maps a split old commune's id to the new unit's code chosen for
    it; a code that is not one of its new units is refused."""
    reform = Reform()
    if root is None:
        return reform
    districts = _old_districts(province)
    in_tree = _children([root.id], UnitKind.DISTRICT)
    for unit, old in _pair(in_tree, districts.values(), lambda d: d.code, lambda d: d.name):
        if old is None:
            reform.unmatched.append(
                _(
                    "%(name)s: không có trong danh sách huyện, thị xã, thành phố cũ của "
                    "%(province)s; để nguyên.",
                    name=unit.name,
                    province=province.name,
                )
            )
            continue
        _read_district(reform, unit, old, root, choices or {})
    return reform


def _children(parent_ids: list[int], kind: str | None = None) -> list[OrgUnit]:
    """The units under ``parent_ids`` that still stood on :data:`LAST_DAY`."""
    query = select(OrgUnit).where(
        OrgUnit.parent_id.in_(parent_ids),
        (OrgUnit.valid_from.is_(None)) | (OrgUnit.valid_from <= LAST_DAY),
        (OrgUnit.valid_to.is_(None)) | (OrgUnit.valid_to >= LAST_DAY),
    )
    if kind is not None:
        query = query.where(OrgUnit.kind == kind)
    return sorted(db.session.scalars(query.order_by(OrgUnit.id)), key=lambda u: fold(u.name))


def _pair(
    found: list[OrgUnit],
    listed: Iterable[T],
    code_of: Callable[[T], str],
    name_of: Callable[[T], str],
) -> list[tuple[OrgUnit, T | None]]:
    """Each unit of the tree with the listed item it is, or ``None``: by official code when
    it has one, else by name (whole, then without its kind's word). An item two units of the
    tree would both be is neither's."""
    items = list(listed)
    by_code = {code_of(i): i for i in items}
    by_name: dict[str, list[T]] = {}
    by_bare: dict[str, list[T]] = {}
    for item in items:
        by_name.setdefault(fold(name_of(item)), []).append(item)
        by_bare.setdefault(bare(name_of(item)), []).append(item)
    pairs: list[tuple[OrgUnit, T | None]] = []
    for unit in found:
        match: T | None
        if unit.official_code:
            match = by_code.get(unit.official_code)
        else:
            same = by_name.get(fold(unit.name)) or by_bare.get(bare(unit.name)) or []
            match = same[0] if len(same) == 1 else None
        pairs.append((unit, match))
    taken: dict[int, int] = {}
    for _unit, paired in pairs:
        if paired is not None:
            taken[id(paired)] = taken.get(id(paired), 0) + 1
    return [(u, i if i is not None and taken[id(i)] == 1 else None) for u, i in pairs]


def _read_district(
    reform: Reform,
    district: OrgUnit,
    old: _OldDistrict,
    root: OrgUnit,
    choices: Mapping[int, str],
) -> None:
    below = _children([district.id])
    communes = [u for u in below if u.kind in ADMINISTRATIVE]
    pairs = _pair(communes, old.communes.values(), lambda c: c.code, lambda c: c.name)
    # What hangs under the district's communes, in one query rather than one per commune.
    under: dict[int, list[OrgUnit]] = {}
    for child in _children([u.id for u, c in pairs if c is not None]):
        if child.parent_id is not None:
            under.setdefault(child.parent_id, []).append(child)
    for unit, commune in pairs:
        if commune is None:
            reform.unmatched.append(
                _(
                    "%(name)s (%(district)s): không khớp với đúng một xã, phường, thị trấn cũ "
                    "trong danh mục; để nguyên.",
                    name=unit.name,
                    district=district.name,
                )
            )
        elif unit.merged_into_id is not None:
            reform.done.append(unit)
        elif unit.is_valid_on(LAST_DAY):
            _merge(reform, unit, district, commune, choices, under.get(unit.id, []))
    for unit in below:
        if unit.kind not in ADMINISTRATIVE and unit.is_valid_on(VALID_FROM):
            reform.moves.append(Move(unit, district, None))
    if district.valid_to == LAST_DAY:
        reform.done.append(district)
    else:
        reform.closes.append(district)
    seen = {c.code for _u, c in pairs if c is not None}
    for commune in old.communes.values():
        if commune.code not in seen:
            reform.unmatched.append(
                _(
                    "%(name)s (%(code)s) của %(district)s có trong danh mục nhưng không có "
                    "trong cây đơn vị.",
                    name=commune.name,
                    code=commune.code,
                    district=district.name,
                )
            )


def _merge(
    reform: Reform,
    unit: OrgUnit,
    district: OrgUnit,
    commune: _OldCommune,
    choices: Mapping[int, str],
    children: list[OrgUnit],
) -> None:
    options = tuple(Option(new.code, new.name) for new, _partly in commune.into)
    proposed = commune.proposal()
    chosen = choices.get(unit.id, proposed)
    if chosen not in {o.code for o in options}:
        raise ServiceError(_("Đơn vị nhận %(name)s không hợp lệ.", name=unit.name), field="choices")
    merge = Merge(unit, district, options, proposed, chosen)
    reform.merges.append(merge)
    split_of = unit.id if merge.is_split else None
    for child in children:
        if child.is_valid_on(VALID_FROM):
            reform.moves.append(Move(child, unit, chosen, split_of))


def check_scope(reform: Reform, root: OrgUnit, scope: Scope | None) -> None:
    """Refuses the whole reform, before anything is written, if ``scope`` may not change
    one of its units or add under the province."""
    if scope is None:
        return
    if not scope.can_add_unit(root) or not all(
        scope.can_manage_unit(unit) for unit in reform.written
    ):
        raise Forbidden(_("Bạn không có quyền ghi nhận sắp xếp đơn vị hành chính của tỉnh này."))


def new_unit(code: str) -> OrgUnit:
    """The unit of the list with this official code, in the tree from :data:`VALID_FROM`."""
    query = select(OrgUnit).where(
        OrgUnit.official_code == code,
        (OrgUnit.valid_from.is_(None)) | (OrgUnit.valid_from <= VALID_FROM),
        (OrgUnit.valid_to.is_(None)) | (OrgUnit.valid_to >= VALID_FROM),
    )
    unit = db.session.scalar(query.limit(1))
    if unit is None:
        raise ServiceError(
            _("Chưa có đơn vị mã hành chính %(code)s để sáp nhập vào.", code=code), field="code"
        )
    return unit


@atomic
def close_first(reform: Reform, user: User | None) -> None:
    """Old communes holding an official code cease before the new units are added: the new
    unit may reuse the code (the new Xã Quảng Bình has the old Xã Quảng Lưu's)."""
    for merge in reform.merges:
        if merge.unit.official_code:
            units.deactivate_unit(merge.unit, LAST_DAY, user=user)


@atomic
def record(reform: Reform, root: OrgUnit, user: User | None) -> None:
    """Writes the reform once the new units are in the tree (:func:`official_import.apply`)."""
    targets: dict[str, list[OrgUnit]] = {}
    for merge in reform.merges:
        targets.setdefault(merge.chosen, []).append(merge.unit)
    for code, sources in targets.items():
        units.merge_units(sources, new_unit(code), VALID_FROM, user=user)
    for move in reform.moves:
        if move.to is None:  # under a commune, the merge moved it
            before = audit.snapshot(move.unit)
            units.move_unit(move.unit, root, VALID_FROM)
            audit.record("unit.move", move.unit, user=user, before=before)
    for district in reform.closes:
        units.deactivate_unit(district, LAST_DAY, user=user)
