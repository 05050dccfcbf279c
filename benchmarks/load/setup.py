"""The database, the accounts and the server of one load-test run."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import delete, select

from campaign import create_app
from campaign.database import writing
from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, Result, Role
from campaign.services import synthetic, tokens, users

ROOT = Path(__file__).resolve().parents[2]
LEADER_PASSWORD = "load test leader"


@dataclass
class Stage:
    """What the simulated users need to know."""

    url: str
    drive_id: int
    plan_id: int
    #: (unit code, bearer token) per reporter; two reporters share each unit to make conflicts.
    reporters: list[tuple[str, str]] = field(default_factory=list)
    leader: str = "leader"


def start_postgres(state_dir: Path) -> str:
    env = {**os.environ, "PG_STATE_DIR": str(state_dir)}
    out = subprocess.run(
        [str(ROOT / "scripts" / "pg-test-server"), "start"],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def stop_postgres(state_dir: Path) -> None:
    env = {**os.environ, "PG_STATE_DIR": str(state_dir)}
    subprocess.run([str(ROOT / "scripts" / "pg-test-server"), "stop"], env=env, check=False)


def prepare(database_url: str, reporters: int) -> Stage:
    """A small province; the target drive's results for the reporters' units are cleared so
    the run starts by creating them (concurrent creation is the first conflict)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "load"})
    with app.app_context(), writing():
        upgrade()
        synthetic.generate(synthetic.Sizes(districts=2, communes_per_district=12, years=1))
        plan = db.session.scalars(select(Plan).where(Plan.parent_id.is_not(None)).limit(1)).one()
        drive = db.session.scalars(select(Drive).where(Drive.plan_id == plan.id).limit(1)).one()
        district = db.session.get_one(OrgUnit, plan.issuer_id)
        communes = db.session.scalars(
            select(OrgUnit).where(OrgUnit.parent_id == district.id).order_by(OrgUnit.code)
        ).all()
        units = communes[: max(1, reporters // 2)]
        db.session.execute(
            delete(Result).where(
                Result.drive_id == drive.id, Result.unit_id.in_([u.id for u in units])
            )
        )
        stage = Stage(url="", drive_id=drive.id, plan_id=plan.id)
        for n in range(reporters):
            unit = units[n % len(units)]
            reporter = users.by_username(f"reporter-{unit.code}") or users.create_user(
                username=f"reporter-{unit.code}",
                password=secrets.token_urlsafe(12),
                role=Role.REPORTER,
                units=[unit],
            )
            stage.reporters.append((unit.code, tokens.create_token(reporter, "load test")[1]))
        users.create_user(
            username=stage.leader, password=LEADER_PASSWORD, role=Role.LEADER, units=[district]
        )
        db.session.commit()
        db.engine.dispose()
    return stage


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    database_url: str, workers: int, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "CAMPAIGN_ENV": "production",
    }
    # As the README runs it in production: the app loaded (and its dashboards made) once,
    # before the workers are forked.
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--preload",
        "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "--error-logfile", "-",
        "campaign.wsgi:app",
    ]  # fmt: skip
    with log.open("wb") as out:  # the server keeps its own copy of the descriptor
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: see {log}")
        try:
            urllib.request.urlopen(url + "/dang-nhap", timeout=2).read()
            return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")
