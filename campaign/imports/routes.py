"""Imports from Excel: upload a workbook, preview every change, confirm to apply it whole.

The upload is kept in the database (``pending_import``) so that the preview and
the confirmation may be served by different app processes. Confirming reads
the file again against the database as it is then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from campaign.auth.access import MANAGERS, current_scope, require, roles_required
from campaign.extensions import db
from campaign.formatting import number
from campaign.imports.confirm import apply_confirmed
from campaign.imports.forms import ConfirmForm, DiscardForm, UploadForm
from campaign.models import Drive, ImportKind, OrgUnit, PendingImport, Plan
from campaign.services import imports, pending_imports
from campaign.services.errors import NotFound
from campaign.spreadsheets import bounds

bp = Blueprint("imports", __name__)


@dataclass(frozen=True)
class Target:
    """What a file is imported into, checked against the user's scope."""

    kind: ImportKind
    id: int
    title: str
    #: Where the user goes back to: the plan, or the plan list for units.
    back: str
    preview: Callable[[bytes], imports.Preview]


def _target(kind: str, target_id: int) -> Target:
    """The import target, or 404 when it is missing and 403 when it is outside the scope."""
    scope = current_scope()
    if kind == ImportKind.UNITS:
        unit = db.session.get(OrgUnit, target_id) or abort(404)
        require(scope.can_see_unit(unit))
        return Target(
            ImportKind.UNITS,
            unit.id,
            _("Nhập danh sách đơn vị trực thuộc %(name)s", name=unit.name),
            url_for("main.plans"),
            lambda data: imports.preview_units(
                data, unit, allowed=scope.can_manage_unit, visible=scope.can_see_unit
            ),
        )
    if kind == ImportKind.QUOTAS:
        plan = db.session.get(Plan, target_id) or abort(404)
        require(scope.can_manage_plan(plan))
        return Target(
            ImportKind.QUOTAS,
            plan.id,
            _("Nhập chỉ tiêu của Kế hoạch số %(number)s", number=plan.number),
            url_for("main.plan", plan_id=plan.id),
            lambda data: imports.preview_quotas(
                data, plan, allowed=scope.can_see_unit, visible=scope.can_see_unit
            ),
        )
    drive = db.session.get(Drive, target_id) or abort(404)
    require(scope.can_manage_plan(drive.plan))
    return Target(
        ImportKind.RESULTS,
        drive.id,
        _(
            "Nhập kết quả %(drive)s, Kế hoạch số %(number)s",
            drive=drive.name,
            number=drive.plan.number,
        ),
        url_for("main.plan", plan_id=drive.plan_id),
        lambda data: imports.preview_results(
            data, drive, allowed=scope.can_report, visible=scope.can_see_unit
        ),
    )


@bp.route("/don-vi/<int:target_id>/nhap-excel", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def units(target_id: int) -> str | Response:
    """Units from a workbook, under a unit of the user's scope."""
    return _upload(_target(ImportKind.UNITS, target_id))


@bp.route("/ke-hoach/<int:target_id>/nhap-chi-tieu", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def quotas(target_id: int) -> str | Response:
    """A plan's quotas from a workbook, e.g. the plan's filled-in template."""
    return _upload(_target(ImportKind.QUOTAS, target_id))


@bp.route("/dot/<int:target_id>/nhap-ket-qua", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def results(target_id: int) -> str | Response:
    """A drive's results from a workbook, one row per unit."""
    return _upload(_target(ImportKind.RESULTS, target_id))


def _upload(target: Target) -> str | Response:
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        problem = imports.file_problem(data)
        if problem is None:
            user = current_user._get_current_object()
            pending = pending_imports.store(
                user, target.kind, target.id, upload.filename or "", data
            )
            return redirect(url_for("imports.preview", token=pending.token))
        form.file.errors.append(problem)
    return render_template("imports/upload.html", form=form, target=target, limits=_limits())


def _limits() -> dict[str, str]:
    """What a file may hold, as the upload page states it."""
    return {
        "size": _size(current_app.config["MAX_CONTENT_LENGTH"] or 0),
        "rows": number(bounds.MAX_ROWS),
        "columns": number(bounds.MAX_COLUMNS),
        "sheets": number(bounds.MAX_SHEETS),
    }


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:.0f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def _pending(token: str) -> tuple[PendingImport, Target]:
    """The user's own pending import and its target, re-checked against the scope now."""
    try:
        pending = pending_imports.find(token)
    except NotFound:
        abort(404)
    require(pending.user_id == current_user.id)
    return pending, _target(pending.kind, pending.target_id)


@bp.get("/nhap-excel/<token>")
@roles_required(*MANAGERS)
def preview(token: str) -> str:
    """What confirming would change, and every problem with its row number; nothing is saved."""
    pending, target = _pending(token)
    result = target.preview(pending.data)
    confirm = ConfirmForm(fingerprint=result.fingerprint())
    return render_template(
        "imports/preview.html",
        pending=pending,
        target=target,
        preview=result,
        kinds=imports.ChangeKind,
        confirm=confirm,
        discard=DiscardForm(),
        limit=imports.MAX_PROBLEMS,
    )


@bp.post("/nhap-excel/<token>")
@roles_required(*MANAGERS)
def confirm(token: str) -> Response:
    """Applies the stored file all or nothing, if it still says what the preview showed."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    pending, target = _pending(token)
    result = target.preview(pending.data)
    problems = _("Tệp còn lỗi; chưa có gì được lưu. Hãy sửa tệp và tải lên lại.")
    if apply_confirmed(result, form.fingerprint.data, problems) is None:
        return redirect(url_for("imports.preview", token=token))
    pending_imports.discard(pending)
    written = result.count(imports.ChangeKind.NEW) + result.count(imports.ChangeKind.CHANGED)
    flash(_("Đã nhập %(count)d dòng từ tệp %(name)s.", count=written, name=pending.filename))
    return redirect(target.back)


@bp.post("/nhap-excel/<token>/huy")
@roles_required(*MANAGERS)
def discard(token: str) -> Response:
    """Drops an upload without applying it."""
    if not DiscardForm().validate_on_submit():
        abort(400)
    pending, target = _pending(token)
    pending_imports.discard(pending)
    flash(_("Đã hủy tệp %(name)s; chưa có gì được lưu.", name=pending.filename))
    return redirect(target.back)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    """Says what the limit is, with a way back to the upload page."""
    size = _size(current_app.config["MAX_CONTENT_LENGTH"] or 0)
    return render_template("imports/too_large.html", size=size, back=request.path), 413


@bp.app_template_global()
def import_links(plan: Plan) -> list[tuple[str, str]]:
    """The import pages the signed-in user may open from a plan's page."""
    scope = current_scope()
    if not current_user.is_authenticated or current_user.role not in MANAGERS:
        return []
    if not scope.can_manage_plan(plan):
        return []
    links = [
        (_("Nhập chỉ tiêu từ Excel"), url_for("imports.quotas", target_id=plan.id)),
        (_("Tải mẫu chỉ tiêu"), url_for("exports.quota_template", plan_id=plan.id)),
    ]
    links += [
        (
            _("Nhập kết quả %(drive)s từ Excel", drive=d.name),
            url_for("imports.results", target_id=d.id),
        )
        for d in plan.drives
    ]
    if scope.can_see_unit(plan.issuer):
        links.append(
            (
                _("Nhập danh sách đơn vị từ Excel"),
                url_for("imports.units", target_id=plan.issuer_id),
            )
        )
    return links
