"""Command-line entry points: thin wrappers over the services."""

from __future__ import annotations

import functools
import gc
import socket
import sys
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import BinaryIO, NoReturn, ParamSpec

import click
from flask import Flask, current_app
from flask_babel import gettext as _
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.serving import run_simple

from campaign.database import analyze, writing
from campaign.extensions import db
from campaign.formatting import vietnam_time, vietnam_today
from campaign.mail import MailSettings
from campaign.models import Drive, OrgUnit, Plan, Role
from campaign.reports.links import report_link
from campaign.services import (
    demo,
    imports,
    official_import,
    plans,
    reminders,
    synthetic,
    tokens,
    units,
    users,
)
from campaign.services.errors import ServiceError
from campaign.services.exports import summary_export

P = ParamSpec("P")


def writes(command: Callable[P, None]) -> Callable[P, None]:
    """The command's transactions take SQLite's write lock when they begin. A service's
    refusal ends the command with its message on one line, never a traceback; a command
    that fails or is refused keeps nothing it flushed, as a refused request does."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        with writing():
            try:
                command(*args, **kwargs)
            except ServiceError as error:
                _fail(error.message)
            except BaseException:
                db.session.rollback()
                raise

    return wrapper


def _fail(message: str) -> NoReturn:
    db.session.rollback()
    raise click.ClickException(message)


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    _check_database()
    upgrade()
    with writing():
        analyze()  # statistics for the query planner, fresh after an upgrade or a big import
        db.session.commit()
    click.echo(f"Cơ sở dữ liệu đã sẵn sàng: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("demo")
@writes
def load_demo() -> None:
    """Load the Quảng Xương 2021 demo data (sample figures) into an empty database."""
    try:
        counts = demo.load()
    except ServiceError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"Đã nạp dữ liệu mẫu: {counts['units']} đơn vị, {counts['plans']} kế hoạch.")


@click.command("serve-demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve_demo(host: str, port: int) -> None:
    """Set up the database, load the demo data if it is empty, and serve the app."""
    _check_port(host, port)  # before anything is written
    _check_database()
    upgrade()
    with writing():
        if demo.database_is_empty():
            demo.load()
        accounts = demo.reset_demo_accounts()
        analyze()
        db.session.commit()
    click.echo("\nTài khoản mẫu (mật khẩu mới được tạo ở mỗi lần chạy):")
    for username, role, password in accounts:
        click.echo(f"  {username:<16} {role:<20} mật khẩu: {password}")
    click.echo(f"\nMở http://{host}:{port}/ và đăng nhập bằng một tài khoản ở trên.\n")
    # app.run() refuses to start inside a "flask" command; serve with werkzeug directly.
    gc.freeze()  # as campaign.wsgi does: long-lived objects leave the collector's scans
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    run_simple(host, port, app, threaded=True)


def _check_database() -> None:
    """A database that cannot be opened (a wrong address, a folder that does not exist)
    is one line, before the migrations start."""
    try:
        with db.engine.connect():
            pass
    except OperationalError as error:
        url = db.engine.url.render_as_string(hide_password=True)
        _fail(f"Không mở được cơ sở dữ liệu {url}: {error.orig}")


def _check_port(host: str, port: int) -> None:
    """A port another program holds is one line, as werkzeug would find it taken."""
    try:
        family, kind, _proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does
            probe.bind(address)
    except OSError as error:
        _fail(f"Không dùng được cổng {port} của {host}: {error.strerror or error}.")


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, help="One of: " + ", ".join(r.value for r in Role))
@click.option("--unit", "unit_codes", multiple=True, help="Unit code at the root of the scope.")
@click.option("--full-name", default="")
@writes
def create_user(username: str, role: str, unit_codes: tuple[str, ...], full_name: str) -> None:
    """Create an account; the password is read from a prompt, or from stdin when piped."""
    try:
        users.check_role(role)
        scope = [units.by_code(code) for code in unit_codes]
        password = _read_password()
        user = users.create_user(
            username=username, password=password, role=role, units=scope, full_name=full_name
        )
    except ServiceError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"Đã tạo tài khoản {user.username} ({user.role_label}).")


@click.command("generate-province")
@click.option("--seed", default=2021, show_default=True, type=int)
@click.option("--districts", default=30, show_default=True, type=click.IntRange(1, 200))
@click.option(
    "--communes",
    default=30,
    show_default=True,
    type=click.IntRange(1, 60),
    help="Commune-level units per district.",
)
@click.option("--years", default=5, show_default=True, type=click.IntRange(1, 20))
@click.option("--first-year", default=2021, show_default=True, type=int)
@writes
def generate_province(
    seed: int, districts: int, communes: int, years: int, first_year: int
) -> None:
    """Add a deterministic synthetic province (for benchmarks and load tests)."""
    sizes = synthetic.Sizes(
        districts=districts, communes_per_district=communes, years=years, first_year=first_year
    )
    expected = synthetic.expected_rows(sizes)
    with ExitStack() as stack:
        advance: list[Callable[[int], None]] = []

        def progress(_step: str, rows: int) -> None:
            if not advance:  # drawn from the first rows on: a refusal before them is one line
                bar = click.progressbar(length=expected, label="Đang tạo dữ liệu", file=sys.stderr)
                advance.append(stack.enter_context(bar).update)
            advance[0](rows)

        built = synthetic.generate(sizes, seed, progress=progress)
    db.session.commit()
    click.echo(
        f"Đã tạo tỉnh tổng hợp: {built.units} đơn vị, {built.plans} kế hoạch, "
        f"{built.drives} đợt, {built.results} kết quả."
    )


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    line = sys.stdin.readline()
    if not line:
        raise ServiceError("Không đọc được mật khẩu từ stdin.")
    return line.rstrip("\r\n")


#: Above this many rows an import shows a progress bar.
PROGRESS_ROWS = 2000


def _progress(rows: list) -> Iterable:
    if len(rows) <= PROGRESS_ROWS:
        return rows
    return click.progressbar(rows, label="Đang đọc", file=sys.stderr)


def _run_import(
    preview: imports.Preview,
    dry_run: bool,
    row: str = "dòng",
    apply: Callable[[], int] | None = None,
) -> None:
    """Prints the preview; applies it unless it is a dry run; fails with every problem.

    A refused file shows its problems only, a single one on the line that ends the command.
    ``row`` names what a change's number counts (a file's rows, the official list's);
    ``apply`` writes the preview when :func:`imports.apply` is not the whole of it."""
    if preview.problem_count == 1:
        (problem,) = preview.problems
        where = f"{row} {problem.row}: " if problem.row is not None else ""
        _fail(f"{where}{problem.message} Chưa có gì được lưu.")
    if not preview.ok:
        _report_problems(preview, row)
    for kind in imports.ChangeKind:
        click.echo(f"{kind.value}: {preview.count(kind)}")
    for change in preview.changes:
        if change.kind != imports.ChangeKind.UNCHANGED:
            arrow = f"{change.before} -> " if change.before else ""
            click.echo(f"  {row} {change.row}: {change.unit}: {arrow}{change.after}")
    if dry_run:
        db.session.rollback()
        click.echo("Chạy thử: chưa lưu gì.")
        return
    written = apply() if apply is not None else imports.apply(preview)
    db.session.commit()
    click.echo(f"Đã lưu {written} thay đổi.")


def _report_problems(preview: imports.Preview, row: str) -> NoReturn:
    for problem in preview.problems:
        where = f"{row} {problem.row}: " if problem.row is not None else ""
        click.echo(f"Lỗi: {where}{problem.message}", err=True)
    if preview.unlisted_problems:
        click.echo(f"... và {preview.unlisted_problems} lỗi khác không liệt kê.", err=True)
    _fail(f"{preview.problem_count} lỗi; chưa có gì được lưu.")


def _plan(ref: str, year: int | None) -> Plan:
    try:
        return plans.find_plan(ref, year)
    except ServiceError as error:
        _fail(error.message)
        raise


dry_run_option = click.option("--dry-run", is_flag=True, help="Print the preview, save nothing.")


@click.command("import-units")
@click.argument("file", type=click.File("rb"))
@click.option("--under", "root_code", required=True, help="Code of the unit they go under.")
@dry_run_option
@writes
def import_units(file: BinaryIO, root_code: str, dry_run: bool) -> None:
    """Import units from an .xlsx file (code, name, kind, parent, contact)."""
    try:
        root = units.by_code(root_code)
    except ServiceError as error:
        _fail(error.message)
    _run_import(imports.preview_units(file.read(), root, progress=_progress), dry_run)


@click.command("import-official-units")
@click.argument("province_ref", metavar="PROVINCE")
@dry_run_option
@writes
def import_official_units(province_ref: str, dry_run: bool) -> None:
    """Add a province and its communes, wards and special zones from the official list in
    force from 1 July 2025; PROVINCE is its code ("38") or name ("Thanh Hóa", accents and
    case optional). Units already there (by official code, else by name) are kept."""
    province = official_import.find_province(province_ref)
    click.echo(f"{province.name} ({province.code}), danh mục từ 01/07/2025:")
    result = official_import.preview(province)
    for split in result.reform.splits:
        options = ", ".join(f"{o.name} ({o.code})" for o in split.options)
        click.echo(
            _(
                "%(name)s được chia cho: %(options)s; nhận theo đề xuất: %(code)s.",
                name=split.unit.name,
                options=options,
                code=split.proposed,
            )
        )
    for line in result.unmatched:
        click.echo(_("Chưa đối chiếu được: %(what)s", what=line))
    _run_import(result, dry_run, row="mục", apply=lambda: official_import.apply(result))


@click.command("import-quotas")
@click.argument("plan_ref", metavar="PLAN")
@click.argument("file", type=click.File("rb"))
@click.option("--year", type=int, help="Year of issue, when the number is ambiguous.")
@dry_run_option
@writes
def import_quotas(plan_ref: str, file: BinaryIO, year: int | None, dry_run: bool) -> None:
    """Import a plan's quotas from an .xlsx file; PLAN is an id or a number as written."""
    plan = _plan(plan_ref, year)
    _run_import(imports.preview_quotas(file.read(), plan, progress=_progress), dry_run)


