"""Imports of units, quotas and results: read a workbook, preview every change, apply it whole.

Nothing is written while previewing. Applying re-reads the file against the
database as it is then, and refuses the whole file if any row has a problem.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Generic, NamedTuple, TypeVar

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from campaign import labels
from campaign.extensions import db
from campaign.formatting import number
from campaign.memory import bulk_reading
from campaign.models import (
    Drive,
    ImportKind,
    OrgUnit,
    Plan,
    ResultState,
    UnitKind,
    User,
)
from campaign.numbers import MAX_COUNT
from campaign.rates import CountingRule
from campaign.services import plans, results, units
from campaign.services.errors import ServiceError
from campaign.services.scope import Scope
from campaign.services.summary import unit_and_descendants
from campaign.services.transaction import atomic
from campaign.spreadsheets.isolated import DEFAULT_MEMORY_LIMIT, Reading
from campaign.spreadsheets.reading import (
    Column,
    NotANumber,
    SheetError,
    Table,
    TooLarge,
    check_xlsx,
    whole_number,
)
from campaign.text import fold

T = TypeVar("T")
U = TypeVar("U", OrgUnit, "UnitRef")
Progress = Callable[[list[T]], Iterable[T]]

FILE_ERRORS = {
    "empty": _l("Tệp rỗng."),
    "encrypted": _l(
        "Tệp được đặt mật khẩu hoặc là định dạng .xls cũ. Hãy mở tệp, bỏ mật khẩu và lưu lại "
        "dưới dạng .xlsx."
    ),
    "not_xlsx": _l("Tệp không phải bảng tính Excel .xlsx."),
    "corrupt": _l("Tệp .xlsx bị hỏng, không đọc được."),
    "bomb": _l("Tệp bị từ chối: nội dung giải nén quá lớn so với kích thước tệp."),
    "no_header": _l(
        "Không tìm thấy dòng tiêu đề có các cột %(columns)s trong 20 dòng đầu của các trang tính."
    ),
    "too_many_rows": _l(
        "Tệp có dữ liệu đến dòng %(found)s; mỗi trang tính chỉ được đọc tối đa %(limit)s dòng. "
        "Hãy xóa các dòng thừa hoặc chia thành nhiều tệp."
    ),
    "too_many_columns": _l(
        "Tệp có dữ liệu đến cột thứ %(found)s; mỗi trang tính chỉ được đọc tối đa %(limit)s cột. "
        "Hãy xóa các cột thừa."
    ),
    "too_many_sheets": _l("Tệp có %(found)s trang tính; tối đa %(limit)s trang tính."),
    "too_many_parts": _l(
        "Tệp có %(found)s thành phần nén bên trong; một bảng tính .xlsx được nhận tối đa %(limit)s."
    ),
    "too_costly": _l(
        "Tệp cần quá nhiều bộ nhớ hoặc thời gian để đọc nên bị từ chối. Hãy chép dữ liệu sang "
        "một tệp mới chỉ gồm bảng cần nhập."
    ),
}

CODE = Column("code", ("Mã đơn vị", "Mã", "Mã ĐV"))
NAME = Column("name", ("Tên đơn vị", "Đơn vị", "Tên"))
UNIT_COLUMNS = (
    Column("code", CODE.labels, required=True),
    Column("name", NAME.labels, required=True),
    Column("kind", ("Loại đơn vị", "Loại")),
    Column("parent", ("Mã đơn vị cấp trên", "Đơn vị cấp trên", "Cấp trên", "Trực thuộc")),
    Column("contact_name", ("Người liên hệ", "Người phụ trách")),
    Column("contact_phone", ("Điện thoại", "Số điện thoại", "SĐT")),
    Column("contact_email", ("E-mail", "Email", "Thư điện tử")),
    Column("official_code", ("Mã đơn vị hành chính", "Mã ĐVHC", "Mã hành chính")),
)
QUOTA_COLUMNS = (
    CODE,
    NAME,
    Column("amount", ("Chỉ tiêu", "Chỉ tiêu giao"), required=True),
    Column("headcount", ("Quân số", "Số người", "Số lượng người", "Headcount")),
)
RESULT_COLUMNS = (
    CODE,
    NAME,
    Column("registered", ("Đăng ký", "Số đăng ký", "Số người đăng ký")),
    Column("deferred", ("Không đủ điều kiện", "Không đủ ĐK", "Hoãn", "Hoãn hiến")),
    Column("bags_250", ("250 ml", "Túi 250 ml", "Loại 250 ml", "250ml")),
    Column("bags_350", ("350 ml", "Túi 350 ml", "Loại 350 ml", "350ml")),
    Column("bags_450", ("450 ml", "Túi 450 ml", "Loại 450 ml", "450ml")),
    Column("donations", ("Hiến thành công", "Số người hiến", "Số hiến", "Đủ điều kiện")),
    Column(
        "repeat_donors",
        ("Hiến nhắc lại", "Số người hiến nhắc lại", "Hiến lặp lại", "Nhắc lại", "Repeat donors"),
    ),
)
BAG_COLUMNS = ("bags_250", "bags_350", "bags_450")
#: Problems listed for one file: a file with more is as refused, and a page of 100.000
#: problems helps no one. The preview shows as many changes.
MAX_PROBLEMS = 1000


class ChangeKind(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    row: int
    unit: str
    kind: ChangeKind
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Problem:
    #: The row as the spreadsheet numbers it; ``None`` for the file as a whole.
    row: int | None
    message: str


@dataclass
class Preview:
    kind: ImportKind
    changes: list[Change] = field(default_factory=list)
    #: The first :data:`MAX_PROBLEMS` problems; ``problem_count`` counts them all.
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    #: What applying does, one step per new or changed row.
    steps: list[Callable[[User | None], object]] = field(default_factory=list)

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, row: int | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(row, message))

    @property
    def unlisted_problems(self) -> int:
        return self.problem_count - len(self.problems)

    def fingerprint(self) -> str:
        """Changes the moment what applying would do changes, e.g. after someone else's edit."""
        shown = [(c.row, c.unit, c.kind.value, c.before, c.after) for c in self.changes]
        return hashlib.sha256(repr(shown).encode()).hexdigest()


