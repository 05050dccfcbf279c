"""Creating, finding, editing, moving, closing and merging units."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from campaign.extensions import db
from campaign.models import OrgUnit, UnitKind, UnitMove, User
from campaign.services import audit
from campaign.services.errors import Forbidden, NotFound, ServiceError
from campaign.services.kept import lock_stamp
from campaign.services.scope import Scope
from campaign.services.transaction import atomic
from campaign.text import fold, sort_key


def code_is(code: str) -> ColumnElement[bool]:
    """Matches the unit whose code is ``code`` whatever the case of either, as the unique
    index on lower(code) compares them: both sides go through the database's lower()."""
    return func.lower(OrgUnit.code) == func.lower(code.strip())


def by_code(code: str, visible: Callable[[OrgUnit], bool] | None = None) -> OrgUnit:
    """The unit with this code, whatever its case. With ``visible`` (a scope's test), a unit
    the caller may not see is not found either, with the same message as a code nobody
    uses: the answer must not tell whether a code exists outside one's scope."""
    unit = db.session.scalar(select(OrgUnit).where(code_is(code)))
    if unit is None or (visible is not None and not visible(unit)):
        raise NotFound(_("Không có đơn vị mã %(code)r.", code=code), field="code")
    return unit


@atomic
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
    contact_email: str | None = None,
    official_code: str | None = None,
    user: User | None = None,
    scope: Scope | None = None,
) -> OrgUnit:
    """A new unit under ``parent``. ``scope`` is the acting user's, whatever the way in
    (page, API, import): a parent it may not add under is refused before anything is
    written. Without one (the command line, demo and synthetic data) nothing is refused
    for scope; ``user``, or the scope's user, is kept in the audit trail."""
    if scope is not None:
        if not scope.can_add_unit(parent):
            raise Forbidden(
                _("Bạn không có quyền thêm đơn vị trực thuộc đơn vị đã chọn."), field="parent_id"
            )
        user = user or scope.user
    code, name = code.strip(), " ".join(name.split())
    if not code or not name:
        raise ServiceError(
            _("Mã và tên đơn vị không được để trống."), field="code" if not code else "name"
        )
    if kind not in UnitKind.__members__.values():
        raise ServiceError(_("Loại đơn vị không hợp lệ: %(kind)r.", kind=kind), field="kind")
    if valid_from and valid_to and valid_from > valid_to:
        raise ServiceError(_("Ngày bắt đầu hiệu lực phải trước ngày kết thúc."), field="valid_to")
    _check_code(code)
    official_code = check_official_code(official_code, valid_from, valid_to)
    contact_email = check_email(contact_email)
    unit = OrgUnit(
        code=code,
        name=name,
        kind=kind,
        official_code=official_code,
        parent=parent,
        valid_from=valid_from,
        valid_to=valid_to,
        contact_name=contact_name or None,
        contact_phone=contact_phone or None,
        contact_email=contact_email,
    )
    db.session.add(unit)
    _flush_code(code)
    audit.record("unit.create", unit, user=user)
    return unit


#: An address a mail server takes as it is: ASCII, one "@", a domain with a dot. Wider
#: forms (quoted local parts, Unicode) would need SMTPUTF8, which many servers lack.
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)


def check_email(email: str | None) -> str | None:
    """A unit's contact e-mail as stored: trimmed, ``None`` when empty; refused unless it
    reads as an address."""
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise ServiceError(
            _("Địa chỉ e-mail không hợp lệ; ghi dạng ten@vidu.vn."), field="contact_email"
        )
    return email


def _check_code(code: str, unit: OrgUnit | None = None) -> str:
    code = code.strip()
    if not code:
        raise ServiceError(_("Mã và tên đơn vị không được để trống."), field="code")
    clash = select(OrgUnit.code).where(code_is(code))
    if unit is not None and unit.id is not None:
        clash = clash.where(OrgUnit.id != unit.id)
    taken = db.session.scalar(clash)
    if taken == code:
        raise ServiceError(_("Mã đơn vị %(code)s đã được dùng.", code=code), field="code")
    if taken is not None:
        # The unit may be outside the user's scope: say why, never which unit it is.
        raise ServiceError(
            _(
                "Mã đơn vị %(code)s đã được dùng: mã đơn vị không phân biệt chữ hoa, chữ thường.",
                code=code,
            ),
            field="code",
        )
    return code


def check_official_code(
    official_code: str | None,
    valid_from: date | None,
    valid_to: date | None,
    unit: OrgUnit | None = None,
) -> str | None:
    """The official code, stripped (``None`` when empty), if no other unit valid on a day
    between ``valid_from`` and ``valid_to`` has it. Codes are reused across reforms (the new
    Xã Quảng Bình has the old Xã Quảng Lưu's), so a code is unique only day by day."""
    official_code = (official_code or "").strip() or None
    if official_code is None:
        return None
    if len(official_code) > 16 or not official_code.isprintable():
        raise ServiceError(
            _("Mã đơn vị hành chính không hợp lệ (tối đa 16 ký tự)."), field="official_code"
        )
    _lock_official_code(official_code)
    if official_code_taken(official_code, valid_from, valid_to, unit):
        # The other unit may be outside the user's scope: say why, never which unit it is.
        raise ServiceError(
            _(
                "Mã đơn vị hành chính %(code)s đã được dùng cho một đơn vị khác có hiệu lực "
                "trong cùng thời gian.",
                code=official_code,
            ),
            field="official_code",
        )
    return official_code