@click.command("import-results")
@click.argument("drive_id", type=int, metavar="DRIVE")
@click.argument("file", type=click.File("rb"))
@dry_run_option
@writes
def import_results(drive_id: int, file: BinaryIO, dry_run: bool) -> None:
    """Import a drive's results from an .xlsx file; DRIVE is the drive's id."""
    drive = db.session.get(Drive, drive_id)
    if drive is None:
        _fail(f"Không có đợt hiến máu {drive_id}.")
    _run_import(imports.preview_results(file.read(), drive, progress=_progress), dry_run)


@click.command("export-summary")
@click.argument("plan_ref", metavar="PLAN")
@click.option("-o", "--output", type=click.File("wb"), required=True)
@click.option("--year", type=int, help="Year of issue, when the number is ambiguous.")
def export_summary(plan_ref: str, output: BinaryIO, year: int | None) -> None:
    """Write a plan's summary workbook (.xlsx)."""
    output.write(summary_export(_plan(plan_ref, year)))
    click.echo(f"Đã ghi {output.name}.")


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="", help="What the token is for, e.g. the system that uses it.")
@writes
def create_token(username: str, name: str) -> None:
    """Make an API token for USERNAME and print it; it is shown this once only."""
    user = users.by_username(username)
    if user is None:
        _fail(f"Không có tài khoản {username}.")
    try:
        token, plain = tokens.create_token(user, name)
    except ServiceError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"Mã truy cập số {token.id} của {user.username} (chỉ hiển thị một lần):", err=True)
    click.echo(plain)


