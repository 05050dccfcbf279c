"""Who sees which plans and units: checked in the service layer and at the routes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import AuditEntry
from campaign.services import plans
from campaign.services.scope import Scope
from tests import factories as f


@pytest.fixture
def two_districts(app):
    province = f.unit("Tỉnh", "province")
    x = f.unit("Huyện X", "district", province)
    y = f.unit("Huyện Y", "district", province)
    xa, ya = f.unit("Xã X1", "commune", x), f.unit("Xã Y1", "commune", y)
    province_plan = f.plan(province)
    plans.set_quotas(province_plan, {x: 100, y: 100})
    plan_x, plan_y = f.plan(x, parent=province_plan), f.plan(y, parent=province_plan)
    users = {
        "admin": f.user("admin"),
        "org_x": f.user("organiser", [x]),
        "leader_x": f.user("leader", [x]),
        "rep_x1": f.user("reporter", [xa]),
    }
    f.commit()
    return {
        "x": x,
        "y": y,
        "xa": xa,
        "ya": ya,
        "province_plan": province_plan,
        "plan_x": plan_x,
        "plan_y": plan_y,
        **users,
    }


def visible(user, d) -> set[str]:
    ids = {plan.id for plan in db.session.scalars(Scope(user).plans())}
    return {k for k in ("province_plan", "plan_x", "plan_y") if d[k].id in ids}


def test_plans_visible_by_role(two_districts):
    d = two_districts
    assert visible(d["admin"], d) == {"province_plan", "plan_x", "plan_y"}
    # The province plan gives X a quota, so X's organiser and leader see it too.
    assert visible(d["org_x"], d) == {"province_plan", "plan_x"}
    assert visible(d["leader_x"], d) == {"province_plan", "plan_x"}
    assert visible(d["rep_x1"], d) == set()


def test_managing_and_reporting(two_districts):
    d = two_districts
    org, leader, rep = Scope(d["org_x"]), Scope(d["leader_x"]), Scope(d["rep_x1"])
    assert org.can_manage_plan(d["plan_x"]) and not org.can_manage_plan(d["plan_y"])
    assert not org.can_manage_plan(d["province_plan"])
    assert not leader.can_manage_plan(d["plan_x"])
    assert org.can_manage_unit(d["xa"]) and not org.can_manage_unit(d["x"])
    assert not org.can_manage_unit(d["ya"])
    assert rep.can_report(d["xa"]) and not rep.can_report(d["ya"])
    assert not rep.can_report(d["x"])
    assert not leader.can_report(d["xa"])


def test_plan_page_outside_scope_is_refused_and_logged(client, auth, two_districts):
    d = two_districts
    auth.login(d["org_x"])
    assert client.get(f"/ke-hoach/{d['plan_x'].id}").status_code == 200
    assert client.get(f"/ke-hoach/{d['plan_y'].id}").status_code == 403
    db.session.rollback()
    refused = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "access.refused"))
    assert refused.user_id == d["org_x"].id
    assert refused.after["path"] == f"/ke-hoach/{d['plan_y'].id}"


def test_a_plans_reporting_reads_the_units_of_its_tree_the_user_sees(two_districts):
    """The issuer's subtree when the user sees the issuer, else only the user's own units:
    the same set as the scope's, read through a smaller query."""
    w = two_districts
    province_plan, plan_x = w["province_plan"], w["plan_x"]

    def seen(who: str, plan) -> set[int]:
        scope = Scope(w[who])
        return set(db.session.scalars(scope.units_of_plan(plan)))

    def scope_ids(who: str) -> set[int]:
        return set(db.session.scalars(Scope(w[who]).unit_ids()))

    x_tree = {w["x"].id, w["xa"].id}
    assert seen("admin", plan_x) == x_tree
    assert seen("org_x", plan_x) == x_tree == scope_ids("org_x")
    assert seen("org_x", province_plan) == scope_ids("org_x")  # not the whole province
    assert seen("rep_x1", plan_x) == {w["xa"].id}  # a reporter: own units only
    assert Scope(w["leader_x"]).covers(w["xa"].id)
    assert not Scope(w["leader_x"]).covers(w["y"].id)


def test_a_unit_checked_alone_is_seen_as_the_whole_scope_would_see_it(two_districts, count_queries):
    """A page checks a unit or two by its ancestors, not by reading every unit of the scope
    (a province leader's is a national tree); many checks (an import's rows) read the
    scope's units once. Both answer as the set of the scope's units does."""
    w = two_districts
    everyone = [w[k] for k in ("x", "y", "xa", "ya")] + [f.unit("Xã X2", "commune", w["x"])]
    f.commit()
    for who in ("admin", "org_x", "leader_x", "rep_x1"):
        user = w[who]
        expected = [u.id in set(db.session.scalars(Scope(user).unit_ids())) for u in everyone]
        alone = [Scope(user).can_see_unit(unit) for unit in everyone]
        many = Scope(user)
        together = [many.can_see_unit(unit) for _ in range(3) for unit in everyone]
        assert alone == expected and together == expected * 3, who
    with count_queries:
        assert Scope(w["leader_x"]).can_see_unit(w["xa"])
    assert len(count_queries.statements) == 1
    assert "unit_chain" in count_queries.statements[0]


def test_the_plans_followed_are_those_whose_drive_pages_open(
    client, auth, two_districts, count_queries
):
    """``followed_plans`` (a unit's page links its drives by it) answers for many plans at
    once what each drive's page checks one by one: a plan issued in the scope, at any
    depth below it, or one giving a quota inside it; for the roles that read a tree."""
    d = two_districts
    province = d["x"].parent
    plan_xa = f.plan(d["xa"], parent=d["plan_x"])  # issued two levels below a root
    others = {
        "leader_province": f.user("leader", [province]),
        "org_y": f.user("organiser", [d["y"]]),
        "leader_xa": f.user("leader", [d["xa"]]),
    }
    every = [d["province_plan"], d["plan_x"], d["plan_y"], plan_xa]
    drives = {plan.id: f.drive(plan) for plan in every}
    f.commit()
    users = [d["admin"], d["org_x"], d["leader_x"], d["rep_x1"], *others.values()]
    seen = {}
    for user in users:
        followed = Scope(user).followed_plans([plan.id for plan in every])
        auth.sign_in(user)
        opened = {
            plan.id
            for plan in every
            if client.get(f"/bao-cao/dot/{drives[plan.id].id}").status_code == 200
        }
        assert followed == opened, user.username
        seen[user.username] = followed
    ids = {name: plan.id for name, plan in zip(("p", "x", "y", "xa"), every, strict=True)}
    assert seen[d["leader_x"].username] == {ids["p"], ids["x"], ids["xa"]}
    assert seen[others["leader_province"].username] == set(ids.values())
    assert seen[others["leader_xa"].username] == {ids["xa"]}
    assert seen[d["rep_x1"].username] == set()
    assert Scope(d["leader_x"]).followed_plans([]) == set()
    # Issued inside the scope, at any depth: one query up the issuers' chains, however
    # many plans (a national plan tree's drives on the nation's unit page).
    with count_queries:
        assert Scope(others["leader_province"]).followed_plans(ids.values()) == set(ids.values())
    assert count_queries.count == 1
