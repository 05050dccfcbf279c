"""The organiser's plan pages: create and edit plans, cited documents, drives,
the quota grid and the result-entry grid. The dashboard itself is ``main.plan``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from campaign import labels
from campaign.auth.access import MANAGERS, current_scope, require, roles_required
from campaign.extensions import db
from campaign.formfields import show_error
from campaign.models import TARGET_COLUMNS, Drive, OrgUnit, Plan, PlanDocument, PlanStatus, Result
from campaign.numbers import parse_id
from campaign.plans.forms import (
    AUTO_COMPARE,
    NO_COMPARE,
    DocumentForm,
    DriveForm,
    PlanForm,
    PublicForm,
    StatusForm,
)
from campaign.plans.grids import read_row
from campaign.rates import Targets
from campaign.services import plans, results, units
from campaign.services.errors import Conflict, ServiceError
from campaign.services.units import TreeRow

bp = Blueprint("plans", __name__, url_prefix="/ke-hoach")
COUNT_FIELDS = ("registered", "deferred", "bags_250", "bags_350", "bags_450", "repeat_donors")


def _managed_plan(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id) or abort(404)
    require(current_scope().can_manage_plan(plan))
    return plan


def _plan_choices(form: PlanForm, plan: Plan | None = None) -> None:
    scope = current_scope()
    rows = units.tree_rows(units.in_ids(scope.unit_ids()))
    form.issuer_id.choices = [
        (r.unit.id, "— " * r.depth + r.unit.name)
        for r in rows
        if r.unit.valid_to is None or (plan and r.unit.id == plan.issuer_id)
    ]
    others = db.session.scalars(scope.plans().order_by(Plan.year.desc(), Plan.issued_on.desc()))
    named = [(p.id, f"{p.number} ({p.year})") for p in others if plan is None or p.id != plan.id]
    form.parent_id.choices = [(0, _("— Không có —")), *named]
    compared = [(str(plan_id), name) for plan_id, name in named]
    kept = plan.compare_with if plan else None  # named by someone who sees more plans
    if kept is not None and all(kept.id != plan_id for plan_id, _name in named):
        compared.append((str(kept.id), f"{kept.number} ({kept.year})"))
    form.compare_with_id.choices = [
        (AUTO_COMPARE, _("— Kế hoạch năm trước của cùng đơn vị (nếu có) —")),
        (NO_COMPARE, _("— Không so sánh —")),
        *compared,
    ]
    form.counting_rule.choices = [(k, str(v)) for k, v in labels.COUNTING_RULE.items()]


def _plan_fields(form: PlanForm) -> dict:
    return {
        "issuer": db.session.get(OrgUnit, form.issuer_id.data),
        "number": form.number.data or "",
        "issued_on": form.issued_on.data,
        "title": form.title.data or "",
        "year": form.year.data,
        "counting_rule": form.counting_rule.data,
        "parent": db.session.get(Plan, form.parent_id.data) if form.parent_id.data else None,
        "targets": Targets(*(getattr(form, column).data for column in TARGET_COLUMNS)),
        "compare_with": _compared(form.compare_with_id.data),
    }


def _compared(choice: str | None) -> Plan | plans.Compare | None:
    if choice == NO_COMPARE:
        return None
    if choice == AUTO_COMPARE or not choice:
        return plans.Compare.PREVIOUS_YEAR
    return db.session.get(Plan, int(choice))  # one of the choices: a plan the user may see


def _plan_ids(form: PlanForm, plan: Plan) -> None:
    form.parent_id.data = plan.parent_id or 0
    form.compare_with_id.data = str(plan.compare_with_id or NO_COMPARE)


@bp.route("/moi", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def create() -> str | Response:
    form = PlanForm()
    _plan_choices(form)
    if form.validate_on_submit():
        try:
            plan = plans.create_plan(
                **_plan_fields(form),
                status=PlanStatus.DRAFT.value,
                note=form.note.data,
                user=current_user,
            )
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("Đã tạo kế hoạch %(number)s.", number=plan.number), "success")
            return redirect(url_for("plans.edit", plan_id=plan.id))
    return render_template("plans/form.html", form=form, plan=None)


@bp.route("/<int:plan_id>/sua", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit(plan_id: int) -> str | Response:
    """The plan's fields, its cited documents and its status; a closed plan only reopens."""
    plan = _managed_plan(plan_id)
    form = PlanForm(obj=plan)
    _plan_choices(form, plan)
    if request.method == "GET":
        _plan_ids(form, plan)
    if form.validate_on_submit():
        try:
            plans.update_plan(plan, **_plan_fields(form), note=form.note.data, user=current_user)
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("Đã lưu kế hoạch."), "success")
            return redirect(url_for("main.plan", plan_id=plan.id))
    return _edit_page(plan, form=form)


