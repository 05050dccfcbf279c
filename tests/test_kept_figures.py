"""A plan's figures are kept between requests and never shown once stale: every write to a
plan, a drive, a quota, a result or the unit tree, however made, changes the stamp they
are kept under, in the writing transaction (database triggers, on the engine the suite
runs on). After each write, what the dashboard, the API's summary and a comparison give is
what they give with nothing kept."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from campaign.extensions import db
from campaign.models import DataStamp, Drive, OrgUnit, Plan, Quota, Result
from campaign.rates import Targets
from campaign.services import dashboard as dashboard_service
from campaign.services import plans, results, summary, units
from campaign.services.dashboard import Filters, dashboard
from campaign.services.errors import ServiceError
from campaign.services.kept import DERIVED, Kept
from tests import factories as f
from tests.test_comparison import Reform

TODAY = date(2026, 12, 6)


@pytest.fixture
def reform(app, fast_passwords) -> Reform:
    """A 2026 province plan compared with its 2025 plan across the reform of 2025."""
    made = Reform()
    plans.set_comparison(made.after, made.before)
    f.commit()
    return made


def _view(plan_id: int, **filters: Any) -> dict[str, Any]:
    """What the dashboard, its pages and the API's summary show, as plain data."""
    plan = db.session.get_one(Plan, plan_id)
    board = dashboard(plan, Filters(**filters), TODAY, page_size=2)
    made = summary.plan_summary(plan)
    compared = summary.comparison(plan, made)
    progress = board.progress
    # The whole tree, as a unit's page reads it (each unit's months), and the approved only.
    whole, tree, months = summary.read_plan_and_months(plan, whole_tree=True)
    read = summary.read_plan_and_months(plan, compared=True)  # the dashboard's reading
    approved = summary.plan_summary(plan, approved_only=True)
    return {
        "whole": (whole, _without_zeros(months)),
        "trees": ([node.id for node in tree], [node.id for node in read[1]]),
        "months": _without_zeros(read[2]),
        "approved": approved,
        "api": summary.figures(made, plan.targets, compared),
        "page": [
            (line.unit.name, line.collected, line.status, board.compared.of(line.unit.id))
            for line in board.lines
        ],
        "compared": (board.compared.total, board.compared.total_now),
        "totals": board.summary.totals,
        "groups": [(group.key, group.totals) for group in board.groups],
        "chart": [line.unit.name for line in board.chart],
        "progress": progress and [(p.month, p.collected, p.cumulative) for p in progress.points],
        "pages": (board.page, board.pages, board.matched),
    }


def _without_zeros(months: summary.Monthly) -> summary.Monthly:
    """The months as they count: a unit with nothing left in a month counts as none."""
    counted = {m: {u: bags for u, bags in by.items() if any(bags)} for m, by in months.items()}
    return {m: by for m, by in counted.items() if by}


def _fresh(plan_id: int, **filters: Any) -> dict[str, Any]:
    """The same with nothing kept."""
    summary.forget_kept_figures()
    summary.forget_kept_trees()
    return _view(plan_id, **filters)


def _stamp() -> tuple[str, str] | None:
    row = db.session.execute(select(DataStamp.tree, DataStamp.figures)).one_or_none()
    return None if row is None else (row[0], row[1])


# --- The writes ------------------------------------------------------------------------


def _new_result(r: Reform) -> None:
    drive = f.drive(r.after, name="Đợt 2", day=date(2026, 5, 20))
    f.result(drive, r.ngoc, 7)


def _result_by_hand(r: Reform) -> None:
    db.session.execute(
        text("UPDATE result SET bags_250 = bags_250 + 3, registered = registered + 3")
    )


def _result_deleted_by_hand(r: Reform) -> None:
    db.session.execute(
        text("DELETE FROM result WHERE unit_id = :id AND drive_id IN "
             "(SELECT id FROM drive WHERE plan_id = :plan)"),
        {"id": r.ngoc.id, "plan": r.after.id},
    )  # fmt: skip


def _result_returned(r: Reform) -> None:
    drive = r.after.drives[0]
    returned = results.find(drive, r.school)
    assert returned is not None
    results.return_for_correction(returned, "Sai số liệu")


def _quota_set(r: Reform) -> None:
    plans.set_quotas(r.after, {r.ngoc: 4})


def _quota_by_hand(r: Reform) -> None:
    db.session.execute(text("UPDATE quota SET amount = amount * 2"))


def _drive_moved_by_hand(r: Reform) -> None:
    db.session.execute(
        text("UPDATE drive SET starts_on = :day, ends_on = :day WHERE plan_id = :plan"),
        {"day": date(2026, 9, 1), "plan": r.after.id},
    )


def _rule_by_hand(r: Reform) -> None:
    """The earlier plan counts by 250 ml: the school's 350 ml bags count 1,4 units each."""
    db.session.execute(
        text("UPDATE plan SET counting_rule = 'ml250' WHERE id = :id"), {"id": r.before.id}
    )


def _comparison_dropped(r: Reform) -> None:
    plans.set_comparison(r.after, None)


def _earlier_result_by_hand(r: Reform) -> None:
    db.session.execute(
        text("UPDATE result SET bags_250 = bags_250 + 10, registered = registered + 10 "
             "WHERE drive_id IN (SELECT id FROM drive WHERE plan_id = :plan)"),
        {"plan": r.before.id},
    )  # fmt: skip


def _unit_renamed(r: Reform) -> None:
    ngoc = r.ngoc
    units.update_unit(ngoc, code=ngoc.code, name="Xã Ngọc Mới", kind=ngoc.kind, parent=ngoc.parent)