def _lock_official_code(official_code: str) -> None:
    """Two people giving one code at the same moment would both find it free: no index can
    refuse the second, as a code is unique only day by day. On PostgreSQL the check waits
    for a lock on the code, held until the first one's transaction ends, and then sees its
    unit. SQLite's writers already take turns (BEGIN IMMEDIATE)."""
    if db.session.get_bind().dialect.name == "postgresql":
        lock_stamp()  # first, as a transaction writing units takes it before this lock
        key = func.hashtext("org_unit.official_code:" + official_code)
        db.session.execute(select(func.pg_advisory_xact_lock(key)))


def official_code_taken(
    official_code: str,
    valid_from: date | None,
    valid_to: date | None,
    unit: OrgUnit | None = None,
    spared: Collection[int] = (),
) -> bool:
    """Whether a unit other than ``unit`` has this official code on a day of the period
    (an empty bound is no bound). The units ``spared`` (ids) are not counted: they are about
    to cease before the period, as the communes merged by a reform."""
    query = select(OrgUnit.id).where(OrgUnit.official_code == official_code)
    if unit is not None and unit.id is not None:
        query = query.where(OrgUnit.id != unit.id)
    if spared:
        query = query.where(OrgUnit.id.not_in(spared))
    if valid_to is not None:
        query = query.where((OrgUnit.valid_from.is_(None)) | (OrgUnit.valid_from <= valid_to))
    if valid_from is not None:
        query = query.where((OrgUnit.valid_to.is_(None)) | (OrgUnit.valid_to >= valid_from))
    return db.session.scalar(query.limit(1)) is not None


def _flush_code(code: str) -> None:
    """Two people taking one code at the same moment both pass :func:`_check_code`; the
    unique index refuses the second, which gets the message rather than an error page."""
    try:
        db.session.flush()
    except IntegrityError as error:
        if not any(name in str(error.orig) for name in ("org_unit_code", "org_unit.code")):
            raise
        message = _("Mã đơn vị %(code)s đã được dùng.", code=code)
        raise ServiceError(message, field="code") from error


def _check_parent(unit: OrgUnit, parent: OrgUnit | None) -> None:
    """A unit cannot hang under itself or under any unit below it."""
    ancestor = parent
    while ancestor is not None:
        if ancestor.id == unit.id:
            raise ServiceError(
                _("Không thể chuyển đơn vị vào chính nó hoặc đơn vị cấp dưới của nó."),
                field="parent_id",
            )
        ancestor = ancestor.parent


@atomic
def move_unit(unit: OrgUnit, parent: OrgUnit | None, moved_on: date) -> None:
    """Puts ``unit`` (with its subtree) under ``parent`` from ``moved_on``, keeping where it
    hung before so that plans issued earlier still read it there.

    Moves of one unit are kept in order of their days, so the parent on any past day can
    be read back: a move cannot be dated before the unit's latest one."""
    _check_parent(unit, parent)
    moves = select(func.max(UnitMove.moved_on)).where(UnitMove.unit_id == unit.id)
    latest = db.session.scalar(moves)
    if latest is not None and moved_on < latest:
        raise ServiceError(
            _(
                "Ngày chuyển phải từ %(day)s trở đi: đơn vị đã được chuyển vào ngày đó.",
                day=f"{latest:%d/%m/%Y}",
            ),
            field="moved_on",
        )
    db.session.add(
        UnitMove(
            unit_id=unit.id,
            from_parent_id=unit.parent_id,
            to_parent_id=parent.id if parent else None,
            moved_on=moved_on,
        )
    )
    unit.parent = parent


@atomic
def update_unit(
    unit: OrgUnit,
    *,
    code: str,
    name: str,
    kind: str,
    parent: OrgUnit | None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    contact_email: str | None = None,
    official_code: str | None = None,
    moved_on: date | None = None,
    user: User | None = None,
) -> OrgUnit:
    """Edits a unit; a new parent moves it with its whole subtree from ``moved_on``
    (default today): plans issued before that day still count it under the old one."""
    name = " ".join(name.split())
    if not name:
        raise ServiceError(_("Mã và tên đơn vị không được để trống."), field="name")
    if kind not in UnitKind.__members__.values():
        raise ServiceError(_("Loại đơn vị không hợp lệ: %(kind)r.", kind=kind), field="kind")
    if valid_from and valid_to and valid_from > valid_to:
        raise ServiceError(_("Ngày bắt đầu hiệu lực phải trước ngày kết thúc."), field="valid_to")
    code = _check_code(code, unit)
    # First, before the unit's row: an edit of its contact only takes no step of the stamp,
    # and a transaction holding the row that went on to a stamped write would wait for the
    # stamp while its holder waited for the row (migration stamps_for_what_counts).
    lock_stamp()
    official_code = check_official_code(official_code, valid_from, valid_to, unit)
    contact_email = check_email(contact_email)
    before = audit.snapshot(unit)
    if unit.parent_id != (parent.id if parent else None):
        move_unit(unit, parent, moved_on or date.today())
    unit.code, unit.name, unit.kind = code, name, kind
    unit.official_code = official_code
    unit.valid_from, unit.valid_to = valid_from, valid_to
    unit.contact_name, unit.contact_phone = contact_name or None, contact_phone or None
    unit.contact_email = contact_email
    _flush_code(code)
    action = "unit.move" if before["parent_id"] != (parent.id if parent else None) else "unit.edit"
    audit.record(action, unit, user=user, before=before)
    return unit