def file_problem(data: bytes) -> str | None:
    """Why ``data`` is not an .xlsx workbook that may be opened, or ``None``."""
    try:
        check_xlsx(data)
    except SheetError as error:
        return file_message(error)
    return None


def file_message(error: SheetError) -> str:
    """Why a file is refused as a whole, numbers written the Vietnamese way."""
    params = {k: number(v) if isinstance(v, int) else v for k, v in error.params.items()}
    return str(FILE_ERRORS[error.code]) % params


@bulk_reading()
@atomic
def apply(preview: Preview, user: User | None = None) -> int:
    """All or nothing: a preview with any problem changes nothing. Returns rows written."""
    if not preview.ok:
        raise ServiceError(
            _("Tệp còn %(count)d lỗi; chưa có gì được lưu.", count=preview.problem_count)
        )
    for step in preview.steps:
        step(user)
    db.session.flush()
    return preview.count(ChangeKind.NEW) + preview.count(ChangeKind.CHANGED)


def _no_progress(rows: list[T]) -> Iterable[T]:
    return rows


def _read(
    data: bytes,
    columns: tuple[Column, ...],
    kind: ImportKind,
    meanwhile: Callable[[], T] | None = None,
) -> tuple[Preview, Any, T | None]:
    """The file's table (``None`` when it is refused, with the problem in the preview), and
    what ``meanwhile`` reads from the database while a child process reads the file."""
    preview = Preview(kind)
    limit = current_app.config.get("IMPORT_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    reading = Reading(data, columns, memory_limit=limit)
    during = None
    table: Table | None
    try:
        during = meanwhile() if meanwhile is not None else None
    finally:  # the child is always waited for
        try:
            table = reading.table()
        except SheetError as error:
            preview.problem(None, file_message(error))
            table = None
    return preview, table, during


class UnitRef(NamedTuple):
    """What matching a row needs of a unit; far lighter than an :class:`OrgUnit` when a
    file names 100.000 of them. ``allowed`` callables only read its ``id``."""

    id: int
    code: str
    name: str


def _refs_in_subtree(root_id: int) -> list[UnitRef]:
    query = select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
        OrgUnit.id.in_(unit_and_descendants(root_id))
    )
    return [UnitRef(*row) for row in db.session.execute(query)]