WRITES: dict[str, Callable[[Reform], None]] = {
    "new-result": _new_result,
    "result-by-hand": _result_by_hand,
    "result-deleted-by-hand": _result_deleted_by_hand,
    "result-returned": _result_returned,
    "quota-set": _quota_set,
    "quota-by-hand": _quota_by_hand,
    "drive-moved-by-hand": _drive_moved_by_hand,
    "rule-by-hand": _rule_by_hand,
    "comparison-dropped": _comparison_dropped,
    "earlier-result-by-hand": _earlier_result_by_hand,
    "unit-renamed": _unit_renamed,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_is_shown_at_once_in_its_transaction_and_after(reform, write):
    plan_id = reform.after.id
    before = _view(plan_id)
    assert _view(plan_id) == before  # kept
    stamp = _stamp()
    write(reform)
    db.session.expire_all()  # rows written by hand are read again, as a new request would
    seen = _view(plan_id)
    assert seen != before
    assert _stamp() != stamp
    db.session.commit()
    assert _view(plan_id) == seen == _fresh(plan_id)


def test_what_is_kept_is_given_again_in_a_query_or_two(reform, count_queries):
    plan = db.session.get_one(Plan, reform.after.id)
    board = dashboard(plan, Filters(), TODAY)
    with count_queries:
        assert dashboard(plan, Filters(), TODAY) is board
    # The stamp, read for the summary and again for the dashboard made from it.
    assert count_queries.count == 2, count_queries.statements
    # The API's summary, which needs no months, is the dashboard's.
    assert summary.plan_summary(plan) is board.summary
    # Another page, filter or day is made from the kept summary, and kept in turn.
    other = dashboard(plan, Filters(sort="rate"), TODAY)
    assert other.summary is board.summary and other is not board
    assert dashboard(plan, Filters(sort="rate"), TODAY) is other


def test_writes_after_the_first_in_one_transaction_are_shown_at_once(reform, engine_name):
    """On PostgreSQL a transaction sets the token with its first write only (its later
    writes would each add a version of the stamp's row); it keeps nothing meanwhile, so what
    it reads after its second write shows it."""
    plan_id = reform.after.id
    _view(plan_id)
    # Counted from here: PostgreSQL may still hold an earlier transaction's counts.
    updated = text("SELECT pg_stat_get_xact_tuples_updated('data_stamp'::regclass)")
    before = db.session.scalar(updated) if engine_name == "postgresql" else 0
    _new_result(reform)
    after_one = _view(plan_id)
    stamp = _stamp()
    _quota_by_hand(reform)
    db.session.expire_all()
    after_two = _view(plan_id)
    assert after_two != after_one
    assert after_two == _view(plan_id) == _fresh(plan_id)
    if engine_name == "postgresql":
        assert _stamp() == stamp
        for _ in range(100):  # an import's statements
            _result_by_hand(reform)
        assert db.session.scalar(updated) - before == 1
    db.session.commit()
    assert _view(plan_id) == _fresh(plan_id)


def test_a_write_rolled_back_to_its_savepoint_takes_its_stamp_with_it(reform):
    """The services write in savepoints; a refused action rolls back its first write, and
    the stamp with it: the transaction's next write stamps again."""
    plan_id = reform.after.id
    db.session.commit()
    before, view = _stamp(), _view(plan_id)
    nested = db.session.begin_nested()
    _quota_by_hand(reform)
    assert _stamp() != before
    nested.rollback()
    assert _stamp() == before
    assert _view(plan_id) == view
    _result_by_hand(reform)
    assert _stamp() not in (None, before)
    db.session.expire_all()
    assert _view(plan_id) != view
    db.session.commit()
    assert _view(plan_id) == _fresh(plan_id)


def test_a_write_committed_elsewhere_is_shown_by_the_next_transaction(reform, app):
    plan_id = reform.after.id
    before = _view(plan_id)
    db.session.commit()
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE quota SET amount = amount + 1"))
    seen = _view(plan_id)
    assert seen != before
    assert seen == _fresh(plan_id)


def test_a_write_rolled_back_leaves_the_figures_as_they_were(reform):
    plan_id = reform.after.id
    before = _view(plan_id)
    _new_result(reform)
    assert _view(plan_id) != before
    db.session.rollback()
    assert _view(plan_id) == before == _fresh(plan_id)


def test_without_a_stamp_nothing_is_kept_and_the_figures_are_right(reform):
    plan_id = reform.after.id
    db.session.execute(text("DELETE FROM data_stamp"))
    db.session.commit()
    plan = db.session.get_one(Plan, plan_id)
    assert summary.plan_summary(plan) is not summary.plan_summary(plan)
    before = _view(plan_id)
    _quota_by_hand(reform)  # a write makes a stamp again: from then, figures are kept
    db.session.commit()
    assert _stamp() is not None
    assert _view(plan_id) != before
    plan = db.session.get_one(Plan, plan_id)
    assert summary.plan_summary(plan) is summary.plan_summary(plan)


def test_a_summary_made_before_a_write_keeps_nothing_made_from_it_after(reform):
    """A caller holding a summary across its own write gets a comparison made now, and the
    kept comparison of the summary as it stands is not the one made from the older one."""
    plan = db.session.get_one(Plan, reform.after.id)
    made = summary.plan_summary(plan)
    _earlier_result_by_hand(reform)
    late = summary.comparison(plan, made)
    # This plan's figures did not change: its summary may be the same object, brought
    # along; what was made from it before the write is not.
    current = summary.plan_summary(plan)
    assert summary.comparison(plan, current) == late  # the same data, made again
    db.session.rollback()
    plan = db.session.get_one(Plan, reform.after.id)
    again = summary.comparison(plan, summary.plan_summary(plan))
    assert again != late


def test_what_is_made_from_a_value_goes_with_it_and_is_bounded(reform):
    """A value made from a kept one is kept with it, the last ``DERIVED`` of them, and goes
    when it goes: it never holds on to a national summary the budget let go."""
    made: list[str] = []

    def make(name: str) -> Callable[[], str]:
        return lambda: made.append(name) or name

    kept: Kept[tuple[list[int], str]] = Kept("figures", size=1)
    first = kept.get("a", lambda: ([1], "a"))
    assert kept.derive(first[0], "x", make("x")) == "x"
    assert kept.derive(first[0], "x", make("x")) == "x"  # kept
    assert kept.derive([1], "x", make("x")) == "x"  # an equal object is not the one kept
    for n in range(DERIVED):
        kept.derive(first, n, make(str(n)))
    kept.derive(first[0], "x", make("x"))  # pushed out by the sixteen
    assert made == ["x", "x", *[str(n) for n in range(DERIVED)], "x"]
    made.clear()
    kept.get("b", lambda: ([2], "b"))  # a goes, and what was made from it
    kept.derive(first[0], "x", make("x"))
    assert made == ["x"]


# --- Random writes ---------------------------------------------------------------------

#: The views checked after each random write, two at a time: the whole plan, a page, a
#: sort and a filter.
VIEWS = ({}, {"page": 2}, {"sort": "rate", "desc": True}, {"status": "not_completed"})


def _check_views(plan_id: int, rng: random.Random, done: list[str]) -> None:
    """Two views picked at random, read twice (made or brought, then given again), are
    what they are with nothing kept."""
    for filters in rng.sample(VIEWS, 2):
        kept = [_view(plan_id, **filters), _view(plan_id, **filters)]
        fresh = _fresh(plan_id, **filters)
        assert kept == [fresh, fresh], (done, filters)


def _random_write(r: Reform, rng: random.Random) -> str:
    """One write picked at random, through a service or by hand; its name."""
    after = db.session.get_one(Plan, r.after.id)
    kinds = ["result", "result-sql", "delete-sql", "quota", "quota-sql", "drive-sql", "move",
             "rename", "rule-sql", "merge", "unit-added", "nothing"]  # fmt: skip
    kind = rng.choice(kinds)
    targets = [r.new, r.ngoc, r.school]
    unit = rng.choice(targets)
    try:
        _write(r, after, kind, unit, rng)
    except ServiceError:  # refused (an approved result, a move before the last): no write
        return f"{kind}-refused"
    return kind


def _write(r: Reform, after: Plan, kind: str, unit: OrgUnit, rng: random.Random) -> None:
    if kind == "result":
        drive = rng.choice(after.drives)
        bags = rng.randrange(0, 30)
        results.save(drive, unit, results.Counts(bags + 1, 0, bags, 1, 0), submit=True)
    elif kind == "result-sql":
        db.session.execute(
            text("UPDATE result SET bags_450 = :n, registered = registered + :n "
                 "WHERE unit_id = :id"),
            {"n": rng.randrange(0, 5), "id": unit.id},
        )  # fmt: skip
    elif kind == "delete-sql":
        db.session.execute(text("DELETE FROM result WHERE unit_id = :id"), {"id": unit.id})
    elif kind == "quota":
        plans.set_quotas(after, {unit: rng.choice([None, 5, 15, 40])})
    elif kind == "quota-sql":
        db.session.execute(
            text("UPDATE quota SET amount = :n WHERE unit_id = :id"),
            {"n": rng.randrange(1, 60), "id": unit.id},
        )
    elif kind == "drive-sql":
        day = date(2026, rng.randrange(1, 13), 15)
        db.session.execute(
            text("UPDATE drive SET starts_on = :day, ends_on = :day WHERE id = :id"),
            {"day": day, "id": rng.choice(after.drives).id},
        )
    elif kind == "move":
        school = db.session.get_one(OrgUnit, r.school.id)
        parent = r.ngoc if school.parent_id != r.ngoc.id else r.new
        units.move_unit(school, parent, date(2026, rng.randrange(1, 13), 1))
    elif kind == "rename":
        u = db.session.get_one(OrgUnit, unit.id)
        units.update_unit(u, code=u.code, name=f"{u.name[:40]} {rng.randrange(100)}",
                          kind=u.kind, parent=u.parent)  # fmt: skip
    elif kind == "merge":  # a commune that reported and held a quota, merged in mid-year
        n = rng.randrange(10_000)
        old = f.unit(f"Xã Cũ {n}", "commune", r.province, code=f"CU-{n}")
        plans.set_quotas(after, {old: 8})
        f.result(rng.choice(after.drives), old, rng.randrange(1, 9))
        units.merge_units([old], rng.choice([r.new, r.ngoc]), date(2026, 6, 1))
    elif kind == "unit-added":  # under a unit of either tree, then given a quota or not
        n = rng.randrange(10_000)
        added = f.unit(f"Trường Mới {n}", "school", unit, code=f"MOI-{n}")
        if rng.random() < 0.5:
            plans.set_quotas(after, {added: 5})
    elif kind == "rule-sql":
        db.session.execute(
            text("UPDATE plan SET counting_rule = :rule WHERE id = :id"),
            {"rule": rng.choice(["bag", "ml250"]), "id": rng.choice([after.id, r.before.id])},
        )


def test_random_writes_never_leave_a_kept_figure_stale(reform):
    """Forty random writes (results, quotas, drives, moves, mergers, deletions), each
    committed or rolled back; after each, what is kept (read
    twice: made, then given again) is what is made with nothing kept, for the whole plan,
    a page, a filter and a sort."""
    f.drive(reform.after, name="Đợt 2", day=date(2026, 6, 1))
    f.commit()
    rng = random.Random(20261207)
    plan_id = reform.after.id
    done = []
    for _step in range(40):
        done.append(_random_write(reform, rng))
        db.session.expire_all()
        if rng.random() < 0.2:
            db.session.rollback()
        else:
            db.session.commit()
        _check_views(plan_id, rng, done)
    assert len(set(done)) >= 8, done  # the writes were of many kinds
    assert {"merge", "move", "delete-sql", "result"} <= set(done), done


# --- Results brought up to date -----------------------------------------------------------


def _candidates(r: Reform) -> list[OrgUnit]:
    """Units a result may come from: holders, a unit under a holder, one under none."""
    loner = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "LONER"))
    if loner is None:
        loner = f.unit("Bệnh viện Đa khoa", "agency", r.province, code="LONER")
    under = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "UNDER"))
    if under is None:
        under = f.unit("Công đoàn Trường THCS", "union", r.school, code="UNDER")
    return [r.new, r.ngoc, r.school, loner, under]