def _edit_page(plan: Plan, **forms: object) -> str:
    status = StatusForm(status=plan.status)
    status.status.choices = [(k, str(v)) for k, v in labels.PLAN_STATUS.items()]
    forms.setdefault("status_form", status)
    forms.setdefault("document_form", DocumentForm(prefix="doc"))
    if "form" not in forms:
        form = PlanForm(obj=plan)
        _plan_choices(form, plan)
        _plan_ids(form, plan)
        forms["form"] = form
    return render_template(
        "plans/form.html", plan=plan, has_quotas=bool(plans.quotas_of(plan)), **forms
    )


@bp.post("/<int:plan_id>/xoa")
@roles_required(*MANAGERS)
def remove(plan_id: int) -> Response:
    """Deletes a plan nothing hangs on yet (no quota, drive or plan below it)."""
    plan = _managed_plan(plan_id)
    number = plan.number
    try:
        plans.remove_plan(plan, user=current_user)
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("plans.edit", plan_id=plan_id))
    flash(_("Đã xóa kế hoạch %(number)s.", number=number), "success")
    return redirect(url_for("main.plans"))


@bp.post("/<int:plan_id>/trang-thai")
@roles_required(*MANAGERS)
def status(plan_id: int) -> str | Response:
    plan = _managed_plan(plan_id)
    form = StatusForm()
    form.status.choices = [(k, str(v)) for k, v in labels.PLAN_STATUS.items()]
    if form.validate_on_submit():
        plans.set_status(plan, form.status.data, user=current_user)
        flash(_("Kế hoạch chuyển sang: %(status)s.", status=plan.status_label), "success")
        return redirect(url_for("plans.edit", plan_id=plan.id))
    return _edit_page(plan, status_form=form)


@bp.post("/<int:plan_id>/cong-khai")
@roles_required(*MANAGERS)
def publish(plan_id: int) -> Response:
    """Turns the plan's public page on (at a new address) or off (its address then
    answers 404)."""
    plan = _managed_plan(plan_id)
    form = PublicForm()
    form.public.choices = [("1", _("Công khai")), ("0", _("Thôi công khai"))]
    if not form.validate_on_submit():
        flash(_("Yêu cầu không hợp lệ."), "error")
    else:
        plans.set_public(plan, form.public.data == "1", user=current_user)
        if plan.is_public:
            flash(_("Đã công khai tiến độ kế hoạch."), "success")
        else:
            flash(_("Đã thôi công khai; địa chỉ cũ không còn mở được."), "success")
    return redirect(url_for("main.plan", plan_id=plan.id, _anchor="cong-khai"))


@bp.post("/<int:plan_id>/van-ban")
@roles_required(*MANAGERS)
def cite(plan_id: int) -> str | Response:
    plan = _managed_plan(plan_id)
    form = DocumentForm(prefix="doc")
    if form.validate_on_submit():
        try:
            plans.cite_document(
                plan,
                number=form.number.data or "",
                issued_on=form.issued_on.data,
                issuer=form.issuer.data or "",
                summary=form.summary.data or "",
                user=current_user,
            )
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("Đã thêm văn bản."), "success")
            return redirect(url_for("plans.edit", plan_id=plan.id))
    return _edit_page(plan, document_form=form)


@bp.post("/<int:plan_id>/van-ban/<int:document_id>/xoa")
@roles_required(*MANAGERS)
def uncite(plan_id: int, document_id: int) -> str | Response:
    plan = _managed_plan(plan_id)
    document = db.session.get(PlanDocument, document_id)
    if document is None or document.plan_id != plan.id:
        abort(404)
    try:
        plans.remove_document(document, user=current_user)
    except ServiceError as error:
        flash(error.message, "error")
    return redirect(url_for("plans.edit", plan_id=plan.id))


