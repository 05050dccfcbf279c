"""The unit list as a tree: search, add, edit, move, close and merge units."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from campaign import labels, official_units
from campaign.auth.access import MANAGERS, current_scope, require, roles_required
from campaign.extensions import db
from campaign.formfields import show_error
from campaign.imports.confirm import apply_confirmed
from campaign.models import OrgUnit
from campaign.numbers import parse_id
from campaign.services import imports, official_import, units
from campaign.services.errors import Forbidden, ServiceError
from campaign.units.forms import DeactivateForm, MergeForm, OfficialImportForm, UnitForm

bp = Blueprint("units", __name__, url_prefix="/don-vi")


def _visible() -> list[OrgUnit]:
    return units.in_ids(current_scope().unit_ids())


def _parent_choices(exclude: OrgUnit | None = None) -> list[tuple[int, str]]:
    """Units a unit may hang under: inside the scope, still valid, never its own subtree."""
    rows = units.tree_rows(_visible())
    skip: set[int] = set()
    choices = [(0, _("— Không có (cấp cao nhất) —"))] if current_scope().is_admin else []
    for row in rows:
        if exclude is not None and (row.unit.id == exclude.id or row.unit.parent_id in skip):
            skip.add(row.unit.id)
            continue
        if row.unit.valid_to is None or (exclude and row.unit.id == exclude.parent_id):
            choices.append((row.unit.id, "— " * row.depth + row.unit.name))
    return choices


def _offered(choices: list[tuple[int, str]], unit_id: int) -> int | None:
    """``unit_id`` when the form offers it, else nothing preselected: a unit outside the
    scope and one that does not exist give the same page, which tells neither apart."""
    return unit_id if any(unit_id == choice for choice, _label in choices) else None


def _kind_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in labels.UNIT_KIND.items()]


def _unit_or_404(unit_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id) or abort(404)
    require(current_scope().can_manage_unit(unit))
    return unit


@bp.get("/")
@login_required
def tree() -> str:
    """The units in the user's scope as a tree; ``q`` finds names without regard to accents."""
    query = request.args.get("q", "")[:100]
    rows = units.tree_rows(_visible(), query)
    return render_template("units/tree.html", rows=rows, q=query, scope=current_scope())


@bp.route("/moi", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def create() -> str | Response:
    form = UnitForm()
    form.kind.choices = _kind_choices()
    form.parent_id.choices = _parent_choices()
    parent_id = parse_id(request.args.get("parent"))
    if request.method == "GET" and parent_id is not None:
        form.parent_id.data = _offered(form.parent_id.choices, parent_id)
    if form.validate_on_submit():
        parent = db.session.get(OrgUnit, form.parent_id.data) if form.parent_id.data else None
        try:
            unit = units.create_unit(**_unit_fields(form), parent=parent, scope=current_scope())
        except Forbidden:
            require(False)
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("Đã thêm đơn vị %(name)s.", name=unit.name), "success")
            return redirect(url_for("units.tree"))
    return render_template("units/form.html", form=form, unit=None)


@bp.route("/<int:unit_id>/sua", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit(unit_id: int) -> str | Response:
    """Edits a unit; choosing another parent moves it with everything below it."""
    unit = _unit_or_404(unit_id)
    form = UnitForm(obj=unit)
    form.kind.choices = _kind_choices()
    form.parent_id.choices = _parent_choices(exclude=unit)
    if request.method == "GET":
        form.parent_id.data = unit.parent_id or 0
    if form.validate_on_submit():
        parent = db.session.get(OrgUnit, form.parent_id.data) if form.parent_id.data else None
        try:
            units.update_unit(
                unit,
                **_unit_fields(form),
                parent=parent,
                moved_on=form.moved_on.data,
                user=current_user,
            )
            require(current_scope().can_manage_unit(unit))
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("Đã lưu đơn vị %(name)s.", name=unit.name), "success")
            return redirect(url_for("units.tree"))
    return render_template("units/form.html", form=form, unit=unit, deactivate=DeactivateForm())


@bp.post("/<int:unit_id>/ngung")
@roles_required(*MANAGERS)
def deactivate(unit_id: int) -> str | Response:
    unit = _unit_or_404(unit_id)
    form = DeactivateForm()
    if form.validate_on_submit():
        try:
            units.deactivate_unit(unit, form.last_day.data, user=current_user)
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(
                _(
                    "%(name)s ngừng hoạt động sau ngày %(day)s.",
                    name=unit.name,
                    day=form.last_day.data.strftime("%d/%m/%Y"),
                ),
                "success",
            )
            return redirect(url_for("units.tree"))
    edit_form = UnitForm(obj=unit)
    edit_form.kind.choices = _kind_choices()
    edit_form.parent_id.choices = _parent_choices(exclude=unit)
    edit_form.parent_id.data = unit.parent_id or 0
    return render_template("units/form.html", form=edit_form, unit=unit, deactivate=form)