#: The kinds of :func:`_result_write` (a save twice: the commonest write).
RESULT_WRITES = ("save", "save", "sql-bags", "sql-state", "sql-delete", "sql-insert", "earlier",
                 "sql-move", "other-quota", "other-drive", "own-quota", "own-quota-and-bags",
                 "new-drive", "drive-redated", "plan-under", "plan-moved", "own-plan",
                 "earlier-plan", "unit-added", "added-unit-quota", "unit-renamed")  # fmt: skip


def _result_write(r: Reform, rng: random.Random, kind: str | None = None) -> str:
    """One write of results only, of ``kind`` or picked at random; its name."""
    after = db.session.get_one(Plan, r.after.id)
    before = db.session.get_one(Plan, r.before.id)
    kind = kind or rng.choice(RESULT_WRITES)
    ids = db.session.scalars(text("SELECT id FROM result ORDER BY id")).all()
    row = {"id": rng.choice(ids) if ids else 0, "n": rng.randrange(0, 9)}
    if kind == "save":
        drive, unit = rng.choice(after.drives), rng.choice(_candidates(r))
        stored = results.find(drive, unit)
        # Registered: at least the deferred and the donations (else refused, as typed).
        counts = results.Counts(row["n"] + 5, 1, row["n"], 1, rng.randrange(3),
                                rng.choice([None, 1]))  # fmt: skip
        try:
            results.save(drive, unit, counts, submit=rng.random() < 0.8,
                         expected_version=stored and stored.version)  # fmt: skip
        except ServiceError:
            return "save-refused"
    elif kind == "sql-bags":
        db.session.execute(
            text("UPDATE result SET bags_250 = :n, registered = :n + deferred WHERE id = :id"),
            row,
        )
    elif kind == "sql-state":
        row["state"] = rng.choice(["draft", "submitted", "approved", "returned"])
        db.session.execute(text("UPDATE result SET state = :state WHERE id = :id"), row)
    elif kind == "sql-delete":
        db.session.execute(text("DELETE FROM result WHERE id = :id"), row)
    elif kind == "sql-insert":  # where the unit has none in that drive
        drive, unit = rng.choice(after.drives), rng.choice(_candidates(r))
        if results.find(drive, unit) is None:
            f.result(drive, unit, row["n"], state=rng.choice(["submitted", "approved"]))
    elif kind == "earlier":
        db.session.execute(
            text("UPDATE result SET bags_350 = :n WHERE drive_id IN "
                 "(SELECT id FROM drive WHERE plan_id = :plan)"),
            {"n": row["n"], "plan": before.id},
        )  # fmt: skip
    elif kind in ("other-quota", "own-quota", "own-quota-and-bags"):
        plan = _other_plan(r) if kind == "other-quota" else after
        plans.set_quotas(plan, {rng.choice([r.new, r.ngoc]): rng.choice([None, 7, 12])})
        if kind == "own-quota-and-bags":  # and a result in the same step
            db.session.execute(text("UPDATE result SET bags_450 = :n WHERE id = :id"), row)
    elif kind == "other-drive":
        db.session.execute(
            text("UPDATE drive SET starts_on = :day, ends_on = :day WHERE plan_id = :plan"),
            {"day": date(2026, rng.randrange(1, 13), 20), "plan": _other_plan(r).id},
        )
    elif kind == "new-drive":  # empty until a save picks it
        f.drive(after, name=f"Đợt {len(after.drives) + 1}", day=date(2026, rng.randrange(1, 13), 9))
    elif kind == "drive-redated":  # any drive of the plan, with results in it or none
        _redated(rng.choice(after.drives), date(2026, rng.randrange(1, 13), 25))
    elif kind in ("plan-under", "earlier-plan"):  # with a drive, and a result in it or none
        parent, year = (after, 2026) if kind == "plan-under" else (before, 2025)
        n = rng.randrange(10_000)
        under = f.plan(r.ngoc, number=f"{n}/KH-XA", issued_on=date(year, 2, 2), year=year,
                       parent=parent)  # fmt: skip
        drive = f.drive(under, name="Đợt xã", day=date(year, rng.randrange(1, 13), 3))
        if rng.random() < 0.5:
            f.result(drive, rng.choice(_candidates(r)), row["n"])
    elif kind == "plan-moved":  # a plan under the plan, out of its tree or back in
        moved = rng.choice(_plans_under(r))
        if moved is not None:
            _reparented(moved, None if moved.parent_id == after.id else after)
    elif kind == "own-plan":  # what its figures count by, and are judged by
        db.session.execute(
            text("UPDATE plan SET counting_rule = :rule, min_large_bag_percent = :n"
                 " WHERE id = :id"),
            {"rule": rng.choice(["bag", "ml250"]), "n": rng.choice([None, 50]), "id": after.id},
        )  # fmt: skip
    elif kind == "unit-added":  # valid then or from July; alone, reporting, or holding a quota
        n = len(_units_added())
        added = units.create_unit(
            code=f"MOI-{n}", name=f"Trường Mới {n}", kind="school",
            parent=rng.choice([*_candidates(r), r.province, *_units_added()]),
            valid_from=rng.choice([None, None, date(2026, 7, 1)]),
        )  # fmt: skip
        then = rng.random()
        if then < 0.3:
            counts = results.Counts(row["n"] + 2, 1, row["n"], 1)
            try:
                results.save(rng.choice(after.drives), added, counts, submit=True)
            except ServiceError:
                return "unit-added-save-refused"
        elif then < 0.5:
            plans.set_quotas(after, {added: 6})
    elif kind == "unit-renamed":  # first or last among its siblings; a kind; with a result
        renamed = rng.choice([*_candidates(r), r.province, *_units_added()])
        renamed.name = f"{rng.choice('AZ')} {renamed.name[:40]}"
        if rng.random() < 0.3:
            renamed.kind = rng.choice(["agency", "school", "commune"])
        db.session.flush()
        if rng.random() < 0.3:
            db.session.execute(text("UPDATE result SET bags_250 = :n WHERE id = :id"), row)
    elif kind == "added-unit-quota":  # in a step after the unit's
        added_units = _units_added()
        if added_units:
            plans.set_quotas(after, {rng.choice(added_units): rng.choice([None, 3, 9])})
    elif kind == "sql-move":  # a result handed to another drive of the plan
        db.session.execute(
            text("UPDATE result SET drive_id = :drive WHERE id = :id AND NOT EXISTS "
                 "(SELECT 1 FROM result other WHERE other.drive_id = :drive "
                 "AND other.unit_id = result.unit_id)"),
            {**row, "drive": rng.choice(after.drives).id},
        )  # fmt: skip
    return kind


def _units_added() -> list[OrgUnit]:
    """The units a random write added (coded "MOI-…")."""
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.code.like("MOI-%"))))


def _plans_under(r: Reform) -> list[Plan | None]:
    """The plans a random write put under the plan (numbered "…/KH-XA"), in its tree now
    or moved out of it; None where there are none."""
    made = db.session.scalars(
        select(Plan).where(Plan.number.like("%/KH-XA"), Plan.year == 2026).order_by(Plan.id)
    ).all()
    return list(made) or [None]