@dataclass(frozen=True)
class NoMatch:
    """Why a row's unit was not found, said to the importer."""

    message: str


class UnitMatcher(Generic[U]):
    """Finds a file's unit by code, else by name ignoring accents, case and spacing."""

    def __init__(self, candidates: Iterable[U]) -> None:
        self.candidates: list[U] = list(candidates)
        self.by_code: dict[str, U] = {unit.code.casefold(): unit for unit in self.candidates}
        self._by_name: dict[str, list[U]] | None = None

    @property
    def by_name(self) -> dict[str, list[U]]:
        """Built on the first row without a known code: a file of codes never folds a name."""
        if self._by_name is None:
            self._by_name = {}
            for unit in self.candidates:
                self._by_name.setdefault(fold(unit.name), []).append(unit)
        return self._by_name

    def find(self, code: Any, name: Any) -> U | NoMatch:
        """The unit, or why none was found."""
        if code is not None:
            unit = self.by_code.get(str(code).strip().casefold())
            if unit is not None:
                return unit
        if name is not None:
            matches = self.by_name.get(fold(str(name)), [])
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                return NoMatch(_("Có nhiều đơn vị tên %(name)s; hãy ghi mã đơn vị.", name=name))
        shown = name if name is not None else code
        if shown is None:
            return NoMatch(_("Thiếu mã và tên đơn vị."))
        suggestions = self.suggest(str(shown))
        if suggestions:
            return NoMatch(
                _(
                    "Không tìm thấy đơn vị %(unit)s. Có phải: %(suggestions)s?",
                    unit=shown,
                    suggestions=", ".join(suggestions),
                )
            )
        return NoMatch(_("Không tìm thấy đơn vị %(unit)s.", unit=shown))

    def suggest(self, text: str) -> list[str]:
        close = difflib.get_close_matches(fold(text), list(self.by_name), n=3, cutoff=0.6)
        return [self.by_name[key][0].name for key in close]


def _only(units: Iterable[U], visible: Callable[[Any], bool] | None) -> Iterable[U]:
    """The units the importer may see: a unit outside their scope is never matched, named
    or suggested, so a row naming one reads as a unit that does not exist."""
    return units if visible is None else (u for u in units if visible(u))


def _count(values: dict[str, Any], name: str, row: int, preview: Preview) -> int | None:
    value = values.get(name)
    if type(value) is float and 0 <= value <= MAX_COUNT and value.is_integer():
        return int(value)  # a workbook's number, as nearly every cell is: no more to check
    try:
        value = whole_number(value)
    except TooLarge:
        preview.problem(
            row,
            _(
                "Cột %(column)s: %(value)s lớn quá; tối đa %(max)s.",
                column=name,
                value=values.get(name),
                max=number(MAX_COUNT),
            ),
        )
        return None
    except NotANumber:
        value = -1
    if value is not None and value < 0:
        preview.problem(
            row,
            _(
                "Cột %(column)s: %(value)s không phải số nguyên không âm.",
                column=name,
                value=values.get(name),
            ),
        )
        return None
    return value


def _in_subtree(root_id: int) -> list[OrgUnit]:
    return list(
        db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(unit_and_descendants(root_id))))
    )


# --- quotas -------------------------------------------------------------------


