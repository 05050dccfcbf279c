"""A server process makes the dashboards read most as it starts (``campaign.warm_up``,
called by ``campaign.wsgi``): their first reader after a restart gets kept figures."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest

from campaign import warm_up
from campaign.models import Plan
from campaign.services import plans, summary
from tests import factories as f
from tests.conftest import make_app


@pytest.fixture
def made(monkeypatch) -> list[int]:
    """The plans whose readings were made (not kept, nor brought up to date)."""
    seen: list[int] = []
    make = summary._made

    def spy(plan: Plan, *args: Any) -> Any:
        seen.append(plan.id)
        return make(plan, *args)

    monkeypatch.setattr(summary, "_made", spy)
    return seen


def _plans() -> dict[str, Plan]:
    """The latest year's active plans with no plan above them, most quota entries first;
    and a closed one, one under another and one of the year before, each with more."""
    province = f.unit("Tỉnh Thanh Hóa", "province")
    communes = [f.unit(f"Xã {n}", "commune", province) for n in range(4)]

    def plan(number: str, quotas: int, year: int = 2026, **kw: Any) -> Plan:
        made = f.plan(province, number=number, issued_on=date(year, 1, 5), year=year, **kw)
        plans.set_quotas(made, {commune: 5 for commune in communes[:quotas]})
        f.drive(made, day=date(year, 3, 3))
        return made

    made = {
        "small": plan("2/KH-BCĐ", 1),
        "big": plan("1/KH-BCĐ", 3),
        "none": plan("3/KH-BCĐ", 0),
        "closed": plan("4/KH-BCĐ", 4),
        "earlier": plan("5/KH-BCĐ", 4, year=2025),
    }
    made["under"] = plan("6/KH-BCĐ", 4, parent=made["big"])
    plans.set_status(made["closed"], "closed")
    f.commit()
    return made


def test_the_dashboards_read_most_are_made_as_a_server_starts(
    app, client, auth, made, database_url
):
    """The two with the most quota entries, made and kept: their first reader makes
    nothing. The others are made at their first reader, as before. (The server starting is
    an app of its own: it lets go of its connections, the suite's app keeps its own.)"""
    every = _plans()
    leader = f.user("leader", [every["big"].issuer])
    f.commit()
    auth.sign_in(leader)
    summary.forget_kept_figures()
    assert warm_up(make_app(database_url)) == [every["big"].id, every["small"].id]
    assert sorted(made) == sorted([every["big"].id, every["small"].id])
    made.clear()
    for name in ("big", "small"):
        assert client.get(f"/ke-hoach/{every[name].id}").status_code == 200
    assert made == []
    for name in ("none", "closed", "earlier", "under"):
        assert client.get(f"/ke-hoach/{every[name].id}").status_code == 200
        assert made[-1] == every[name].id, name


def test_without_warming_nothing_is_made_at_start(app, made, database_url):
    _plans()
    summary.forget_kept_figures()
    assert warm_up(make_app(database_url, WARM_DASHBOARDS=False)) == []
    assert made == []


def test_a_database_not_made_yet_leaves_the_dashboards_to_their_readers(tmp_path, caplog):
    """Started before ``init-db``: nothing made, a warning logged, the server starts."""
    empty = make_app(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with caplog.at_level(logging.WARNING):
        assert warm_up(empty) == []
    assert "dashboards not made at start" in caplog.text