def _other_plan(r: Reform) -> Plan:
    """Another plan of the same year, by another issuer, with a drive."""
    other = db.session.scalar(select(Plan).where(Plan.number == "99/KH-LĐLĐ"))
    if other is None:
        other = f.plan(r.ngoc, number="99/KH-LĐLĐ", issued_on=date(2026, 2, 1), year=2026)
        f.drive(other, name="Đợt riêng", day=date(2026, 4, 1))
    return other


@pytest.fixture
def brought(monkeypatch) -> list[bool]:
    """Whether each reading kept at an earlier step was brought up to date (True) or had
    to be made again (False)."""
    seen: list[bool] = []
    bring = summary._brought

    def spy(kept: Any, changes: Any) -> Any:
        value = bring(kept, changes)
        seen.append(value is not None)
        return value

    monkeypatch.setattr(summary, "_brought", spy)
    return seen


@pytest.mark.parametrize("holders", ["few", "every-unit"])
def test_random_result_writes_are_brought_up_to_date_exactly(reform, brought, holders, monkeypatch):
    """Sixty random writes of results (through the service, and by hand: counts, states,
    deletions, insertions, a drive changed, the earlier plan's; this plan's quotas, alone
    or with a result; its drives added, and moved to other days with or without results;
    plans put under it or under the earlier plan, with a drive and a result in it or none,
    moved out of its tree and back; its own targets),
    each committed, rolled back, or rolled back to a savepoint before another; after each,
    what the views give is what they give with nothing kept. Most readings are brought up
    to date, not made."""
    f.drive(reform.after, name="Đợt 2", day=date(2026, 6, 1))
    _candidates(reform)
    _other_plan(reform)
    if holders == "every-unit":  # the summary over the whole tree, months by the plan
        monkeypatch.setattr(summary, "_worth_a_skeleton", lambda entries: False)
        _everyone_holds(reform)
    f.commit()
    rng = random.Random(f"20261207-{holders}")
    plan_id = reform.after.id
    done = []
    _view(plan_id)
    deck: list[str] = []  # every kind in each round, in a random order
    for _step in range(60):
        ending = rng.random()
        if ending < 0.15:
            with db.session.begin_nested() as savepoint:
                _result_write(reform, rng)
                savepoint.rollback()
        deck = deck or rng.sample(RESULT_WRITES, len(RESULT_WRITES))
        done.append(_result_write(reform, rng, deck.pop()))
        db.session.expire_all()
        if ending > 0.85:
            db.session.rollback()
        else:
            db.session.commit()
        _check_views(plan_id, rng, done)
        _view(plan_id)  # kept again, for the next write to bring up to date
    assert {"save", "sql-bags", "sql-state", "sql-delete", "earlier", "other-quota",
            "other-drive", "own-quota", "own-quota-and-bags", "new-drive",
            "drive-redated", "plan-under", "plan-moved", "own-plan",
            "earlier-plan", "unit-added", "added-unit-quota",
            "unit-renamed"} <= set(done), done  # fmt: skip
    assert brought.count(True) >= 30, brought


def test_a_result_saved_is_brought_into_the_kept_figures_in_a_few_queries(
    reform, brought, count_queries
):
    plan = db.session.get_one(Plan, reform.after.id)
    dashboard(plan, Filters(), TODAY)
    drive, ngoc = plan.drives[0], reform.ngoc
    stored = results.find(drive, ngoc)
    assert stored is not None
    counts = results.Counts(30, 0, 30)
    results.save(drive, ngoc, counts, expected_version=stored.version, submit=True)
    db.session.commit()
    plan = db.session.get_one(Plan, reform.after.id)
    with count_queries:
        board = dashboard(plan, Filters(), TODAY)
    assert brought == [True]
    # The reading brought: the stamp and the steps since. The page made again from it: the
    # stamp for the page, for its listing and for its comparison, the earlier plan, the
    # mergers, and the earlier side brought along (the stamp, the steps). No result is read.
    assert count_queries.count == 9, "\n\n".join(count_queries.statements)
    assert not [q for q in count_queries.statements if "FROM result" in q]
    line = next(line for line in board.lines if line.unit.id == ngoc.id)
    assert line.collected == 30
    assert _view(plan.id) == _fresh(plan.id)


def test_a_quota_or_a_drive_of_another_plan_leaves_the_figures_kept(reform, brought):
    """Written in another plan, they leave this plan's figures (and what it is compared
    with) as they were: kept; so does a quota of a plan under it. A quota of this plan, or
    a drive of it or of a plan under it, makes them anew."""
    plan_id = reform.after.id
    other = _other_plan(reform)
    under = f.plan(reform.province, number="7/KH-BCĐ", issued_on=date(2026, 1, 20), year=2026,
                   parent=db.session.get_one(Plan, plan_id))  # fmt: skip
    f.commit()
    before = _view(plan_id)
    brought.clear()
    plans.set_quotas(other, {reform.ngoc: 40})
    f.drive(other, name="Đợt 2", day=date(2026, 9, 1))
    f.commit()
    assert _view(plan_id) == before
    assert brought and all(brought), brought
    # A drive added to the plan it is compared with, then a result in it: the comparison
    # counts it (its earlier side made anew), though this plan's figures stay kept.
    earlier_drive = f.drive(reform.before, name="Đợt 2", day=date(2025, 5, 5))
    f.commit()
    assert _view(plan_id) == before
    f.result(earlier_drive, reform.ngoc, 30)
    f.commit()
    compared = _view(plan_id)
    assert compared != before and compared == _fresh(plan_id)
    before = compared
    # A quota of the plan under this one: this plan reads its own quotas only, kept.
    brought.clear()
    plans.set_quotas(under, {reform.ngoc: 3})
    f.commit()
    assert _view(plan_id) == before and brought and all(brought), brought
    # A drive of the plan under this one, and a result in it: made anew, and counted.
    brought.clear()
    f.result(f.drive(under, name="Đợt huyện", day=date(2026, 5, 5)), reform.ngoc, 11)
    f.commit()
    seen = _view(plan_id)
    assert seen != before and not brought[0], brought
    assert seen == _fresh(plan_id)
    # In one transaction, a quota of the plan under it, then a drive of it and a result:
    # the drive is logged though its plan was just logged for the quota.
    brought.clear()
    plans.set_quotas(under, {reform.ngoc: 4})
    f.result(f.drive(under, name="Đợt hai", day=date(2026, 7, 7)), reform.ngoc, 5)
    f.commit()
    assert _view(plan_id) == _fresh(plan_id) and not brought[0], brought
    # Another amount for a quota of this plan: every reading brought, its lines judged
    # again. A quota taken away: the skeleton (the dashboard's) is made anew, the reading
    # over the whole tree (a unit's page's) is made again from its tallies.
    brought.clear()
    plans.set_quotas(db.session.get_one(Plan, plan_id), {reform.ngoc: 25})
    f.commit()
    assert _view(plan_id) == _fresh(plan_id) and brought and all(brought), brought
    brought.clear()
    plans.set_quotas(db.session.get_one(Plan, plan_id), {reform.ngoc: None})
    f.commit()
    assert _view(plan_id) == _fresh(plan_id) and False in brought and True in brought, brought


def _redated(drive: Drive, day: date) -> None:
    db.session.execute(
        text("UPDATE drive SET starts_on = :day, ends_on = :day WHERE id = :id"),
        {"day": day, "id": drive.id},
    )


def test_a_drive_written_with_no_result_in_it_leaves_the_figures_brought(reform, brought):
    """A drive added to the plan or to a plan under it, moved to other days or taken away
    while it holds no result: the figures are the same, and every reading is brought
    along, not made again (a national reading takes seconds, and each commune plan under
    it adds drives). A result in the new drive then counts, brought in as any result. A
    drive moved to other days with a result in it: made anew (its months change)."""
    plan_id = reform.after.id
    under = f.plan(reform.province, number="7/KH-BCĐ", issued_on=date(2026, 1, 20), year=2026,
                   parent=db.session.get_one(Plan, plan_id))  # fmt: skip
    f.commit()
    before = _view(plan_id)
    drives: dict[str, Drive] = {}

    def add(name: str, plan: Plan, day: date) -> None:
        drives[name] = f.drive(db.session.get_one(Plan, plan.id), name=name, day=day)

    steps: list[Callable[[], Any]] = [
        lambda: add("Đợt 3", reform.after, date(2026, 8, 8)),
        lambda: add("Đợt xã", under, date(2026, 4, 4)),
        lambda: _redated(drives["Đợt 3"], date(2026, 10, 10)),
        lambda: db.session.execute(
            text("DELETE FROM drive WHERE id = :id"), {"id": drives["Đợt xã"].id}
        ),
    ]
    for step in steps:
        brought.clear()
        step()
        f.commit()
        assert _view(plan_id) == before
        assert brought and all(brought), brought
    added = drives["Đợt 3"]
    # A result in the drive added: brought in, and counted where it belongs (October).
    brought.clear()
    f.result(added, reform.ngoc, 12)
    f.commit()
    seen = _view(plan_id)
    assert seen != before and brought and all(brought), brought
    assert seen == _fresh(plan_id)
    october = seen["progress"][9]
    assert october[1] == 12, seen["progress"]
    # Moved to other days with its result: the months change, made anew.
    _view(plan_id)
    brought.clear()
    _redated(added, date(2026, 11, 11))
    f.commit()
    seen = _view(plan_id)
    assert brought and not any(brought), brought
    assert seen == _fresh(plan_id) and seen["progress"][10][1] == 12


