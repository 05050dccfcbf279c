"""Voluntary blood-donation campaigns: plans, quotas, results and completion rates."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from campaign import api, config, database, i18n, numbers, public
from campaign.api import errors as api_errors
from campaign.extensions import csrf, db, limiter, login_manager, migrate
from campaign.services import public as public_pages

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.session_interface = public.SessionInterface()
    app.config.from_mapping(config.from_environment(app.instance_path, test_config or {}))
    register_proxy_fix(app)
    register_extensions(app)
    register_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def warm_up(app: Flask) -> list[int]:
    """Makes the dashboards read most as a server process starts (``dashboard.warm``),
    unless ``WARM_DASHBOARDS`` is off; then lets go of the database's connections, so that
    the processes forked from this one (``gunicorn --preload``) open their own. A database
    that cannot be read (not made yet, or down) leaves them to their first reader, as
    without it: logged, not raised. The ids of the plans made."""
    if not app.config["WARM_DASHBOARDS"]:
        return []
    from campaign.formatting import vietnam_today
    from campaign.services import dashboard

    with app.app_context():
        try:
            return dashboard.warm(vietnam_today(), app.config["DASHBOARD_PAGE_SIZE"])
        except SQLAlchemyError:
            app.logger.warning("dashboards not made at start", exc_info=True)
            return []
        finally:
            db.session.remove()
            db.engine.dispose()


def register_proxy_fix(app: Flask) -> None:
    """Behind reverse proxies, the client's address and scheme come from their headers."""
    x_for, x_proto = app.config["PROXY_FIX_X_FOR"], app.config["PROXY_FIX_X_PROTO"]
    if x_for or x_proto:
        proxied = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto)
        app.wsgi_app = proxied  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if database.is_sqlite(url):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.sqlite_engine_options(app)
    db.init_app(app)
    if database.is_sqlite(url):
        with app.app_context():
            database.configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT"])
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=database.is_sqlite(url))
    csrf.init_app(app)
    limiter.init_app(app)
    public_pages.init_app(app)
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
    login_manager.login_message_category = "info"


def register_converters(app: Flask) -> None:
    # Before any route is added: every ``<int:...>`` id is bounded to what both engines hold.
    app.url_map.converters["int"] = numbers.IdConverter
    app.url_map.converters["slug"] = public.SlugConverter


def register_blueprints(app: Flask) -> None:
    from campaign.admin.routes import bp as admin_bp
    from campaign.auth.routes import bp as auth_bp
    from campaign.exports.routes import bp as exports_bp
    from campaign.history.routes import bp as history_bp
    from campaign.imports.routes import bp as imports_bp
    from campaign.main.routes import bp as main_bp
    from campaign.offline.routes import bp as offline_bp
    from campaign.plans.routes import bp as plans_bp
    from campaign.public.routes import bp as public_bp
    from campaign.reports.routes import bp as reports_bp
    from campaign.tokens.routes import bp as tokens_bp
    from campaign.units.routes import bp as units_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(units_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(history_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(offline_bp)
    api.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    messages = {
        400: _l("Yêu cầu không hợp lệ."),
        403: _l("Bạn không có quyền truy cập trang này."),
        404: _l("Không tìm thấy trang hoặc dữ liệu được yêu cầu."),
        405: _l("Phương thức không được hỗ trợ."),
        413: _l("Tệp tải lên quá lớn."),
        429: _l("Quá nhiều lần đăng nhập sai. Vui lòng đợi ít phút rồi thử lại."),
        500: _l("Đã có lỗi phía máy chủ. Thao tác chưa được lưu; vui lòng thử lại."),
    }
    public_messages = {
        **messages,
        404: _l("Không có trang công khai ở địa chỉ này, hoặc kế hoạch đã thôi công khai."),
        429: _l("Quá nhiều yêu cầu từ địa chỉ này. Vui lòng đợi một phút rồi thử lại."),
    }

    def render_error(error: Any) -> tuple[str, int] | Response:
        is_json = request.path.endswith(".json") and public.is_public_request()
        if api.is_api_request(request.path) or is_json:  # never an HTML page to a program
            return api_errors.handle_http_exception(error)
        code = getattr(error, "code", 500) or 500
        if public.is_public_request():  # a page that reads no session, as its views
            message = public_messages.get(code, messages[500])
            return public.render("public/error.html", code=code, message=message), code
        message = messages.get(code, messages[500])
        return render_template("error.html", code=code, message=message), code

    for code in messages:
        app.register_error_handler(code, render_error)


def register_request_hooks(app: Flask) -> None:
    from campaign.auth import access

    @app.before_request
    def refuse_nul_characters() -> None:
        # No keyboard types a NUL, and PostgreSQL cannot store one: the query would fail
        # deep inside a view. A request carrying one is malformed; say so before any work.
        fields = [*request.args.items(multi=True), *(request.view_args or {}).items()]
        if request.mimetype in FORM_TYPES:
            fields += request.form.items(multi=True)
            # An upload's file name is stored with the pending import: it is typed input too.
            fields += [
                (key, upload.filename or "") for key, upload in request.files.items(multi=True)
            ]
        if any("\x00" in f"{key}{value}" for key, value in fields):
            abort(400)

    @app.after_request
    def commit_once(response: Response) -> Response:
        # Services flush; the request commits once, and only when it succeeded. A refused
        # access keeps its audit entry and nothing else the request wrote.
        if access.keep_only_refusals():
            return response
        if request.method not in database.READ_ONLY_METHODS and response.status_code < 400:
            db.session.commit()
        return response

    @app.after_request
    def security_headers(response: Response) -> Response:
        # A published plan is made to be shown in other sites' frames; no other page is.
        published = public.is_public_request()
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; "
            + ("frame-ancestors *" if published else "frame-ancestors 'none'"),
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not published:
            response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["STRICT_TRANSPORT_SECURITY"]:
            response.headers["Strict-Transport-Security"] = app.config["STRICT_TRANSPORT_SECURITY"]
        # What a signed-in user or a token sees stays out of caches, the browser's included:
        # a shared computer's back button or disk must not show it to the next person.
        # A published page is the same for everyone and reads no session: it says itself.
        if (
            request.endpoint != "static"
            and not published
            and (api.is_api_request(request.path) or current_user.is_authenticated)
        ):
            response.headers["Cache-Control"] = "no-store"
        return response


def register_template_helpers(app: Flask) -> None:
    from campaign import labels
    from campaign.auth import access
    from campaign.formatting import FILTERS

    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals["labels"] = labels
    app.jinja_env.globals.update(MANAGERS=access.MANAGERS, TREE_READERS=access.TREE_READERS)


def register_commands(app: Flask) -> None:
    from campaign.cli import commands

    for command in commands:
        app.cli.add_command(command)
