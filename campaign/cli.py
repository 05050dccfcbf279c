"""Command-line entry points: thin wrappers over the services."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec

import click
from flask import current_app
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from campaign.database import writing
from campaign.extensions import db
from campaign.models import Role
from campaign.services import demo, tokens, units, users
from campaign.services.errors import ServiceError

P = ParamSpec("P")


def writes(command: Callable[P, None]) -> Callable[P, None]:
    """The command's transactions take SQLite's write lock when they begin."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        with writing():
            command(*args, **kwargs)

    return wrapper


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    upgrade()
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
    upgrade()
    with writing():
        if demo.database_is_empty():
            demo.load()
        accounts = demo.reset_demo_accounts()
        db.session.commit()
    click.echo("\nTài khoản mẫu (mật khẩu mới được tạo ở mỗi lần chạy):")
    for username, role, password in accounts:
        click.echo(f"  {username:<16} {role:<20} mật khẩu: {password}")
    click.echo(f"\nMở http://{host}:{port}/ và đăng nhập bằng một tài khoản ở trên.\n")
    # app.run() refuses to start inside a "flask" command; serve with werkzeug directly.
    run_simple(host, port, current_app._get_current_object(), threaded=True)


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


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    line = sys.stdin.readline()
    if not line:
        raise ServiceError("Không đọc được mật khẩu từ stdin.")
    return line.rstrip("\r\n")


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
        used = token.last_used_at.isoformat(" ", "minutes") if token.last_used_at else "-"
        click.echo(
            f"{token.id}\t{token.user.username}\t{state}\t"
            f"{token.created_at.isoformat(' ', 'minutes')}\t{used}\t{token.name}"
        )


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


commands = [init_db, load_demo, serve_demo, create_user, create_token, list_tokens, revoke_token]