def _reparented(plan: Plan, parent: Plan | None) -> None:
    db.session.execute(
        text("UPDATE plan SET parent_id = :parent WHERE id = :id"),
        {"parent": parent and parent.id, "id": plan.id},
    )


def test_a_plan_written_leaves_the_figures_brought_unless_they_change(reform, brought):
    """A plan put under this plan, changed in what its own figures read, given a drive,
    deleted, or written outside the tree: the figures are the same, and every reading is
    brought along, not made again (each commune plan under a national plan is one). A
    plan under it whose drive holds a result, moved out of the tree and back: its results
    go and come, made anew. The plan itself written: brought along for a target or its
    status, made anew for its counting rule. A plan put under the one it is compared
    with: its side of the comparison made again. Each time,
    the views are what they are with nothing kept."""
    plan_id = reform.after.id
    after = db.session.get_one(Plan, plan_id)
    before = _view(plan_id)
    made: dict[str, Plan] = {}

    def put_under(name: str, parent: Plan, issuer: OrgUnit, year: int = 2026) -> None:
        made[name] = f.plan(issuer, number=name, issued_on=date(year, 2, 2), year=year,
                            parent=db.session.get_one(Plan, parent.id))  # fmt: skip

    unchanged: list[tuple[str, Callable[[], Any]]] = [
        ("under", lambda: put_under("1/KH-XA", after, reform.ngoc)),
        ("its status", lambda: plans.set_status(made["1/KH-XA"], "closed")),
        ("its rule", lambda: _rule_of(made["1/KH-XA"], "ml250")),
        ("a plan under it", lambda: put_under("2/KH-CĐ", made["1/KH-XA"], reform.school)),
        ("its drive", lambda: f.drive(made["2/KH-CĐ"], "Đợt trường", date(2026, 4, 4))),
        ("outside", lambda: f.plan(reform.ngoc, number="3/KH", issued_on=date(2026, 3, 3),
                                   year=2026)),
        ("moved, empty", lambda: _reparented(made["2/KH-CĐ"], None)),
        ("back, empty", lambda: _reparented(made["2/KH-CĐ"], made["1/KH-XA"])),
    ]  # fmt: skip
    for name, step in unchanged:
        brought.clear()
        step()
        f.commit()
        assert _view(plan_id) == before, name
        assert brought and all(brought), (name, brought)
    # A result in the school's drive: counted, brought in as any result.
    brought.clear()
    f.result(made["2/KH-CĐ"].drives[0], reform.school, 9)
    f.commit()
    counted = _view(plan_id)
    assert counted != before and counted == _fresh(plan_id)
    assert brought and all(brought), brought
    # Moved out of the tree with it, and back: made anew each time, the result gone, then back.
    for parent, wanted in ((None, before), (made["1/KH-XA"], counted)):
        _view(plan_id)
        brought.clear()
        _reparented(made["2/KH-CĐ"], parent)
        f.commit()
        seen = _view(plan_id)
        assert seen == wanted == _fresh(plan_id)
        assert brought and not any(brought), brought
    # Deleted while empty: the commune plan's plan and drive go (by hand), brought along.
    brought.clear()
    school_plan = made.pop("2/KH-CĐ")
    db.session.execute(text("DELETE FROM result WHERE drive_id = :id"),
                       {"id": school_plan.drives[0].id})  # fmt: skip
    f.commit()
    assert _view(plan_id) == before == _fresh(plan_id)
    brought.clear()
    db.session.execute(text("DELETE FROM drive WHERE plan_id = :id"), {"id": school_plan.id})
    db.session.execute(text("DELETE FROM plan WHERE id = :id"), {"id": school_plan.id})
    f.commit()
    assert _view(plan_id) == before and brought and all(brought), brought
    # The plan itself: its targets and its status, which its figures are not made from
    # (the views judge the shares by the targets they read): brought along.
    for name, write in (
        ("targets", lambda plan: plans.set_targets(plan, Targets(large_bag=60))),
        ("status", lambda plan: plans.set_status(plan, "closed")),
        ("status again", lambda plan: plans.set_status(plan, "active")),
    ):
        now = _view(plan_id)
        brought.clear()
        write(db.session.get_one(Plan, plan_id))
        f.commit()
        seen = _view(plan_id)
        assert seen == _fresh(plan_id) and brought and all(brought), (name, brought)
        assert (seen != now) == (name == "targets"), name
    # Its counting rule, what every figure is made from: made anew.
    brought.clear()
    _rule_of(db.session.get_one(Plan, plan_id), "ml250")
    f.commit()
    assert _view(plan_id) == _fresh(plan_id) != now and brought and not any(brought), brought
    # A plan under the one it is compared with, and a result in its drive: the comparison
    # counts it; the plan's own readings are brought along.
    now = _view(plan_id)
    brought.clear()
    put_under("9/KH-QN", reform.before, reform.ngoc, year=2025)
    f.result(f.drive(made["9/KH-QN"], "Đợt 2025", date(2025, 8, 8)), reform.ngoc, 15)
    f.commit()
    seen = _view(plan_id)
    assert seen != now and seen == _fresh(plan_id)
    assert brought and all(brought), brought
    # Compared with another plan (the one just put under it): read against that one.
    plans.set_comparison(db.session.get_one(Plan, plan_id), made["9/KH-QN"])
    f.commit()
    compared = _view(plan_id)
    assert compared != seen and compared == _fresh(plan_id)


def _rule_of(plan: Plan, rule: str) -> None:
    db.session.execute(
        text("UPDATE plan SET counting_rule = :rule WHERE id = :id"), {"rule": rule, "id": plan.id}
    )


def test_a_pages_listing_goes_with_a_reading_that_a_write_left_as_it_was(
    reform, brought, monkeypatch
):
    """What a dashboard lists for a filter (its lines, groups, chart and progress) is made
    from the plan's reading alone. A write that leaves the reading's summary as it was (a
    quota of another plan, a drive scheduled, a result of the plan compared with) leaves
    the listing kept with the reading brought along: only the page's comparison is made
    again. A result of the plan makes it again. Each time, the page is what it is with
    nothing kept."""
    made: list[int] = []
    listing = dashboard_service._listing

    def counted(*args: Any) -> Any:
        made.append(1)
        return listing(*args)

    monkeypatch.setattr(dashboard_service, "_listing", counted)
    plan_id = reform.after.id
    other = _other_plan(reform)
    f.commit()
    writes: list[tuple[Callable[[], Any], bool]] = [
        (lambda: plans.set_quotas(other, {reform.ngoc: 40}), False),
        (lambda: f.drive(db.session.get_one(Plan, plan_id), "Đợt 4", date(2026, 9, 9)), False),
        (lambda: _earlier_result_by_hand(reform), False),
        (lambda: f.result(db.session.get_one(Plan, plan_id).drives[-1], reform.ngoc, 4), True),
    ]
    for write, made_again in writes:
        _view(plan_id)
        made.clear()
        brought.clear()
        write()
        f.commit()
        seen = _view(plan_id)
        assert brought and all(brought), brought
        assert bool(made) == made_again, made
        assert seen == _fresh(plan_id)


