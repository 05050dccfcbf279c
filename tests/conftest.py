"""Fixtures: one migrated database per test run (SQLite by default, PostgreSQL when
``TEST_DATABASE_URL`` is set), emptied after every test."""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from playwright.sync_api import Browser, Playwright, sync_playwright
from sqlalchemy import Engine, create_engine, event, make_url, select, text
from sqlalchemy.exc import DBAPIError
from werkzeug.test import TestResponse

from campaign import create_app
from campaign.extensions import db, limiter
from campaign.models import Plan, User
from campaign.services import demo, public, summary
from tests import factories
from tests.browser import CHROMIUM, CHROMIUM_ARGS, LiveServer


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    """The run's database: a SQLite file of its own, or ``TEST_DATABASE_URL``. The suite
    runs in as many processes as the machine has cores (pytest-xdist); each worker gets a
    PostgreSQL database of its own beside that one, made on first use."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if url:
        return url if worker_id == "master" else worker_database(url, worker_id)
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


def worker_database(url: str, worker_id: str) -> str:
    """``url`` with the database named after the worker, created if missing (the role needs
    CREATEDB, which scripts/pg-test-server gives it)."""
    base = make_url(url)
    name = f"{base.database}_{worker_id}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = text("SELECT 1 FROM pg_database WHERE datname = :name")
            if connection.scalar(exists, {"name": name}) is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError as error:
        pytest.exit(
            f"Cannot create the worker database {name} ({error.orig}). Give the role CREATEDB,"
            " or run the suite in one process: pytest -n 0",
            returncode=1,
        )
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def make_app(database_url: str, **extra: object) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SQLITE_BUSY_TIMEOUT": 10,
        **extra,
    }
    return create_app(config)


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    """Brings the test database to the latest migration once per run."""
    app = make_app(database_url)
    with app.app_context():
        reset_schema()
        upgrade()
        db.engine.dispose()
    return database_url


def reset_schema() -> None:
    """Drops every table, so a run starts from an empty database."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            db.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def shared_app(migrated: str) -> Flask:
    """One app for the run: making one costs 0,1 s (the API's OpenAPI document and the
    URL rules are built each time), a sixth of the suite's time when made per test."""
    return make_app(migrated)


@pytest.fixture
def app(request: pytest.FixtureRequest, shared_app: Flask) -> Iterator[Flask]:
    """The shared app as new: its settings as made, an empty login throttle, an empty
    public page cache, nothing kept of an earlier test's figures, and empty tables after
    the test. A test marked ``own_app`` (one that adds a route) gets an app of its own."""
    own = request.node.get_closest_marker("own_app") is not None
    app = make_app(request.getfixturevalue("migrated")) if own else shared_app
    config, wsgi_app = dict(app.config), app.wsgi_app  # a test may wrap it in ProxyFix
    with app.app_context():
        limiter.reset()
        public.init_app(app)
        summary.forget_kept_figures()  # their tokens would not match: but a query each
        summary.forget_kept_trees()
        try:
            yield app
        finally:
            db.session.rollback()
            empty_tables()
            db.session.remove()
            db.engine.dispose()
            app.config.clear()
            app.config.update(config)
            app.wsgi_app = wsgi_app  # type: ignore[method-assign]


def empty_tables() -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(t.name for t in db.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


class RequestClient(FlaskClient):
    """Serves each request in a context of its own, as a server does.

    The test keeps an application context open to call services; without this,
    requests would share it, and with it ``g``, the database session and the
    cached locale and user, which hides bugs."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = RequestClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def engine_name(app: Flask) -> str:
    return db.engine.dialect.name


class QueryCounter:
    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        self.engine = engine

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> QueryCounter:
    return QueryCounter(db.engine)


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user: User, password: str = factories.PASSWORD):
        return self.client.post(
            "/dang-nhap", data={"username": user.username, "password": password}
        )

    def sign_in(self, user: User) -> None:
        """Signs in without the password check, for tests that are not about signing in
        (a password hash costs ~50 ms on purpose)."""
        with self.client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["signed_in_at"] = session["seen_at"] = time.time()

    def logout(self):
        return self.client.post("/dang-xuat")


@pytest.fixture(scope="session")
def _password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(factories.PASSWORD)


@pytest.fixture
def fast_passwords(monkeypatch: pytest.MonkeyPatch, _password_hash: str) -> None:
    """Users get one precomputed hash of the test password, for tests that create users
    but are not about passwords; pair with ``auth.sign_in``."""
    monkeypatch.setattr("campaign.models.users.generate_password_hash", lambda _p: _password_hash)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def demo_plan(app: Flask, client: FlaskClient, auth: AuthActions) -> Plan:
    """The demo's district plan (34 lines), its issuer's leader signed in."""
    demo.load(reform=False)
    plan = db.session.scalar(select(Plan).where(Plan.number == "15/KH-BCĐ"))
    assert plan is not None
    user = factories.user("leader", [plan.issuer])
    factories.commit()
    auth.sign_in(user)
    return plan


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """The system Chromium, one per module that asks. No skip when it cannot start: a
    browser test that did not run must not pass."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def live_database(request: pytest.FixtureRequest, folder: Path) -> str:
    """A database for a module that serves the app for real: the suite's PostgreSQL
    database, or a new migrated SQLite file in ``folder``."""
    if os.environ.get("TEST_DATABASE_URL", "").strip():
        return str(request.getfixturevalue("migrated"))
    url = "sqlite:///" + str(folder / "live.sqlite")
    with make_app(url).app_context():
        upgrade()
        db.engine.dispose()
    return url


def serve_for_real(
    request: pytest.FixtureRequest, folder: Path
) -> Iterator[tuple[Flask, LiveServer]]:
    """The app with CSRF on, served on localhost over :func:`live_database`, for a module's
    browser tests: ``yield from`` it in a module-scoped fixture."""
    app = make_app(live_database(request, folder), WTF_CSRF_ENABLED=True)
    server = LiveServer(app).start()
    yield app, server
    server.stop()
    with app.app_context():
        db.engine.dispose()