@atomic
def deactivate_unit(unit: OrgUnit, last_day: date, *, user: User | None = None) -> OrgUnit:
    """The unit ceases after ``last_day``; it stays, with its history, for earlier plans."""
    if unit.valid_from and last_day < unit.valid_from:
        raise ServiceError(_("Ngày bắt đầu hiệu lực phải trước ngày kết thúc."), field="last_day")
    if unit.valid_to is not None and last_day > unit.valid_to:  # a longer life may clash
        check_official_code(unit.official_code, unit.valid_from, last_day, unit)
    before = audit.snapshot(unit)
    unit.valid_to = last_day
    audit.record("unit.deactivate", unit, user=user, before=before)
    return unit


@atomic
def merge_units(
    sources: Sequence[OrgUnit], target: OrgUnit, starts_on: date, *, user: User | None = None
) -> list[OrgUnit]:
    """Merges ``sources`` into ``target`` from ``starts_on`` (the 2025 commune mergers).

    The old units stay, valid up to the day before, with ``merged_into`` set, so
    earlier plans keep their names and their figures. Their children still valid on
    ``starts_on`` move under ``target`` from that day (plans issued before it still count
    them under the old unit) and are returned, for the organiser to see.
    """
    if not sources:
        raise ServiceError(_("Chọn ít nhất một đơn vị để sáp nhập."), field="sources")
    last_day = starts_on - timedelta(days=1)
    for source in sources:
        if source.id == target.id:
            raise ServiceError(
                _("Đơn vị nhận sáp nhập không được nằm trong các đơn vị bị sáp nhập."),
                field="target_id",
            )
        _check_parent(source, target)  # a source above the target would cease over it
        if not source.is_valid_on(last_day):
            raise ServiceError(
                _(
                    "%(name)s không còn hiệu lực vào ngày %(day)s.",
                    name=source.name,
                    day=last_day.strftime("%d/%m/%Y"),
                ),
                field="sources",
            )
    if not target.is_valid_on(starts_on):
        raise ServiceError(
            _("Đơn vị nhận sáp nhập phải còn hiệu lực từ ngày sáp nhập."), field="target_id"
        )
    for source in sources:
        before = audit.snapshot(source)
        source.valid_to, source.merged_into = last_day, target
        audit.record("unit.merge", source, user=user, before=before)
    ids = {s.id for s in sources}
    children = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id.in_(ids))).all()
    moved = [c for c in children if c.is_valid_on(starts_on)]
    for child in moved:
        before = audit.snapshot(child)
        move_unit(child, target, starts_on)
        audit.record("unit.move", child, user=user, before=before)
    return moved


def in_ids(ids: Select[tuple[int]]) -> list[OrgUnit]:
    """The units with these ids, in reading order (one query)."""
    query = select(OrgUnit).where(OrgUnit.id.in_(ids)).options(joinedload(OrgUnit.merged_into))
    found = db.session.scalars(query).all()
    return sorted(found, key=lambda u: sort_key(u.name))


@dataclass(frozen=True)
class TreeRow:
    unit: OrgUnit
    depth: int
    #: The names from the top of the list down to the unit's parent, for search results.
    path: tuple[str, ...]


def tree_rows(units: Sequence[OrgUnit], query: str = "") -> list[TreeRow]:
    """The units as an indented list, parents first; with ``query``, only the units whose
    name or code matches it without regard to accents ("quang binh" finds "Quảng Bình")."""
    by_id = {u.id: u for u in units}
    children: dict[int | None, list[OrgUnit]] = {}
    for u in units:
        children.setdefault(u.parent_id if u.parent_id in by_id else None, []).append(u)
    needle = fold(query)
    rows: list[TreeRow] = []
    stack: list[tuple[OrgUnit, int, tuple[str, ...]]] = [
        (u, 0, ()) for u in reversed(children.get(None, []))
    ]
    while stack:
        unit, depth, path = stack.pop()
        if not needle or needle in fold(unit.name) or needle in fold(unit.code):
            rows.append(TreeRow(unit, depth, path))
        below = children.get(unit.id, [])
        stack.extend((c, depth + 1, (*path, unit.name)) for c in reversed(below))
    return rows