@bulk_reading()
def preview_quotas(
    data: bytes,
    plan: Plan,
    allowed: Callable[[OrgUnit], bool] | None = None,
    progress: Progress = _no_progress,
    visible: Callable[[OrgUnit], bool] | None = None,
) -> Preview:
    preview, table, known = _read(
        data,
        QUOTA_COLUMNS,
        ImportKind.QUOTAS,
        lambda: (_refs_in_subtree(plan.issuer_id), plans.quotas_and_headcounts(plan)),
    )
    if table is None or known is None or _closed(plan, preview):
        return preview
    subtree, (stored, stored_heads) = known
    refs = (u for u in subtree if u.id != plan.issuer_id)
    matcher = UnitMatcher(_only(refs, visible))
    # Without the column, headcounts stay as they are; with it, an empty cell clears one.
    has_heads = "headcount" in table.columns
    seen: dict[int, int] = {}
    amounts: dict[int, int] = {}
    headcounts: dict[int, int | None] = {}
    texts = _QuotaTexts()
    for row, values in progress(table.rows):
        before = preview.problem_count
        amount = _count(values, "amount", row, preview)
        headcount = _count(values, "headcount", row, preview) if has_heads else None
        unit = _row_unit(matcher, values, row, allowed, seen, preview)
        if unit is None or preview.problem_count > before:
            continue
        if amount is None:
            continue  # a template row left blank
        old_head = stored_heads.get(unit.id)
        new_head = headcount if has_heads else old_head
        was = (stored[unit.id], old_head) if unit.id in stored else None
        kind = _change(was, (amount, new_head))
        shown = (texts(*was) if was else "", texts(amount, new_head))
        preview.changes.append(Change(row, unit.name, kind, *shown))
        if kind != ChangeKind.UNCHANGED:
            amounts[unit.id] = amount
            if has_heads:
                headcounts[unit.id] = headcount
    if amounts:
        preview.steps.append(
            lambda user: plans.set_quotas(
                plan, amounts, headcounts=headcounts, user=user, one_entry=True
            )
        )
    return preview


class _QuotaTexts:
    """A quota as the preview shows it; translated once, not once per row."""

    def __init__(self) -> None:
        self.pattern = _("%(amount)d (quân số %(headcount)d)")

    def __call__(self, amount: int, headcount: int | None) -> str:
        if headcount is None:
            return str(amount)
        return self.pattern % {"amount": amount, "headcount": headcount}


def _row_unit(
    matcher: UnitMatcher[UnitRef],
    values: dict[str, Any],
    row: int,
    allowed: Callable[[OrgUnit], bool] | None,
    seen: dict[int, int],
    preview: Preview,
) -> UnitRef | None:
    """The row's unit, if it is found, the importer may write for it and no row before named it."""
    unit = matcher.find(values.get("code"), values.get("name"))
    if isinstance(unit, NoMatch):
        preview.problem(row, unit.message)
        return None
    if not _allowed(unit, allowed, row, preview) or _repeated(unit, row, seen, preview):
        return None
    return unit


def _closed(plan: Plan, preview: Preview) -> bool:
    """A closed plan shows as a problem before confirming, not as a refusal after."""
    try:
        plans.check_open(plan)
    except ServiceError as error:
        preview.problem(None, error.message)
        return True
    return False


def _allowed(
    unit: Any, allowed: Callable[[OrgUnit], bool] | None, row: int, preview: Preview
) -> bool:
    if allowed is None or allowed(unit):
        return True
    preview.problem(row, _("Bạn không có quyền nhập số liệu cho đơn vị %(name)s.", name=unit.name))
    return False


def _repeated(unit: Any, row: int, seen: dict[int, int], preview: Preview) -> bool:
    if unit.id in seen:
        preview.problem(
            row,
            _("Đơn vị %(name)s đã có ở dòng %(row)d.", name=unit.name, row=seen[unit.id]),
        )
        return True
    seen[unit.id] = row
    return False


def _change(before: Any, after: Any) -> ChangeKind:
    if before is None:
        return ChangeKind.NEW
    return ChangeKind.UNCHANGED if before == after else ChangeKind.CHANGED


def _str(value: Any) -> str:
    return "" if value is None else str(value)


# --- results ------------------------------------------------------------------