def test_a_contact_a_title_or_a_deadline_changed_leaves_the_figures_and_the_tree_kept(
    reform, brought
):
    """What the figures are never made from (a unit's contact and official code, a plan's
    title and its publication, a drive's site and deadline), written through the services
    the pages use: the same summary and tree are given again, not brought, not made."""
    plan_id = reform.after.id
    _view(plan_id)
    plan = db.session.get_one(Plan, plan_id)
    made, tree = summary.read_plan(plan, whole_tree=True)
    ngoc = db.session.get_one(OrgUnit, reform.ngoc.id)
    contact = {"contact_name": "Lê Thị Liên", "contact_phone": "0912 345 678",
               "contact_email": "lien@example.vn"}  # fmt: skip
    units.update_unit(ngoc, code=ngoc.code, name=ngoc.name, kind=ngoc.kind, parent=ngoc.parent,
                      valid_from=ngoc.valid_from, valid_to=ngoc.valid_to,
                      official_code=ngoc.official_code, **contact)  # fmt: skip
    plans.update_plan(plan, issuer=plan.issuer, number=plan.number, issued_on=plan.issued_on,
                      title="Kế hoạch mới", year=plan.year, counting_rule=plan.counting_rule,
                      parent=plan.parent, note="Ghi chú", targets=plan.targets)  # fmt: skip
    plans.set_public(plan, True)
    drive = plan.drives[0]
    due = drive.ends_on + timedelta(days=9)
    plans.update_drive(drive, name="Đợt một", starts_on=drive.starts_on, ends_on=drive.ends_on,
                       site="Nhà văn hóa xã", report_due_on=due)  # fmt: skip
    f.commit()
    plan = db.session.get_one(Plan, plan_id)
    again, tree_again = summary.read_plan(plan, whole_tree=True)
    assert again is made and tree_again is tree and brought == [], brought
    assert _view(plan_id) == _fresh(plan_id)


@pytest.mark.parametrize("holders", ["few", "every-unit"])
def test_a_unit_added_leaves_the_figures_brought_and_its_trees_read_anew(
    reform, brought, holders, monkeypatch
):
    """A school added under a commune, then a union under it and a commune that starts
    later in one transaction: no reading and no earlier side is made anew, each is
    brought along, and the trees that hold a unit added show it (a unit's page and
    progress find it). A quota then given to the school is compared with 0 (it was in the
    earlier plan's tree, and counted nothing there); the later commune's with nothing. A
    unit added already merged into another: the views are right too. The page's listing
    (its lines, subtotals, chart and progress) goes with the reading: it is the same."""
    plan_id = reform.after.id
    if holders == "every-unit":  # the summary and the earlier side over the whole tree
        monkeypatch.setattr(summary, "_worth_a_skeleton", lambda entries: False)
        _everyone_holds(reform)
        f.commit()
    sides_made = _earlier_sides_made(monkeypatch)
    listings: list[object] = []
    listing = dashboard_service._listing
    monkeypatch.setattr(
        dashboard_service, "_listing", lambda *args: listings.append(1) or listing(*args)
    )
    before = _view(plan_id)
    sides_made.clear()
    brought.clear()
    listings.clear()
    ngoc = db.session.get_one(OrgUnit, reform.ngoc.id)
    school = units.create_unit(code="THCS-NGOC", name="Trường THCS Quảng Ngọc", kind="school",
                               parent=ngoc)  # fmt: skip
    f.commit()
    seen = _view(plan_id)
    assert brought and all(brought) and sides_made == [], (brought, sides_made)
    assert listings == [], "the page's listing was made again"
    assert school.id in seen["trees"][0]
    assert {k: v for k, v in seen.items() if k != "trees"} == {
        k: v for k, v in before.items() if k != "trees"
    }
    assert seen == _fresh(plan_id)
    # Two more in one transaction, the second under the first; one valid from July only.
    _view(plan_id)
    brought.clear()
    sides_made.clear()
    school = db.session.get_one(OrgUnit, school.id)
    union = units.create_unit(code="CD-THCS-NGOC", name="Công đoàn Trường THCS Quảng Ngọc",
                              kind="union", parent=school)  # fmt: skip
    late = units.create_unit(code="XA-MOI", name="Xã Quảng Mới", kind="commune",
                             parent=reform.province, valid_from=date(2026, 7, 1))  # fmt: skip
    f.commit()
    seen = _view(plan_id)
    assert brought and all(brought) and sides_made == [], (brought, sides_made)
    assert union.id in seen["trees"][0] and late.id not in seen["trees"][0]
    assert seen == _fresh(plan_id)
    # One more added, then quotas in a later step, each read along the way (nothing made
    # anew between): compared with 0, and with nothing.
    _view(plan_id)
    hall = units.create_unit(code="NVH-NGOC", name="Nhà văn hóa Quảng Ngọc", kind="agency",
                             parent=db.session.get_one(OrgUnit, ngoc.id))  # fmt: skip
    f.commit()
    _view(plan_id)
    plans.set_quotas(db.session.get_one(Plan, plan_id), {hall: 4, late: 2})
    f.commit()
    plan = db.session.get_one(Plan, plan_id)
    compared = summary.comparison(plan, summary.plan_summary(plan))
    assert (compared.of(hall.id), compared.of(late.id)) == (0, None)
    _, tree, _ = summary.read_plan_for_unit(plan, hall.id)
    assert hall.id in {node.id for node in tree}
    assert _view(plan_id) == _fresh(plan_id)
    # Added already merged into another (as an import of the reform might): right too.
    _view(plan_id)
    db.session.add(OrgUnit(code="XA-GOP", name="Xã Quảng Gộp", kind="commune",
                           parent_id=reform.province.id, valid_to=date(2025, 6, 30),
                           merged_into_id=reform.new.id))  # fmt: skip
    f.commit()
    assert _view(plan_id) == _fresh(plan_id)


@pytest.mark.parametrize("holders", ["few", "every-unit"])
def test_a_unit_renamed_leaves_the_figures_brought_in_its_new_place(
    reform, brought, holders, monkeypatch
):
    """A commune renamed so that it comes first among its siblings, then a school given
    another kind and code: every reading is brought along, none made anew, and no earlier
    side; the lines show the new names in their new order (with the months of the whole
    kept under the first holder), as made anew. Renamed and moved in one transaction: made
    anew, and right."""
    plan_id = reform.after.id
    if holders == "every-unit":  # the summary over the whole tree, its months by the plan
        monkeypatch.setattr(summary, "_worth_a_skeleton", lambda entries: False)
        _everyone_holds(reform)
        f.commit()
    sides_made = _earlier_sides_made(monkeypatch)
    before = _view(plan_id)
    sides_made.clear()
    brought.clear()
    first = db.session.get_one(OrgUnit, reform.new.id)
    units.update_unit(first, code=first.code, name="An Bình", kind=first.kind,
                      parent=first.parent, valid_from=first.valid_from)  # fmt: skip
    f.commit()
    seen = _view(plan_id)
    assert brought and all(brought) and sides_made == [], (brought, sides_made)
    assert seen == _fresh(plan_id)
    assert [name for name, *_ in before["page"]][0] == "Quảng Ngọc"
    assert [name for name, *_ in seen["page"]][0] == "An Bình"
    _view(plan_id)
    brought.clear()
    sides_made.clear()
    school = db.session.get_one(OrgUnit, reform.school.id)
    units.update_unit(school, code="THCS-QL", name=school.name, kind="agency",
                      parent=school.parent)  # fmt: skip
    f.commit()
    seen = _view(plan_id)
    assert brought and all(brought) and sides_made == [], (brought, sides_made)
    assert seen == _fresh(plan_id)
    # Renamed and moved at once: not followed, made anew.
    _view(plan_id)
    brought.clear()
    school = db.session.get_one(OrgUnit, reform.school.id)
    units.update_unit(school, code=school.code, name="Trường Ánh Dương", kind=school.kind,
                      parent=db.session.get_one(OrgUnit, reform.ngoc.id))  # fmt: skip
    f.commit()
    seen = _view(plan_id)
    assert brought == [], brought
    assert seen == _fresh(plan_id)


def _everyone_holds(r: Reform) -> None:
    """A quota for every unit but the province (a national plan's case: its summary over
    the whole tree, its months by the plan)."""
    everyone = db.session.scalars(select(OrgUnit).where(OrgUnit.valid_to.is_(None))).all()
    plans.set_quotas(r.after, {u: 3 for u in everyone if u.id != r.province.id})