@click.command("list-tokens")
@click.argument("username", required=False)
def list_tokens(username: str | None) -> None:
    """List API tokens (of USERNAME, or of everyone); never the tokens themselves."""
    if username is None:
        found = tokens.all_tokens()
    else:
        user = users.by_username(username)
        if user is None:
            _fail(f"Không có tài khoản {username}.")
        found = tokens.tokens_of(user)
    for token in found:
        state = "thu hồi" if token.revoked_at else "hiệu lực"
        # In Vietnam time, as every page shows times.
        used = vietnam_time(token.last_used_at) or "-"
        created = vietnam_time(token.created_at)
        click.echo(f"{token.id}\t{token.user.username}\t{state}\t{created}\t{used}\t{token.name}")


@click.command("revoke-token")
@click.argument("token_id", type=int)
@writes
def revoke_token(token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see list-tokens): it is refused from now on."""
    try:
        tokens.revoke(tokens.by_id(token_id))
    except ServiceError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"Đã thu hồi mã truy cập số {token_id}.")


@click.command("send-reminders")
@click.argument("drive_id", type=int, metavar="DRIVE_ID")
@dry_run_option
@writes
def send_reminders(drive_id: int, dry_run: bool) -> None:
    """E-mail each unit that owes DRIVE_ID's report (at most once a day per unit)."""
    drive = db.session.get(Drive, drive_id)
    if drive is None:
        _fail(f"Không có đợt hiến máu {drive_id}.")
    mail = MailSettings.from_config(current_app.config)
    if mail is None and not dry_run:
        _fail(reminders.no_mail_server())
    if not current_app.config.get("PUBLIC_BASE_URL"):
        _fail("Cần đặt PUBLIC_BASE_URL (địa chỉ của ứng dụng) để thư có đường dẫn báo cáo.")
    done = reminders.send_reminders(
        drive,
        within=select(OrgUnit.id),
        today=vietnam_today(),
        link=report_link,
        mail=mail,
        dry_run=dry_run,
    )
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for reminder in done.sent:
        verb = "Sẽ gửi" if dry_run else "Đã gửi"
        click.echo(f"{verb}: {reminder.unit.code}\t{reminder.unit.name}\t{reminder.email}")
    for reminder, why in done.refused:
        click.echo(f"Không gửi được: {reminder.unit.code}\t{reminder.email}\t{why}", err=True)
    if not done.sent and not done.refused:
        click.echo("Không có đơn vị nào cần nhắc: không gửi e-mail nào.")
    elif dry_run:
        click.echo(f"Chạy thử: {len(done.sent)} e-mail nhắc sẽ được gửi; chưa gửi gì.")
        if mail is None:
            click.echo(reminders.no_mail_server())
    else:
        click.echo(f"Đã gửi {len(done.sent)} e-mail nhắc.")


commands = [
    init_db,
    load_demo,
    serve_demo,
    create_user,
    generate_province,
    import_units,
    import_official_units,
    import_quotas,
    import_results,
    export_summary,
    create_token,
    list_tokens,
    revoke_token,
    send_reminders,
]