@bulk_reading()
def preview_results(
    data: bytes,
    drive: Drive,
    allowed: Callable[[OrgUnit], bool] | None = None,
    progress: Progress = _no_progress,
    visible: Callable[[OrgUnit], bool] | None = None,
) -> Preview:
    plan = drive.plan
    preview, table, known = _read(
        data,
        RESULT_COLUMNS,
        ImportKind.RESULTS,
        lambda: (_refs_in_subtree(plan.issuer_id), results.stored_by_unit(drive)),
    )
    if table is None or known is None or _closed(plan, preview):
        return preview
    subtree, existing = known
    has_bags = any(c in table.columns for c in BAG_COLUMNS)
    if not has_bags and "donations" not in table.columns:
        preview.problem(None, _("Không tìm thấy cột số túi máu 250/350/450 ml."))
        return preview
    if not has_bags and plan.rule != CountingRule.BAG:
        preview.problem(
            None,
            _(
                "Kế hoạch này tính đơn vị máu quy đổi 250 ml, nên cần số túi theo từng loại "
                "250, 350 và 450 ml; tệp chỉ có một cột số người hiến."
            ),
        )
        return preview
    matcher = UnitMatcher(_only(subtree, visible))
    seen: dict[int, int] = {}
    writes: list[tuple[int, results.Counts, int | None]] = []
    texts = _ResultTexts()
    has_repeat = "repeat_donors" in table.columns
    for row, values in progress(table.rows):
        counts = _result_counts(values, has_bags, row, preview)
        unit = _row_unit(matcher, values, row, allowed, seen, preview)
        if unit is None or counts is None:
            continue
        current = existing.get(unit.id)
        if not has_repeat and current is not None:
            # A file without the column leaves the repeat donors a unit reported as they are.
            counts = replace(counts, repeat_donors=current.repeat_donors)
        try:
            counts.check()  # the rule every way in applies, with the same message
        except ServiceError as error:
            preview.problem(row, error.message)
            continue
        _result_change(preview, row, unit, counts, current, writes, texts)
    if writes:
        preview.steps.append(
            lambda user: results.save_many(drive, writes, user=user, one_entry=True)
        )
    return preview


def _result_counts(
    values: dict[str, Any], has_bags: bool, row: int, preview: Preview
) -> results.Counts | None:
    before = preview.problem_count
    names = [*BAG_COLUMNS] if has_bags else ["donations"]
    numbers = {name: _count(values, name, row, preview) or 0 for name in names}
    deferred = _count(values, "deferred", row, preview) or 0
    registered = _count(values, "registered", row, preview)
    repeat = _count(values, "repeat_donors", row, preview)
    if preview.problem_count > before:
        return None
    if not has_bags:
        # Counted per bag, the size does not change the units: keep them as 250 ml bags.
        numbers = {"bags_250": numbers["donations"]}
    donors = sum(numbers.values())
    if registered is None:
        registered = donors + deferred
    return results.Counts(registered=registered, deferred=deferred, **numbers, repeat_donors=repeat)


class _ResultTexts:
    """A row's figures as the preview shows them; translated once, not once per row."""

    def __init__(self) -> None:
        self.pattern = _(
            "ĐK %(registered)d, hoãn %(deferred)d, túi 250/350/450: %(b250)d/%(b350)d/%(b450)d"
        )
        self.repeat = _(", nhắc lại %(repeat)d")

    def __call__(self, counts: results.Counts) -> str:
        text = self.pattern % {
            "registered": counts.registered,
            "deferred": counts.deferred,
            "b250": counts.bags_250,
            "b350": counts.bags_350,
            "b450": counts.bags_450,
        }
        if counts.repeat_donors is not None:
            text += self.repeat % {"repeat": counts.repeat_donors}
        return text


def _result_change(
    preview: Preview,
    row: int,
    unit: UnitRef,
    counts: results.Counts,
    current: Any,
    writes: list[tuple[int, results.Counts, int | None]],
    texts: _ResultTexts,
) -> None:
    before = None
    if current is not None:
        before = results.Counts(*(getattr(current, name) for name in results.COUNT_FIELDS))
    kind = _change(before, counts)
    if kind == ChangeKind.CHANGED and current.state == ResultState.APPROVED:
        preview.problem(
            row,
            _("Báo cáo của %(name)s đã được duyệt; cần mở lại trước khi nhập.", name=unit.name),
        )
        return
    preview.changes.append(
        Change(row, unit.name, kind, texts(before) if before else "", texts(counts))
    )
    if kind != ChangeKind.UNCHANGED:
        writes.append((unit.id, counts, current.version if current is not None else None))


# --- units --------------------------------------------------------------------


