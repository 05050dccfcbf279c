"""A refused request writes nothing of its own; only the refusal's audit entry is kept."""

from __future__ import annotations

import click
import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from campaign.auth.access import keep_only_refusals, require
from campaign.extensions import db
from campaign.models import AuditEntry, OrgUnit, Role
from campaign.services import audit, demo
from tests import factories as f


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_refused_access_commits_nothing_until_the_request_ends(app):
    user = f.user(Role.ADMIN)
    f.commit()
    with app.test_request_context("/ke-hoach/1", method="POST"):
        f.unit("Xã flushed before the refusal")
        with pytest.raises(Forbidden):
            require(False, user)
        # Nothing is committed in the middle of the view, not even the refusal.
        db.session.rollback()
        assert "access.refused" not in _actions()
        assert keep_only_refusals()
    db.session.rollback()
    assert _actions().count("access.refused") == 1
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 0


def test_refused_page_keeps_only_the_refusal(app, client, auth):
    @app.post("/thu-tu-choi")
    def write_then_refuse() -> str:
        f.unit("Xã written by a refused request")
        require(False)
        return "unreachable"

    user = f.user(Role.ADMIN)
    f.commit()
    auth.sign_in(user)
    assert client.post("/thu-tu-choi").status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 0
    assert [a for a in _actions() if a != "auth.login"][-1:] == ["access.refused"]
    assert "unit.create" not in _actions()


def test_a_refused_command_keeps_nothing_it_flushed(runner, monkeypatch):
    """Whichever way a command stops, what its services flushed is dropped."""

    def flush_then_refuse() -> None:
        f.unit("Xã flushed before the refusal")
        audit.record("unit.create", entity="org_unit")
        db.session.flush()
        raise click.ClickException("Từ chối.")

    monkeypatch.setattr(demo, "load", flush_then_refuse)
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 0
    assert _actions() == []