# --- drives --------------------------------------------------------------------------


def _drive_of(plan: Plan, drive_id: int) -> Drive:
    drive = db.session.get(Drive, drive_id)
    if drive is None or drive.plan_id != plan.id:
        abort(404)
    return drive


@bp.route("/<int:plan_id>/dot/moi", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new_drive(plan_id: int) -> str | Response:
    return _drive_form(_managed_plan(plan_id), None)


@bp.route("/<int:plan_id>/dot/<int:drive_id>/sua", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit_drive(plan_id: int, drive_id: int) -> str | Response:
    plan = _managed_plan(plan_id)
    return _drive_form(plan, _drive_of(plan, drive_id))


@bp.post("/<int:plan_id>/dot/<int:drive_id>/xoa")
@roles_required(*MANAGERS)
def remove_drive(plan_id: int, drive_id: int) -> Response:
    """Deletes a drive no unit has reported on."""
    plan = _managed_plan(plan_id)
    drive = _drive_of(plan, drive_id)
    try:
        plans.remove_drive(drive, user=current_user)
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("plans.edit_drive", plan_id=plan.id, drive_id=drive_id))
    flash(_("Đã xóa đợt hiến máu %(name)s.", name=drive.name), "success")
    return redirect(url_for("main.plan", plan_id=plan.id))


def _drive_form(plan: Plan, drive: Drive | None) -> str | Response:
    form = DriveForm(obj=drive)
    if form.validate_on_submit():
        fields = {
            "name": form.name.data or "",
            "starts_on": form.starts_on.data,
            "ends_on": form.ends_on.data,
            "site": (form.site.data or "").strip(),
            "report_due_on": form.report_due_on.data,
            "user": current_user,
        }
        try:
            if drive is None:
                plans.add_drive(plan, **fields)
            else:
                plans.update_drive(drive, **fields)
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("Đã lưu đợt hiến máu."), "success")
            return redirect(url_for("main.plan", plan_id=plan.id))
    return render_template("plans/drive.html", form=form, plan=plan, drive=drive)


# --- the quota grid ------------------------------------------------------------------