@bulk_reading()
def preview_units(
    data: bytes,
    root: OrgUnit,
    allowed: Callable[[OrgUnit], bool] | None = None,
    progress: Progress = _no_progress,
    visible: Callable[[OrgUnit], bool] | None = None,
) -> Preview:
    """Units of a file go under ``root``, or under the unit its "cấp trên" column names."""
    preview, table, _nothing = _read(data, UNIT_COLUMNS, ImportKind.UNITS)
    if table is None:
        return preview
    tree = _in_subtree(root.id)
    matcher = UnitMatcher(_only(tree, visible))
    existing = {u.code.casefold(): u for u in db.session.scalars(select(OrgUnit))}
    kinds = _kind_names()
    new_codes: dict[str, tuple[int, str]] = {}
    official_codes: dict[str, int] = {}
    #: Without the column, a unit keeps its official code; with it, an empty cell clears it.
    has_official = "official_code" in table.columns
    #: The same for the contact e-mail.
    has_email = "contact_email" in table.columns
    created: dict[str, OrgUnit] = {}
    scopes: dict[int, Scope] = {}
    for row, values in progress(table.rows):
        code, name = values.get("code"), values.get("name")
        if code is None or name is None:
            preview.problem(row, _("Thiếu mã hoặc tên đơn vị."))
            continue
        code, name = str(code).strip(), " ".join(str(name).split())
        kind = _unit_kind(values.get("kind"), kinds, row, preview)
        if kind is None:
            continue
        parent_ref = values.get("parent")
        parent_code = _parent_code(parent_ref, matcher, new_codes, root, row, preview)
        if parent_code is None:
            continue
        if code.casefold() in new_codes:
            preview.problem(
                row,
                _(
                    "Mã %(code)s đã có ở dòng %(row)d.",
                    code=code,
                    row=new_codes[code.casefold()][0],
                ),
            )
            continue
        new_codes[code.casefold()] = (row, code)
        current = existing.get(code.casefold())
        official = _official_code(values.get("official_code"), kind) if has_official else None
        if not has_official and current is not None:
            official = current.official_code
        if official is not None and not _official_code_free(
            official, row, current, official_codes, preview
        ):
            continue
        email = _text(values.get("contact_email")) if has_email else None
        if not has_email and current is not None:
            email = current.contact_email
        try:
            email = units.check_email(email)
        except ServiceError as error:
            preview.problem(row, error.message)
            continue
        spec = {
            "code": code,
            "name": name,
            "kind": kind,
            "contact_name": _text(values.get("contact_name")),
            "contact_phone": _text(values.get("contact_phone")),
            "contact_email": email,
            "official_code": official,
        }
        if current is not None and visible is not None and not visible(current):
            # Codes are unique across every district, but which unit holds it is not ours to say.
            preview.problem(
                row,
                _(
                    "Mã đơn vị %(code)s đã được dùng cho một đơn vị không thuộc phạm vi của bạn; "
                    "hãy dùng mã khác.",
                    code=code,
                ),
            )
        elif current is not None:
            _unit_update(preview, row, current, spec, parent_code, existing, allowed)
        else:
            preview.changes.append(Change(row, name, ChangeKind.NEW, "", _unit_text(spec)))
            preview.steps.append(_create_step(spec, parent_code, existing, created, scopes))
    return preview


def _official_code_free(
    official: str,
    row: int,
    unit: OrgUnit | None,
    seen: dict[str, int],
    preview: Preview,
) -> bool:
    """Whether a row may give ``unit`` (``None``: a new one, valid for ever) this official
    code: no earlier row gives it, and no other unit valid on a same day has it."""
    if official in seen:
        preview.problem(
            row,
            _(
                "Mã đơn vị hành chính %(code)s đã có ở dòng %(row)d.",
                code=official,
                row=seen[official],
            ),
        )
        return False
    seen[official] = row
    try:
        if unit is None:
            units.check_official_code(official, None, None)
        else:
            units.check_official_code(official, unit.valid_from, unit.valid_to, unit)
    except ServiceError as error:
        preview.problem(row, error.message)
        return False
    return True


#: Digits of the statistics office's codes by kind: a workbook that stores "00004" as a
#: number gives 4, which reads back as the code it was.
OFFICIAL_CODE_DIGITS = {
    "province": 2,
    "district": 3,
    "commune": 5,
    "ward": 5,
    "town": 5,
    "special_zone": 5,
}