def test_a_quota_of_a_plan_read_over_the_whole_tree_is_brought_without_its_results(
    reform, brought, count_queries, monkeypatch
):
    """Every unit holds a quota: a quota written makes the summary again from the tallies
    kept and the quotas as they stand, with the results of the same step; no result is
    read again. A quota taken away from a unit that reported, which is then counted
    apart, changes how the months are added up: made anew."""
    # As in a national database, where every unit holds a quota: the dashboard reads the
    # whole tree (here the units closed by the reform outnumber the others).
    monkeypatch.setattr(summary, "_worth_a_skeleton", lambda entries: False)
    _everyone_holds(reform)
    f.commit()
    plan_id = reform.after.id
    _view(plan_id)
    plan = db.session.get_one(Plan, plan_id)
    plans.set_quotas(plan, {reform.ngoc: 50, reform.new: 4})
    db.session.execute(  # in the same step, a result of the school's
        text("UPDATE result SET bags_250 = bags_250 + 9, registered = registered + 9 "
             "WHERE unit_id = :id"),
        {"id": reform.school.id},
    )  # fmt: skip
    f.commit()
    brought.clear()
    plan = db.session.get_one(Plan, plan_id)
    with count_queries:
        made, _tree, _months = summary.read_plan_and_months(plan)
    assert brought == [True]
    assert not [q for q in count_queries.statements if "FROM result" in q]
    ngoc = next(line for line in made.lines if line.unit.id == reform.ngoc.id)
    assert ngoc.quota == 50 and ngoc.rate == ngoc.collected / 50
    assert _view(plan_id) == _fresh(plan_id)

    # The school under Ngọc no longer holds a quota: its results count for Ngọc's. The
    # summary is made again from the tallies kept, still without a result read.
    plans.set_quotas(db.session.get_one(Plan, plan_id), {reform.school: 0})
    f.commit()
    brought.clear()
    with count_queries:
        made = summary.read_plan_and_months(db.session.get_one(Plan, plan_id))[0]
    assert brought == [True]
    assert not [q for q in count_queries.statements if "FROM result" in q]
    school = next(line for line in made.lines if line.unit.id == reform.school.id)
    assert not school.is_holder and reform.school.id not in {o.unit.id for o in made.outside}
    assert _view(plan_id) == _fresh(plan_id)

    plans.set_quotas(db.session.get_one(Plan, plan_id), {reform.ngoc: None})
    f.commit()
    brought.clear()
    made = summary.read_plan_and_months(db.session.get_one(Plan, plan_id))[0]
    assert brought == [False] and reform.ngoc.id in {o.unit.id for o in made.outside}
    assert _view(plan_id) == _fresh(plan_id)


def test_a_result_of_a_unit_under_a_holder_is_brought_to_that_holder(
    reform, brought, count_queries
):
    """The union under the school reports for the first time: the skeleton has no node of
    its own, and its results go to the school's line and those above, found up the tree."""
    plan_id = reform.after.id
    (under,) = [u for u in _candidates(reform) if u.code == "UNDER"]
    f.commit()
    _view(plan_id)
    plan = db.session.get_one(Plan, plan_id)
    f.result(plan.drives[0], under, 12)
    f.commit()
    plan = db.session.get_one(Plan, plan_id)
    with count_queries:
        made = summary.plan_summary(plan)
    assert brought == [True]
    # The stamp, the steps since, and the units above the union.
    assert count_queries.count == 3, count_queries.statements
    school = next(line for line in made.lines if line.unit.id == reform.school.id)
    assert school.collected == 6 + 12
    assert _view(plan_id) == _fresh(plan_id)


def test_readings_brought_while_results_are_committed_beside_them_count_each_once(reform, brought):
    """A writer commits results one after another while this session reads the summary
    again and again, each time in a new transaction: a reading made or brought while a
    step is committed is never brought along it twice. At the end, what is kept is what
    is made with nothing kept."""
    plan_id = reform.after.id
    ids = db.session.scalars(
        select(Result.id).join(Drive).where(Drive.plan_id == plan_id).order_by(Result.id)
    ).all()
    db.session.commit()
    engine, done, errors = db.engine, threading.Event(), []

    def writer() -> None:
        try:
            for n in range(60):
                with engine.begin() as connection:
                    connection.execute(
                        text("UPDATE result SET bags_250 = bags_250 + 1, registered ="
                             " registered + 1 WHERE id = :id"),
                        {"id": ids[n % len(ids)]},
                    )  # fmt: skip
                time.sleep(0.002)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        db.session.rollback()  # a new transaction: it sees what was committed since
        summary.plan_summary(db.session.get_one(Plan, plan_id))
    thread.join(20)
    assert not errors, errors
    db.session.rollback()
    made = summary.plan_summary(db.session.get_one(Plan, plan_id))
    assert made.totals.tally.donors == 20 + 6 + 9 + 60
    # Made with nothing written meanwhile, it is kept with its step: the next save brings
    # it up to date. (How many were brought above depends on the machine's pace: a reading
    # made while a step was committed is not kept with a step, and is made again.)
    db.session.execute(text("UPDATE result SET bags_450 = 1 WHERE id = :id"), {"id": ids[0]})
    db.session.commit()
    brought.clear()
    again = summary.plan_summary(db.session.get_one(Plan, plan_id))
    assert brought == [True] and again.totals.tally.donors == 20 + 6 + 9 + 61
    assert _view(plan_id) == _fresh(plan_id)


def test_a_reading_made_in_a_transaction_rolled_back_is_never_brought_forward(reform, brought):
    """Made after this transaction's own write (SQLite keeps it, under a token no one
    else will see), then rolled back: later steps do not follow from it."""
    plan_id = reform.after.id
    _view(plan_id)
    ngoc = {"id": reform.ngoc.id, "plan": plan_id}
    one = "unit_id = :id AND drive_id IN (SELECT id FROM drive WHERE plan_id = :plan)"
    db.session.execute(text(f"UPDATE result SET bags_250 = bags_250 + 50 WHERE {one}"), ngoc)
    inside = _view(plan_id)
    db.session.rollback()
    # Two steps after it, read after both: the reading of the rolled-back step is the
    # latest kept, and the second step is one after its number, but not from its token.
    for n in (1, 2):
        db.session.execute(text(f"UPDATE result SET bags_450 = {n} WHERE {one}"), ngoc)
        db.session.commit()
    assert _view(plan_id) == _fresh(plan_id) != inside


def test_an_import_of_results_makes_the_figures_again(reform, brought):
    """Steps too many to add up (a bulk write of results) are made again, right."""
    plan_id = reform.after.id
    drive = f.drive(reform.after, name="Đợt 3", day=date(2026, 8, 1))
    for n in range(40):
        f.unit(f"Tổ công đoàn {n}", "union", reform.ngoc, code=f"TCD-{n}")
    f.commit()
    _view(plan_id)
    for _ in range(3):
        db.session.execute(
            text("INSERT INTO result (drive_id, unit_id, registered, deferred, bags_250,"
                 " bags_350, bags_450, state, version, created_at, updated_at)"
                 " SELECT :drive, id, 1, 0, 1, 0, 0, 'submitted', 1, :now, :now"
                 " FROM org_unit WHERE code LIKE 'TCD-%' AND id NOT IN"
                 " (SELECT unit_id FROM result WHERE drive_id = :drive)"),
            {"drive": drive.id, "now": "2026-08-01 08:00:00"},
        )  # fmt: skip
        db.session.execute(text("UPDATE result SET bags_250 = bags_250 + 1"))
        db.session.commit()
        assert _view(plan_id) == _fresh(plan_id)


# --- Writers wait in turn --------------------------------------------------------------


class _AnotherTransaction:
    """``statements`` run in a transaction of another connection, from :meth:`start`."""

    def __init__(self, *statements: tuple[str, dict[str, Any]]) -> None:
        self.errors: list[BaseException] = []
        self._started = threading.Event()
        engine = db.engine

        def run() -> None:
            try:
                self._started.wait(10)
                with engine.begin() as connection:
                    connection.execute(text("SET LOCAL lock_timeout = '10s'"))
                    for statement, params in statements:
                        connection.execute(text(statement), params)
            except BaseException as error:  # noqa: BLE001 - reported by the test
                self.errors.append(error)

        self._thread = threading.Thread(target=run)
        self._thread.start()

    def start(self) -> None:
        self._started.set()
        time.sleep(0.5)  # the other transaction now waits for the stamp

    def ended(self) -> list[BaseException]:
        """What it raised, once it ended."""
        self._thread.join(20)
        return self.errors