@bp.route("/<int:plan_id>/chi-tieu", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def quotas(plan_id: int) -> str | Response:
    """One form for every unit the plan can give a quota to; saved all or nothing."""
    plan = _managed_plan(plan_id)
    rows = plans.grid_units(plan)
    stored, stored_heads = plans.quotas_and_headcounts(plan)
    values: dict[int, int | None] = dict(stored)
    typed = {uid: str(amount) for uid, amount in stored.items()}
    heads = {uid: str(headcount) for uid, headcount in stored_heads.items()}
    errors: dict[int, str] = {}
    source = None
    if request.method == "GET" and "copy_from" in request.args:
        source_id = parse_id(request.args["copy_from"])
        source = db.session.get(Plan, source_id) if source_id is not None else None
        if source is None or not current_scope().can_see_plan(source):
            abort(404)  # the same for a plan out of sight: no telling which plans exist
        values = dict(plans.copied_quotas(source, (r.unit.id for r in rows)))
        typed = {uid: str(amount) for uid, amount in values.items()}
    if request.method == "POST":
        typed, heads, values, headcounts, errors = _read_quota_grid(rows)
        if not errors:
            try:
                plans.set_quotas(
                    plan,
                    {r.unit: values.get(r.unit.id) for r in rows},
                    headcounts={r.unit: headcounts.get(r.unit.id) for r in rows},
                    user=current_user,
                )
            except ServiceError as error:
                errors = _row_error(error)
            else:
                flash(_("Đã lưu chỉ tiêu."), "success")
                return redirect(url_for("plans.quotas", plan_id=plan.id))
    numbers = {uid: v for uid, v in values.items() if v is not None}
    others = [
        p
        for p in db.session.scalars(current_scope().plans().order_by(Plan.year.desc()))
        if p.id != plan.id
    ]
    return render_template(
        "plans/quotas.html",
        plan=plan,
        rows=rows,
        typed=typed,
        heads=heads,
        errors=errors,
        source=source,
        others=others,
        # What is stored, whatever was typed: a refused save and a copy save nothing.
        allocation=plans.allocation(plan, rows, stored),
        typed_allocation=plans.allocation(plan, rows, numbers),
    )


def _read_quota_grid(
    rows: list[TreeRow],
) -> tuple[
    dict[int, str], dict[int, str], dict[int, int | None], dict[int, int | None], dict[int, str]
]:
    """Per unit: the typed quota and headcount, their numbers, and the row's first error."""
    typed: dict[int, str] = {}
    heads: dict[int, str] = {}
    values: dict[int, int | None] = {}
    headcounts: dict[int, int | None] = {}
    errors: dict[int, str] = {}
    for row in rows:
        uid = row.unit.id
        texts, numbers, error = read_row(request.form, f"q-{uid}", ("amount", "headcount"))
        typed[uid], heads[uid] = texts["amount"], texts["headcount"]
        values[uid], headcounts[uid] = numbers.get("amount"), numbers.get("headcount")
        if error:
            errors[uid] = error
    return typed, heads, values, headcounts, errors


def _row_error(error: ServiceError) -> dict[int, str]:
    unit_id = parse_id(error.field)
    if unit_id is not None:
        return {unit_id: error.message}
    flash(error.message, "error")
    return {}


# --- the result-entry grid -----------------------------------------------------------


@dataclass
class ResultRow:
    unit: OrgUnit
    depth: int
    result: Result | None
    typed: dict[str, str]
    error: str | None = None


@bp.route("/<int:plan_id>/dot/<int:drive_id>/ket-qua", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def results_grid(plan_id: int, drive_id: int) -> str | Response:
    """The organiser enters the paper reports of a drive, one row per unit."""
    plan = _managed_plan(plan_id)
    drive = _drive_of(plan, drive_id)
    saved = {
        r.unit_id: r for r in db.session.scalars(select(Result).where(Result.drive_id == drive.id))
    }
    rows = [
        ResultRow(r.unit, r.depth, saved.get(r.unit.id), _typed(saved.get(r.unit.id)))
        for r in plans.grid_units(plan)
        if r.unit.is_valid_on(drive.starts_on) or r.unit.id in saved
    ]
    if request.method == "POST" and _save_results(drive, rows):
        flash(_("Đã lưu kết quả đợt %(name)s.", name=drive.name), "success")
        return redirect(url_for("plans.results_grid", plan_id=plan.id, drive_id=drive.id))
    return render_template(
        "plans/results.html", plan=plan, drive=drive, rows=rows, fields=COUNT_FIELDS
    )


def _typed(result: Result | None) -> dict[str, str]:
    if result is None:
        return dict.fromkeys(COUNT_FIELDS, "")
    return {name: _text(getattr(result, name)) for name in COUNT_FIELDS}


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _save_results(drive: Drive, rows: list[ResultRow]) -> bool:
    """Saves each changed row on its own: a row that cannot be read or is refused keeps
    what was typed and its message, and the other rows are saved. True if all were."""
    try:
        plans.check_open(drive.plan)
    except ServiceError as closed:
        flash(closed.message, "error")
        return False
    saved = 0
    for row in rows:
        typed, numbers, error = read_row(request.form, f"r-{row.unit.id}", COUNT_FIELDS)
        row.typed, row.error = typed, error
        if error or all(v is None for v in numbers.values()):
            continue
        repeat = numbers.pop("repeat_donors")  # left empty: not counted, not 0
        counts = results.Counts(**{k: v or 0 for k, v in numbers.items()}, repeat_donors=repeat)
        if row.result is not None and _typed(row.result) == _typed_counts(counts):
            continue  # unchanged: keep its state and version
        version = parse_id(request.form.get(f"r-{row.unit.id}-version", ""))
        try:
            row.result = results.save(
                drive, row.unit, counts, user=current_user, expected_version=version, submit=True
            )
            saved += 1
        except Conflict as conflict:
            row.error, row.result = conflict.message, conflict.current or row.result
        except ServiceError as refusal:
            row.error = refusal.message
    if not any(row.error for row in rows):
        return True
    if saved:
        flash(_("Đã lưu %(count)d dòng; các dòng có thông báo chưa được lưu.", count=saved))
    return False


def _typed_counts(counts: results.Counts) -> dict[str, str]:
    return {name: _text(getattr(counts, name)) for name in COUNT_FIELDS}