def _official_code(value: Any, kind: str) -> str | None:
    if isinstance(value, float) and value.is_integer() and 0 <= value < 10**16:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value).zfill(OFFICIAL_CODE_DIGITS.get(kind, 0))
    return _text(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip() or None


def _kind_names() -> dict[str, str]:
    names = {fold(str(label)): code for code, label in labels.UNIT_KIND.items()}
    names.update({code: code for code in UnitKind.__members__.values()})
    names.update({"xa": "commune", "thi tran": "town", "phuong": "ward", "truong": "school"})
    return names


def _unit_kind(value: Any, kinds: dict[str, str], row: int, preview: Preview) -> str | None:
    if value is None:
        return UnitKind.OTHER.value
    kind = kinds.get(fold(str(value)))
    if kind is None:
        preview.problem(row, _("Loại đơn vị không hợp lệ: %(kind)s.", kind=value))
    return kind


def _parent_code(
    ref: Any,
    matcher: UnitMatcher,
    new_codes: dict[str, tuple[int, str]],
    root: OrgUnit,
    row: int,
    preview: Preview,
) -> str | None:
    """The code of the parent: the root, a unit under it, or a unit earlier in the file."""
    if ref is None:
        return root.code
    text = str(ref).strip()
    if text.casefold() in new_codes:
        return new_codes[text.casefold()][1]
    found = matcher.find(text, text)
    if isinstance(found, NoMatch):
        preview.problem(row, found.message)
        return None
    return found.code


def _unit_text(spec: dict[str, Any]) -> str:
    text = f"{spec['code']} · {spec['name']} · {labels.UNIT_KIND[spec['kind']]}"
    return f"{text} · {spec['official_code']}" if spec["official_code"] else text


def _create_step(
    spec: dict[str, Any],
    parent_code: str,
    existing: dict[str, OrgUnit],
    created: dict[str, OrgUnit],
    scopes: dict[int, Scope],
) -> Callable[[User | None], None]:
    """Creating a row's unit; the units service checks the importing user's scope (one per
    user for the whole file: it reads the scope's units once)."""

    def step(user: User | None) -> None:
        parent = created.get(parent_code.casefold()) or existing[parent_code.casefold()]
        scope = None if user is None else scopes.setdefault(user.id, Scope(user))
        unit = units.create_unit(parent=parent, user=user, scope=scope, **spec)
        created[spec["code"].casefold()] = unit

    return step


def _unit_update(
    preview: Preview,
    row: int,
    unit: OrgUnit,
    spec: dict[str, Any],
    parent_code: str,
    existing: dict[str, OrgUnit],
    allowed: Callable[[OrgUnit], bool] | None,
) -> None:
    if not _allowed(unit, allowed, row, preview):
        return
    fields = ("name", "kind", "contact_name", "contact_phone", "contact_email", "official_code")
    current = {name: getattr(unit, name) for name in fields} | {"code": unit.code}
    wanted = {name: spec[name] for name in fields} | {"code": unit.code}
    same_parent = unit.parent is not None and unit.parent.code.casefold() == parent_code.casefold()
    kind = ChangeKind.UNCHANGED if current == wanted and same_parent else ChangeKind.CHANGED
    preview.changes.append(Change(row, unit.name, kind, _unit_text(current), _unit_text(wanted)))
    if kind == ChangeKind.UNCHANGED:
        return
    parent = existing.get(parent_code.casefold())
    if parent is None or parent.id == unit.id:
        preview.problem(
            row, _("Không chuyển được đơn vị %(name)s sang đơn vị cấp trên mới.", name=unit.name)
        )
        return

    def step(user: User | None) -> None:
        # The file carries no validity and no date: those stay, and a move is dated today.
        units.update_unit(
            unit,
            code=unit.code,
            name=spec["name"],
            kind=spec["kind"],
            parent=parent,
            contact_name=spec["contact_name"],
            contact_phone=spec["contact_phone"],
            contact_email=spec["contact_email"],
            official_code=spec["official_code"],
            valid_from=unit.valid_from,
            valid_to=unit.valid_to,
            user=user,
        )

    preview.steps.append(step)