@bp.route("/gop", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def merge() -> str | Response:
    """Merges several units into one from a date, keeping the old ones for earlier plans."""
    scope = current_scope()
    form = MergeForm()
    rows = [r for r in units.tree_rows(_visible()) if r.unit.valid_to is None]
    form.sources.choices = [(r.unit.id, r.unit.name) for r in rows if scope.can_manage_unit(r.unit)]
    form.target_id.choices = [(0, _("— Tạo đơn vị mới —"))] + [
        (r.unit.id, "— " * r.depth + r.unit.name) for r in rows
    ]
    form.kind.choices = _kind_choices()
    form.parent_id.choices = _parent_choices()
    if form.validate_on_submit():
        try:
            target, moved = _merge(form)
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("Đã sáp nhập vào %(name)s.", name=target.name), "success")
            if moved:
                names = ", ".join(u.name for u in moved)
                flash(
                    _(
                        "Các đơn vị trực thuộc đã chuyển sang %(target)s từ ngày sáp nhập: "
                        "%(names)s.",
                        target=target.name,
                        names=names,
                    ),
                    "info",
                )
            return redirect(url_for("units.tree"))
    return render_template("units/merge.html", form=form)


def _merge(form: MergeForm) -> tuple[OrgUnit, list[OrgUnit]]:
    sources = [db.session.get(OrgUnit, i) or abort(404) for i in form.sources.data]
    if form.target_id.data:
        target = db.session.get(OrgUnit, form.target_id.data) or abort(404)
    else:
        if not (form.code.data or "").strip() or not (form.name.data or "").strip():
            raise ServiceError(
                _("Nhập mã và tên đơn vị mới, hoặc chọn một đơn vị có sẵn."), field="name"
            )
        parent = db.session.get(OrgUnit, form.parent_id.data) if form.parent_id.data else None
        try:
            target = units.create_unit(
                code=form.code.data,
                name=form.name.data,
                kind=form.kind.data,
                parent=parent,
                valid_from=form.starts_on.data,
                scope=current_scope(),
            )
        except Forbidden:
            require(False)
            raise
    left = units.merge_units(sources, target, form.starts_on.data, user=current_user)
    return target, left


@bp.route("/danh-muc-2025", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def official() -> str | Response:
    """A province's communes, wards and special zones from the official list in force from
    1 July 2025: ``?tinh=`` shows what would be added, the form confirms it."""
    if request.method == "POST":
        return _confirm_official(OfficialImportForm())
    ref = request.args.get("tinh", "")[:100]
    province = official_units.find_province(ref) if ref else None
    if ref and province is None:
        message = _("Không có tỉnh, thành phố %(query)s trong danh mục từ 01/07/2025.", query=ref)
        flash(message, "error")
    result = _official_preview(province) if province else None
    form = OfficialImportForm(
        province=province.code if province else "",
        fingerprint=result.fingerprint() if result else "",
    )
    return render_template(
        "units/official.html",
        provinces=official_units.provinces(),
        province=province,
        preview=result,
        form=form,
        kinds=imports.ChangeKind,
        split_field=SPLIT_FIELD,
    )


#: The page's select for a split old commune is named this and the commune's id.
SPLIT_FIELD = "tach-"


def _official_preview(
    province: official_units.Province, choices: dict[int, str] | None = None
) -> official_import.OfficialPreview:
    """The preview, for a user who may write all of it: administrators, and organisers
    whose scope holds the province's unit (its own code is an administrator's change) and
    every unit the reform changes."""
    scope = current_scope()
    root = official_import.province_unit(province)
    require(scope.can_add_unit(root))
    if root is not None and root.official_code != province.code:
        require(scope.can_manage_unit(root))
    result = official_import.preview(province, scope, choices)
    require(all(scope.can_manage_unit(unit) for unit in result.reform.written))
    return result


def _split_choices() -> dict[int, str]:
    """The new unit chosen on the page for each split old commune."""
    choices = {}
    for key, value in request.form.items():
        if key.startswith(SPLIT_FIELD):
            unit_id = parse_id(key.removeprefix(SPLIT_FIELD))
            if unit_id is None:
                raise ServiceError(_("Lựa chọn đơn vị nhận sáp nhập không hợp lệ."))
            choices[unit_id] = value.strip()[:16]
    return choices


def _confirm_official(form: OfficialImportForm) -> Response:
    province = official_units.find_province(form.province.data or "")
    if not form.validate_on_submit() or province is None:
        abort(400)
    try:
        result = _official_preview(province, _split_choices())
    except ServiceError as error:
        flash(_("Chưa có gì được lưu: %(reason)s", reason=error.message), "error")
        return redirect(url_for("units.official", tinh=province.code))
    problems = _("Danh mục còn lỗi; chưa có gì được lưu.")
    written = apply_confirmed(result, form.fingerprint.data, problems, official_import.apply)
    if written is None:
        return redirect(url_for("units.official", tinh=province.code))
    flash(
        _(
            "Đã thêm hoặc cập nhật %(count)d đơn vị của %(name)s.",
            count=written,
            name=province.name,
        ),
        "success",
    )
    return redirect(url_for("units.tree"))


def _unit_fields(form: UnitForm) -> dict:
    return {
        "code": form.code.data or "",
        "name": form.name.data or "",
        "kind": form.kind.data,
        "valid_from": form.valid_from.data,
        "valid_to": form.valid_to.data,
        "contact_name": form.contact_name.data,
        "contact_phone": form.contact_phone.data,
        "contact_email": form.contact_email.data,
        "official_code": form.official_code.data,
    }