def test_writers_of_results_and_units_in_either_order_never_deadlock(reform, engine_name):
    """One transaction writes a result, then a unit; another a unit, then a result. Both
    take the one stamp row first, so the second waits for the first."""
    if engine_name != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time")
    db.session.commit()
    result_first = ("UPDATE result SET deferred = deferred + 0", "UPDATE org_unit SET name = name")
    other = _AnotherTransaction(*((statement, {}) for statement in reversed(result_first)))
    with db.engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        connection.execute(text(result_first[0]))
        other.start()
        connection.execute(text(result_first[1]))
    assert not other.ended()


def test_a_contact_edited_then_a_result_never_deadlock_with_a_result_then_a_rename(
    reform, engine_name
):
    """An organiser's transaction edits a unit's contact (which takes no step of the stamp)
    and goes on to write a result; another writes a result, then renames that unit. The
    edit takes the stamp before the unit's row, so the second waits for the first rather
    than holding the stamp while it waits for the row."""
    if engine_name != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time")
    db.session.commit()
    unit_id = reform.ngoc.id
    other = _AnotherTransaction(
        ("UPDATE result SET deferred = deferred + 0", {}),
        ("UPDATE org_unit SET name = name || '' WHERE id = :id", {"id": unit_id}),
    )
    db.session.execute(text("SET LOCAL lock_timeout = '10s'"))
    ngoc = db.session.get_one(OrgUnit, unit_id)
    units.update_unit(ngoc, code=ngoc.code, name=ngoc.name, kind=ngoc.kind, parent=ngoc.parent,
                      valid_from=ngoc.valid_from, valid_to=ngoc.valid_to,
                      official_code=ngoc.official_code, contact_phone="0912 000 111")  # fmt: skip
    other.start()
    db.session.execute(text("UPDATE result SET deferred = deferred + 0"))
    db.session.commit()
    assert not other.ended()


def test_a_plan_deleted_while_a_quota_is_set_ends_one_way_without_deadlock(
    reform, engine_name, app, monkeypatch
):
    """The organiser deletes a plan (it locks the plan's row) while another sets a quota
    in it (its insert takes the stamp, then waits for the plan). The deletion takes the
    stamp before the plan's row, so it never waits for the quota while holding the plan:
    the deletion goes through and the quota fails, as before there was a stamp."""
    if engine_name != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time")
    empty = f.plan(reform.province, number="99/KH-BCĐ", issued_on=date(2026, 2, 1), year=2026)
    f.commit()
    plan_id, unit_id = empty.id, reform.ngoc.id
    locked, outcomes = threading.Event(), {}
    record = plans.audit.record

    def slow_record(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "remover":
            locked.set()
            time.sleep(0.5)  # the other now sets its quota
        return record(*args, **kwargs)

    monkeypatch.setattr(plans.audit, "record", slow_record)

    def remover() -> None:
        with app.app_context():
            try:
                plans.remove_plan(db.session.get_one(Plan, plan_id))
                db.session.commit()
                outcomes["remove"] = "removed"
            except DBAPIError as error:
                outcomes["remove"] = type(error.orig).__name__
            finally:
                db.session.remove()

    def setter() -> None:
        locked.wait(10)
        with app.app_context():
            try:
                plan = db.session.get_one(Plan, plan_id)
                db.session.execute(text("SET LOCAL lock_timeout = '10s'"))
                plans.set_quotas(plan, {db.session.get_one(OrgUnit, unit_id): 10})
                db.session.commit()
                outcomes["quota"] = "set"
            except (DBAPIError, ServiceError) as error:
                orig = getattr(error, "orig", error)
                outcomes["quota"] = type(orig).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=remover, name="remover"), threading.Thread(target=setter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes["remove"] == "removed", outcomes
    assert outcomes["quota"] != "DeadlockDetected", outcomes
    db.session.rollback()
    assert db.session.get(Plan, plan_id) is None
    assert db.session.scalar(select(Quota.id).where(Quota.plan_id == plan_id)) is None


def test_the_next_page_and_another_order_are_looked_up_in_what_was_kept(reform, count_queries):
    """A plan listed page by page: its first page reads the figures, and the earlier plan
    for every line. The next page, and the lines in another order, read no result and
    walk no tree, and show what a page made anew shows."""
    plan = db.session.get_one(Plan, reform.after.id)
    assert dashboard(plan, Filters(), TODAY, page_size=2).pages > 1
    asked = [Filters(page=2), Filters(sort="rate", desc=True), Filters(sort="rate", page=3)]
    with count_queries:
        boards = [dashboard(plan, filters, TODAY, page_size=2) for filters in asked]
    read = [q for q in count_queries.statements if "FROM result" in q or "RECURSIVE" in q]
    assert read == []

    def shown(board: Any) -> list[Any]:
        return [(line, board.compared.of(line.unit.id)) for line in board.lines]

    summary.forget_kept_figures()
    for filters, board in zip(asked, boards, strict=True):
        fresh = dashboard(plan, filters, TODAY, page_size=2)
        assert shown(board) == shown(fresh) and board.groups == fresh.groups
        assert (board.page, board.pages, board.chart) == (fresh.page, fresh.pages, fresh.chart)


def _earlier_sides_made(monkeypatch) -> list[str]:
    """The thread each earlier side of a comparison is rolled up in, as it is made."""
    made_in: list[str] = []
    roll_up = summary.roll_up

    def recorded(*args: Any) -> Any:
        made_in.append(threading.current_thread().name)
        return roll_up(*args)

    monkeypatch.setattr(summary, "roll_up", recorded)
    return made_in


def test_a_large_plans_earlier_side_is_made_alongside_its_reading(reform, monkeypatch):
    """A plan with :data:`summary.ALONGSIDE` quota entries or more, its reading made anew,
    read by a reader that compares it, has the side of the plan it is compared with made at
    the same time, in a thread of its own: its pages find it kept, and show what they show
    made one after the other. A reading made with the whole tree (a unit's progress), or
    for a reader that does not compare, starts none, and the thread ends with the reading."""
    plan_id = reform.after.id
    made_in = _earlier_sides_made(monkeypatch)
    one_after_the_other = _fresh(plan_id)  # a small plan: each side made when compared
    assert made_in == [threading.current_thread().name]
    monkeypatch.setattr(summary, "ALONGSIDE", 0)
    made_in.clear()
    running = threading.active_count()
    assert _fresh(plan_id) == one_after_the_other
    # The dashboard's reading: the summary and the approved results' read by readers that
    # do not compare (the whole tree's, a unit's progress, starts none either).
    assert made_in == [f"earlier side of plan {plan_id}"], made_in
    assert threading.active_count() == running
    # A reader that does not compare is not kept waiting for a side it does not show.
    summary.forget_kept_figures()
    made_in.clear()
    summary.plan_summary(db.session.get_one(Plan, plan_id))
    assert made_in == []
    # The API's summary, an export and a unit's page compare: the side is made alongside.
    for compares in (
        lambda plan: summary.plan_summary(plan, compared=True),
        lambda plan: summary.read_plan_and_months(plan, compared=True),
        lambda plan: summary.read_plan_for_unit(plan, reform.ngoc.id),
    ):
        summary.forget_kept_figures()
        made_in.clear()
        compares(db.session.get_one(Plan, plan_id))
        assert made_in == [f"earlier side of plan {plan_id}"], made_in
    # A result written: the readings are brought along, and the sides kept as they were.
    made_in.clear()
    _new_result(reform)
    f.commit()
    seen = _view(plan_id)
    assert made_in == []
    assert seen == _fresh(plan_id) != one_after_the_other


def test_an_earlier_side_that_fails_alongside_is_made_by_its_reader(reform, monkeypatch, caplog):
    """The thread's failure is logged, and the comparison makes the side itself: the
    pages show the same."""
    plan_id = reform.after.id
    one_after_the_other = _fresh(plan_id)
    made_in = _earlier_sides_made(monkeypatch)
    earlier_side = summary._earlier_side

    def failing_in_a_thread(*args: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the connection went away")
        return earlier_side(*args)

    monkeypatch.setattr(summary, "_earlier_side", failing_in_a_thread)
    monkeypatch.setattr(summary, "ALONGSIDE", 0)
    with caplog.at_level("WARNING"):
        assert _fresh(plan_id) == one_after_the_other
    assert f"the earlier side of plan {plan_id} was not made" in caplog.text
    assert made_in == [threading.main_thread().name], made_in
