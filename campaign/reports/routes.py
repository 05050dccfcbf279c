"""Reporting a unit's results for a drive, and reviewing them."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from campaign.auth.access import MANAGERS, TREE_READERS, current_scope, require, roles_required
from campaign.extensions import db
from campaign.formatting import vietnam_today
from campaign.formfields import show_error
from campaign.mail import MailSettings
from campaign.models import Drive, OrgUnit, Plan, Result
from campaign.numbers import parse_id
from campaign.rates import Bags
from campaign.reports.forms import (
    ReasonForm,
    RemindForm,
    ResultForm,
    VersionForm,
    version_of,
)
from campaign.reports.links import report_link, reporter_home
from campaign.services import reminders, reporting, results
from campaign.services.dashboard import report_outlook
from campaign.services.errors import Conflict, ServiceError

bp = Blueprint("reports", __name__, url_prefix="/bao-cao")


def _user():
    return current_user._get_current_object()


# --- the reporter's flow ---------------------------------------------------------


@bp.get("/")
@login_required
def my_units() -> str:
    """The units the user reports for, each with the drives open to it."""
    scope = current_scope()
    units = db.session.scalars(scope.reporting_units().order_by(OrgUnit.name)).all()
    return render_template("reports/my_units.html", units=[(u, _open(u)) for u in units])


def _open(unit: OrgUnit) -> list[tuple[Drive, Result | None]]:
    query = (
        current_scope()
        .open_drives(unit)
        .options(joinedload(Drive.plan))
        .order_by(Drive.starts_on.desc(), Drive.id.desc())
    )
    return [(drive, results.find(drive, unit)) for drive in db.session.scalars(query)]


@bp.get("/don-vi/<int:unit_id>")
@login_required
def unit(unit_id: int) -> str:
    unit = db.session.get(OrgUnit, unit_id) or abort(404)
    require(current_scope().can_report(unit))
    return render_template("reports/unit.html", unit=unit, drives=_open(unit))


def _report_target(unit_id: int, drive_id: int) -> tuple[OrgUnit, Drive]:
    unit = db.session.get(OrgUnit, unit_id) or abort(404)
    drive = db.session.get(Drive, drive_id) or abort(404)
    require(current_scope().can_report(unit))
    if not current_scope().is_open_for(drive, unit):
        abort(404)
    return unit, drive


@bp.route("/don-vi/<int:unit_id>/dot/<int:drive_id>", methods=["GET", "POST"])
@login_required
def report(unit_id: int, drive_id: int) -> str | Response | tuple[str, int]:
    """The result form: save a draft or submit; approved and submitted reports are read-only."""
    unit, drive = _report_target(unit_id, drive_id)
    result = results.find(drive, unit)
    form = ResultForm(obj=result) if request.method == "GET" else ResultForm()
    if request.method == "GET" and result is not None:
        form.version.data = str(result.version)
    if form.validate_on_submit():
        counts = results.Counts(
            form.registered.data,
            form.deferred.data,
            form.bags_250.data,
            form.bags_350.data,
            form.bags_450.data,
            form.repeat_donors.data,
        )
        try:
            results.save(
                drive,
                unit,
                counts,
                user=_user(),
                expected_version=version_of(form),
                submit=form.send.data,
            )
        except Conflict as conflict:
            return _conflict(form, drive, unit, conflict)
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("Đã gửi báo cáo.") if form.send.data else _("Đã lưu nháp."), "info")
            return redirect(url_for(".report", unit_id=unit.id, drive_id=drive.id))
    return render_template(
        "reports/form.html",
        form=form,
        unit=unit,
        drive=drive,
        result=result,
        action=VersionForm(),
        outlook=report_outlook(drive, unit.id, result),
        typed=_typed_bags(form),
    )


def _typed_bags(form: ResultForm) -> Bags:
    """The bags as typed, a field that is not a count read as none."""
    fields = (form.bags_250, form.bags_350, form.bags_450)
    return Bags(*(f.data if isinstance(f.data, int) and f.data >= 0 else 0 for f in fields))


def _conflict(form: ResultForm, drive: Drive, unit: OrgUnit, conflict: Conflict) -> tuple[str, int]:
    """Shows what is stored now beside what was typed; the next save names the new version."""
    current = results.find(drive, unit)
    form.version.data = str(current.version) if current is not None else ""
    page = render_template(
        "reports/form.html",
        form=form,
        unit=unit,
        drive=drive,
        result=current,
        conflict=conflict.message,
        action=VersionForm(),
        outlook=report_outlook(drive, unit.id, current),
        typed=_typed_bags(form),
    )
    return page, 409


@bp.post("/don-vi/<int:unit_id>/dot/<int:drive_id>/rut-lai")
@login_required
def withdraw(unit_id: int, drive_id: int) -> Response:
    """Takes a submitted report back to draft, while nobody has reviewed it."""
    unit, drive = _report_target(unit_id, drive_id)
    result = results.find(drive, unit) or abort(404)
    form = VersionForm()
    done = _("Đã rút lại báo cáo về bản nháp; sửa xong hãy gửi lại.")
    _act(
        form,
        lambda: results.withdraw(result, user=_user(), expected_version=version_of(form)),
        done,
    )
    return redirect(url_for(".report", unit_id=unit.id, drive_id=drive.id))


def _act(form: VersionForm, action, done: str) -> bool:
    """Runs a review action, flashing what it did; nothing is kept when it is refused."""
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return False
    try:
        action()
    except ServiceError as error:
        flash(error.message, "error")
        return False
    flash(done, "info")
    return True


# --- the organiser's review --------------------------------------------------------


@bp.get("/duyet")
@roles_required(*MANAGERS)
def queue() -> str:
    """Submitted reports waiting for review, and the drives to follow."""
    scope = current_scope()
    waiting = db.session.scalars(
        scope.review_queue()
        .options(joinedload(Result.unit), joinedload(Result.drive).joinedload(Drive.plan))
        .order_by(Result.submitted_at, Result.id)
    ).all()
    drives = db.session.scalars(
        scope.managed_drives()
        .join(Plan, Plan.id == Drive.plan_id)
        .where(Plan.status == "active")
        .options(joinedload(Drive.plan))
        .order_by(Drive.starts_on.desc())
    ).all()
    return render_template("reports/queue.html", waiting=waiting, drives=drives, form=VersionForm())


@bp.post("/duyet/nhieu")
@roles_required(*MANAGERS)
def approve_many() -> Response:
    """Approves the ticked reports, each as it was when the page was shown."""
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    scope, approved, refused = current_scope(), 0, 0
    for value in request.form.getlist("result"):
        result_id, _sep, typed_version = value.partition(":")
        ident, version = parse_id(result_id), parse_id(typed_version)
        result = db.session.get(Result, ident) if ident is not None else None
        if result is None or version is None or not scope.can_review(result):
            refused += 1
            continue
        try:
            results.approve(result, user=_user(), expected_version=version)  # its own savepoint
            approved += 1
        except ServiceError:
            refused += 1
    flash(_("Đã duyệt %(n)d báo cáo.", n=approved), "info")
    if refused:
        flash(
            _("%(n)d báo cáo không duyệt được (đã thay đổi hoặc đã được xử lý).", n=refused),
            "error",
        )
    return redirect(url_for(".queue"))


def _reviewable(result_id: int) -> Result:
    result = db.session.get(Result, result_id) or abort(404)
    require(current_scope().can_review(result))
    return result


@bp.get("/ket-qua/<int:result_id>")
@roles_required(*MANAGERS)
def review(result_id: int) -> str:
    result = _reviewable(result_id)
    return render_template(
        "reports/review.html",
        result=result,
        form=VersionForm(),
        reason_form=ReasonForm(version=str(result.version)),
    )


@bp.post("/ket-qua/<int:result_id>/duyet")
@roles_required(*MANAGERS)
def approve(result_id: int) -> Response:
    result = _reviewable(result_id)
    form = VersionForm()
    done = _("Đã duyệt báo cáo.")
    _act(
        form, lambda: results.approve(result, user=_user(), expected_version=version_of(form)), done
    )
    return redirect(url_for(".review", result_id=result_id))


@bp.post("/ket-qua/<int:result_id>/tra-lai")
@roles_required(*MANAGERS)
def return_(result_id: int) -> Response:
    result = _reviewable(result_id)
    form = ReasonForm()

    def action() -> None:
        results.return_for_correction(
            result, form.reason.data or "", user=_user(), expected_version=version_of(form)
        )

    _act(form, action, _("Đã trả lại báo cáo kèm lý do."))
    return redirect(url_for(".review", result_id=result_id))


@bp.post("/ket-qua/<int:result_id>/mo-lai")
@roles_required(*MANAGERS)
def reopen(result_id: int) -> Response:
    """Unlocks an approved report: it goes back to the unit as returned, with the reason."""
    result = _reviewable(result_id)
    form = ReasonForm()

    def action() -> None:
        results.reopen(
            result, form.reason.data or "", user=_user(), expected_version=version_of(form)
        )

    _act(form, action, _("Đã mở lại báo cáo; đơn vị có thể sửa và gửi lại."))
    return redirect(url_for(".review", result_id=result_id))


def _followed(drive_id: int) -> Drive:
    """A drive whose reports the user follows: organisers and leaders of its plan."""
    drive = db.session.get(Drive, drive_id) or abort(404)
    require(current_scope().can_see_plan(drive.plan))
    return drive


@bp.get("/dot/<int:drive_id>")
@roles_required(*TREE_READERS)
def drive(drive_id: int) -> str:
    """A drive's reports in the user's scope, on time or not, and the units still to chase
    with their contacts and a message to send them; leaders read, organisers remind."""
    drive = _followed(drive_id)
    scope = current_scope()
    made = reporting.drive_reporting(drive, scope.units_of_plan(drive.plan), vietnam_today())
    messages = {
        row.unit.id: reminders.short_message(drive, report_link(drive, row.unit), row.unit)
        for row in made.owing
    }
    return render_template(
        "reports/drive.html",
        drive=drive,
        reporting=made,
        received=[row for row in made.units if not row.owing],
        messages=messages,
        message_to_all=reminders.short_message(drive, reporter_home()),
        can_remind=scope.can_manage_plan(drive.plan),
        can_review=scope.user.role in MANAGERS,
        mail_ready=MailSettings.from_config(current_app.config) is not None,
        form=RemindForm(),
    )


@bp.post("/dot/<int:drive_id>/nhac")
@roles_required(*MANAGERS)
def remind(drive_id: int) -> Response:
    """E-mails the units of the user's scope that owe the drive's report."""
    drive = _followed(drive_id)
    scope = current_scope()
    require(scope.can_manage_plan(drive.plan))
    if not RemindForm().validate_on_submit():
        abort(400)
    try:
        done = reminders.send_reminders(
            drive,
            within=scope.units_of_plan(drive.plan),
            today=vietnam_today(),
            link=report_link,
            mail=MailSettings.from_config(current_app.config),
            user=_user(),
        )
    except ServiceError as error:
        flash(error.message, "error")
    else:
        if done.sent:
            names = ", ".join(r.unit.name for r in done.sent)
            flash(_("Đã gửi %(n)d e-mail nhắc: %(names)s.", n=len(done.sent), names=names), "info")
        elif not done.refused:
            flash(_("Không có e-mail nhắc nào cần gửi hôm nay."), "info")
        for reminder, why in done.refused:
            flash(
                _("Không gửi được cho %(unit)s: %(why)s", unit=reminder.unit.name, why=why), "error"
            )
    return redirect(url_for(".drive", drive_id=drive.id))
