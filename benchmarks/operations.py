"""The measured operations and their limits, on one database built for the run."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import cycle
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import func, insert, select, text

from benchmarks.harness import Row, measure
from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, Quota, Result, Role
from campaign.services import imports, plans, results, synthetic, units, users
from campaign.services.exports import summary_export
from campaign.services.summary import (
    forget_derived_figures,
    forget_kept_figures,
    forget_kept_trees,
    plan_and_descendants,
    plan_summary,
    unit_and_descendants,
)

PASSWORD = "benchmark password"

#: One query doing what the summary does: every quota holder's subtree rolled up.
HAND_WRITTEN_SUMMARY = """
WITH RECURSIVE plan_tree(id) AS (
    SELECT CAST(:plan_id AS INTEGER)  -- psycopg sends a small int as smallint
    UNION ALL SELECT plan.id FROM plan JOIN plan_tree ON plan.parent_id = plan_tree.id
),
own AS (
    SELECT result.unit_id, COUNT(*) AS n, SUM(registered) AS registered, SUM(deferred) AS deferred,
           SUM(bags_250) AS b250, SUM(bags_350) AS b350, SUM(bags_450) AS b450
    FROM result JOIN drive ON drive.id = result.drive_id
    WHERE drive.plan_id IN (SELECT id FROM plan_tree) AND result.state IN ('submitted', 'approved')
    GROUP BY result.unit_id
),
below(holder, unit) AS (
    SELECT unit_id, unit_id FROM quota WHERE plan_id = :plan_id
    UNION ALL
    SELECT below.holder, org_unit.id FROM below JOIN org_unit ON org_unit.parent_id = below.unit
)
SELECT quota.unit_id, quota.amount, SUM(own.n), SUM(own.registered), SUM(own.deferred),
       SUM(own.b250), SUM(own.b350), SUM(own.b450)
FROM quota JOIN below ON below.holder = quota.unit_id LEFT JOIN own ON own.unit_id = below.unit
WHERE quota.plan_id = :plan_id
GROUP BY quota.unit_id, quota.amount
"""


@dataclass
class Province:
    province_plan: Plan
    district_plan: Plan
    holders: int
    #: Rows of the result import, each from its own reporting unit.
    result_rows: int = 100_000
    #: The province plan of the year before: its quota holders are the districts only.
    earlier_plan_id: int | None = None


def build(app: Flask, sizes: synthetic.Sizes, result_rows: int = 100_000) -> Province:
    """The synthetic province, with the latest province plan giving every unit a quota."""
    with app.app_context():
        synthetic.generate(sizes)
        tops = db.session.scalars(
            select(Plan).where(Plan.parent_id.is_(None)).order_by(Plan.year.desc())
        ).all()
        plan = tops[0]
        given = set(db.session.scalars(select(Quota.unit_id).where(Quota.plan_id == plan.id)))
        rest = db.session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id.is_not(None))).all()
        rows = [{"plan_id": plan.id, "unit_id": u, "amount": 5} for u in rest if u not in given]
        db.session.execute(insert(Quota), rows)
        province = db.session.get_one(OrgUnit, plan.issuer_id)
        users.create_user(username="leader", password=PASSWORD, role=Role.LEADER, units=[province])
        db.session.commit()
        district_plan = db.session.scalars(
            select(Plan).where(Plan.parent_id == plan.id).limit(1)
        ).one()
        earlier = tops[1].id if len(tops) > 1 else None
        return Province(plan, district_plan, len(given) + len(rows), result_rows, earlier)


def _seconds(limit: float) -> str:
    """1.5 -> "1,5 s", as the targets are written."""
    return f"{limit:.1f}".replace(".", ",") + " s"


def summary_row(
    app: Flask,
    plan_id: int,
    label: str,
    runs: int,
    seconds_limit: float | None = None,
    ratio_limit: float = 2,
    setup: Callable[[], Any] | None = None,
) -> Row:
    """``plan_summary`` against the hand-written SQL; ``seconds_limit`` bounds it outright too.
    ``setup`` runs before each run of the app's side, outside its time; by default it drops
    the figures kept, so that each run makes the summary, as after any write (kept, it is
    one query)."""
    with app.app_context():
        plan = db.session.get_one(Plan, plan_id)

        def app_work() -> Any:
            db.session.expire_all()
            return plan_summary(plan)

        def limit_work() -> Any:
            return db.session.execute(text(HAND_WRITTEN_SUMMARY), {"plan_id": plan.id}).all()

        _check_same_figures(app_work(), limit_work())
        app_measure = measure(app_work, runs, setup or forget_kept_figures)
        limit_measure = measure(limit_work, runs)
    target = f"≤ {ratio_limit:g}× hand-written SQL"
    if seconds_limit is not None:
        target = f"≤ {_seconds(seconds_limit)} and {target}"
    row = Row(label, app_measure, limit_measure, target, False)
    row.met = (row.ratio or 0) <= ratio_limit and (
        seconds_limit is None or app_measure.seconds <= seconds_limit
    )
    return row


def province_summary(app: Flask, province: Province, runs: int) -> Row:
    label = f"province plan summary ({province.holders:,} holders)"
    return summary_row(app, province.province_plan.id, label, runs)


def _holders(app: Flask, plan_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(Quota.plan_id == plan_id)) or 0


def _national_summary(app: Flask, plan_id: int, runs: int, seconds_limit: float) -> Row:
    label = f"national summary, plan with {_holders(app, plan_id):,} holders"
    return summary_row(app, plan_id, label, runs, seconds_limit)


def national_summary_earlier(app: Flask, province: Province, runs: int) -> Row:
    """The plan of the year before: 200 districts hold its quotas, the whole tree reports."""
    if province.earlier_plan_id is None:
        raise ValueError("a national run needs two years of plans")
    return _national_summary(app, province.earlier_plan_id, runs, 1.0)


def national_summary_latest(app: Flask, province: Province, runs: int) -> Row:
    """The latest plan, every unit of the country a quota holder."""
    return _national_summary(app, province.province_plan.id, runs, 1.5)


def national_summary_tree_read_anew(app: Flask, province: Province, runs: int) -> Row:
    """The same, as the first summary after a unit changed: its tree read and sorted anew,
    not kept (``services.kept``)."""
    plan_id = province.province_plan.id
    label = f"national summary, plan with {_holders(app, plan_id):,} holders, tree read anew"
    return summary_row(app, plan_id, label, runs, 1.5, setup=_forget_all)


def _forget_all() -> None:
    forget_kept_figures()
    forget_kept_trees()


def _check_same_figures(summary: Any, rows: list[Any]) -> None:
    """The limit must return what the app computes, or the comparison means nothing."""
    by_unit = {line.unit.id: line for line in summary.lines}
    for unit_id, _amount, n, _reg, _deferred, b250, b350, b450 in rows:
        donors = (b250 or 0) + (b350 or 0) + (b450 or 0)
        line = by_unit[unit_id]
        if (line.tally.reports, line.tally.donors) != ((n or 0), donors):
            raise AssertionError(f"summary and SQL disagree for unit {unit_id}")


@cache
def _leader(app: Flask) -> FlaskClient:
    """A client signed in as the province's leader, once per app: signing in hashes the
    password on purpose slowly, and each row signed in anew."""
    client = app.test_client()
    client.post("/dang-nhap", data={"username": "leader", "password": PASSWORD})
    return client


def dashboard_row(
    app: Flask,
    plan_id: int,
    label: str,
    runs: int,
    seconds_limit: float,
    target: str,
    setup: Callable[[], Any] | None = forget_kept_figures,
    query: str = "",
    page: str = "/ke-hoach/{plan_id}",
) -> Row:
    """``GET /ke-hoach/<id>`` (or another ``page`` of the plan, and ``query``) through the
    app as the province's leader: server time only. By default each run makes the page's
    figures, as after any write; with ``setup`` None, the runs after the first get them
    kept, as between writes."""
    client = _leader(app)
    url = page.format(plan_id=plan_id) + query

    def work() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"{url} answered {response.status_code}")

    app_measure = measure(work, runs, setup)
    return Row(label, app_measure, None, target, app_measure.seconds <= seconds_limit)


def district_dashboard(app: Flask, province: Province, runs: int) -> Row:
    units = _holders(app, province.district_plan.id)
    label = f"district dashboard page ({units:,} units), server time, figures made"
    return dashboard_row(app, province.district_plan.id, label, runs, 0.1, "≤ 100 ms")


def _national_dashboard(
    app: Flask,
    plan_id: int,
    runs: int,
    when: str = "figures made anew",
    setup: Callable[[], Any] | None = forget_kept_figures,
    page: str = "first page",
    query: str = "",
) -> Row:
    """The plan's first dashboard page (or ``page``, at ``query``), ``setup`` run before
    each run (``when`` says what it does)."""
    label = f"national dashboard ({_holders(app, plan_id):,} holders), {page}, {when}"
    target = "≤ 1,0 s server time"
    return dashboard_row(app, plan_id, label, runs, 1.0, target, setup, query)


def national_dashboard_earlier(app: Flask, province: Province, runs: int) -> Row:
    """The plan a national committee gives: quotas to the provinces' units of one level."""
    if province.earlier_plan_id is None:
        raise ValueError("a national run needs two years of plans")
    return _national_dashboard(app, province.earlier_plan_id, runs)


def national_dashboard(app: Flask, province: Province, runs: int) -> Row:
    """Every unit of the country a quota holder, read against the plan of the year before;
    its figures made anew, as the first time it is read, or after a unit, the plan's
    issuer, date, year or counting rule, or a drive with results moved (after results,
    quotas, drives and plans of its tree, and its own targets, they are brought up to date:
    see below)."""
    return _national_dashboard(app, province.province_plan.id, runs)


def national_dashboard_kept(app: Flask, province: Province, runs: int) -> Row:
    """The same page opened again with no write in between: its figures are kept."""
    plan_id = province.province_plan.id
    return _national_dashboard(app, plan_id, runs, "figures kept (between writes)", None)


def national_dashboard_sorted_by_rate(app: Flask, province: Province, runs: int) -> Row:
    """The plan's lines sorted by rate, as a leader asks from the first page: what was
    made from the figures dropped and the first page shown before each run (the figures
    kept), then the whole plan sorted, its first page shown."""
    plan_id = province.province_plan.id
    client = _leader(app)

    def first_page() -> None:
        forget_derived_figures()
        client.get(f"/ke-hoach/{plan_id}")

    return _national_dashboard(
        app, plan_id, runs, "figures kept", first_page, "sorted by rate", "?sort=rate"
    )


def national_dashboard_next_page(app: Flask, province: Province, runs: int) -> Row:
    """A page after the first, its figures kept: each run a page not shown before (2, 3,
    ...), read against the plan of the year before."""
    plan_id = province.province_plan.id
    client = _leader(app)
    pages = iter(range(1, 1_000_000))

    def next_page() -> None:
        response = client.get(f"/ke-hoach/{plan_id}?trang={next(pages)}")
        if response.status_code != 200:
            raise AssertionError(f"the dashboard answered {response.status_code}")

    next_page()  # the first page: the figures made, and kept
    app_measure = measure(next_page, runs)
    label = f"national dashboard ({_holders(app, plan_id):,} holders), next page, figures kept"
    return Row(label, app_measure, None, "≤ 1,0 s server time", app_measure.seconds <= 1.0)


def _national_api_summary(app: Flask, province: Province, runs: int, when: str, setup: Any) -> Row:
    plan_id = province.province_plan.id
    label = f"national API summary ({_holders(app, plan_id):,} holders), first page, {when}"
    page = "/api/v1/plans/{plan_id}/summary"
    return dashboard_row(app, plan_id, label, runs, 1.0, "≤ 1,0 s server time", setup, page=page)


def national_api_summary(app: Flask, province: Province, runs: int) -> Row:
    """``GET /api/v1/plans/<id>/summary`` of the national plan, asked for every unit: its
    first 1000, with the totals and the comparison; its figures made anew."""
    return _national_api_summary(app, province, runs, "figures made anew", forget_kept_figures)


def national_api_summary_kept(app: Flask, province: Province, runs: int) -> Row:
    """The same, its figures kept (between writes)."""
    return _national_api_summary(app, province, runs, "figures kept (between writes)", None)


def national_unit_page(app: Flask, province: Province, runs: int) -> Row:
    """A unit's page in the national plan, as a leader opens it from the dashboard: its
    quota lines below a page at a time, its units, its progress and its results drive by
    drive. Before each run the figures are dropped and the dashboard shown (made anew, not
    timed); then a district's page, the first unit page read from those figures."""
    plan_id = province.province_plan.id
    with app.app_context():
        units = db.session.scalars(
            select(OrgUnit.id).where(OrgUnit.kind == "district").order_by(OrgUnit.id)
        ).all()
        size = db.session.scalar(
            select(func.count()).select_from(unit_and_descendants(units[0]).subquery())
        )
    client = _leader(app)
    districts = cycle(units)

    def dashboard_first() -> None:
        forget_kept_figures()
        client.get(f"/ke-hoach/{plan_id}")

    def open_one() -> None:
        url = f"/ke-hoach/{plan_id}/don-vi/{next(districts)}"
        response = client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"{url} answered {response.status_code}")

    app_measure = measure(open_one, runs, dashboard_first)
    label = (
        f"national unit page (a district of {size:,} units, plan of "
        f"{_holders(app, plan_id):,} holders), first after the dashboard"
    )
    return Row(label, app_measure, None, "≤ 1,0 s server time", app_measure.seconds <= 1.0)


def national_dashboard_after_a_result(app: Flask, province: Province, runs: int) -> Row:
    """The page opened after a reporter saved one result of the plan (committed before
    each run, through the service the result form uses): its figures are brought up to
    date with that result, as the first reader after a save gets them."""
    plan_id = province.province_plan.id
    with app.app_context():
        drive_id, unit_id = db.session.execute(
            select(Result.drive_id, Result.unit_id)
            .join(Drive, Drive.id == Result.drive_id)
            .where(Drive.plan_id.in_(plan_and_descendants(plan_id)), Result.state == "submitted")
            .order_by(Result.id)
            .limit(1)
        ).one()
    saved = iter(range(1, 1_000_000))

    def save_one() -> None:
        with app.app_context():
            drive = db.session.get_one(Drive, drive_id)
            unit = db.session.get_one(OrgUnit, unit_id)
            bags = next(saved) % 7 + 1
            counts = results.Counts(registered=bags + 1, deferred=1, bags_350=bags)
            stored = results.find(drive, unit)
            version = None if stored is None else stored.version
            results.save(drive, unit, counts, expected_version=version, submit=True)
            db.session.commit()

    return _national_dashboard(app, plan_id, runs, "after one result saved", save_one)


def national_dashboard_after_a_district_quota(app: Flask, province: Province, runs: int) -> Row:
    """The page opened after an organiser changed a quota in a district's plan under the
    national plan (committed before each run): the national plan reads its own quotas,
    so its figures stay kept; its page is made again from them."""
    when = "after a district plan's quota changed"
    return _after_a_quota(app, province, province.district_plan.id, when, runs)


def national_dashboard_after_its_quota(app: Flask, province: Province, runs: int) -> Row:
    """The page opened after an organiser changed one quota of the national plan itself
    (committed before each run): its summary is made again from the results it kept,
    which are not added up again."""
    return _after_a_quota(app, province, province.province_plan.id, "after its quota changed", runs)


def national_dashboard_after_a_drive(app: Flask, province: Province, runs: int) -> Row:
    """The page opened after an organiser scheduled a drive in a district's plan under the
    national plan (committed before each run, through the service the drive form uses):
    it holds no result yet, so the national figures are brought along, its drives read
    again; its page is made again from them."""
    plan_id = province.district_plan.id
    days = iter(range(1_000_000))

    def add_one() -> None:
        with app.app_context():
            plan = db.session.get_one(Plan, plan_id)
            day = date(plan.year, 1, 1) + timedelta(days=next(days) % 360)
            plans.add_drive(plan, name=f"Đợt thêm {day:%d/%m}", starts_on=day, ends_on=day)
            db.session.commit()

    when = "after a drive of a district plan scheduled"
    return _national_dashboard(app, province.province_plan.id, runs, when, add_one)


def national_dashboard_after_a_plan(app: Flask, province: Province, runs: int) -> Row:
    """The page opened after a commune recorded its plan under the national plan
    (committed before each run, through the service the plan form uses): it joins the
    tree with no drive, so the national figures are brought along, the tree's plans and
    drives read again; its page is made again from them."""
    parent_id = province.province_plan.id
    issuer_id, numbers = _first_commune(app), _unused_numbers(app, Plan.id)

    def record_one() -> None:
        with app.app_context():
            parent = db.session.get_one(Plan, parent_id)
            plans.create_plan(
                issuer=db.session.get_one(OrgUnit, issuer_id),
                number=f"{next(numbers)}/KH-UBND",
                issued_on=parent.issued_on,
                title="Kế hoạch hiến máu tình nguyện của xã",
                year=parent.year,
                counting_rule=parent.counting_rule,
                parent=parent,
            )
            db.session.commit()

    when = "after a commune's plan recorded under it"
    return _national_dashboard(app, parent_id, runs, when, record_one)


def national_dashboard_after_its_targets(app: Flask, province: Province, runs: int) -> Row:
    """The page opened after an organiser set the national plan's own target of 350 ml
    bags (committed before each run, through the service the plan's form uses): its figures
    are not made from its targets, so they are brought along; its page judges the shares
    against the new target."""
    plan_id = province.province_plan.id
    shares = cycle(range(40, 90))

    def set_one() -> None:
        with app.app_context():
            plan = db.session.get_one(Plan, plan_id)
            plans.set_targets(plan, plan.targets._replace(large_bag=next(shares)))
            db.session.commit()

    return _national_dashboard(app, plan_id, runs, "after its own target set", set_one)


def national_dashboard_after_a_unit(app: Flask, province: Province, runs: int) -> Row:
    """The page opened after an organiser added a school under a commune (committed before
    each run, through the service the unit form uses): the plans' trees are read anew, the
    figures brought along."""
    plan_id = province.province_plan.id
    parent_id, numbers = _first_commune(app), _unused_numbers(app, OrgUnit.id)

    def add_one() -> None:
        with app.app_context():
            number = next(numbers)
            units.create_unit(
                code=f"TRUONG-{number}",
                name=f"Trường Tiểu học số {number}",
                kind="school",
                parent=db.session.get_one(OrgUnit, parent_id),
            )
            db.session.commit()

    return _national_dashboard(app, plan_id, runs, "after a unit added", add_one)


def national_dashboard_after_a_rename(app: Flask, province: Province, runs: int) -> Row:
    """The page opened after an organiser corrected a commune's name (committed before each
    run, through the service the unit form uses), which moves it first or last among its
    siblings: the plans' trees are read anew, the lines shown again in their new order."""
    plan_id = province.province_plan.id
    unit_id = _first_commune(app)
    names = itertools.cycle(("A", "Z"))

    def rename() -> None:
        with app.app_context():
            unit = db.session.get_one(OrgUnit, unit_id)
            name = unit.name.removeprefix("A ").removeprefix("Z ")
            units.update_unit(
                unit,
                code=unit.code,
                name=f"{next(names)} {name}",
                kind=unit.kind,
                parent=unit.parent,
                valid_from=unit.valid_from,
                valid_to=unit.valid_to,
                official_code=unit.official_code,
                contact_name=unit.contact_name,
                contact_phone=unit.contact_phone,
                contact_email=unit.contact_email,
            )
            db.session.commit()

    return _national_dashboard(app, plan_id, runs, "after a unit renamed", rename)


def _first_commune(app: Flask) -> int:
    with app.app_context():
        return db.session.scalars(
            select(OrgUnit.id).where(OrgUnit.kind == "commune").order_by(OrgUnit.id).limit(1)
        ).one()


def _unused_numbers(app: Flask, column: Any) -> Iterator[int]:
    """Numbers above every id of ``column``: plan numbers and unit codes not taken yet."""
    with app.app_context():
        first = (db.session.scalar(select(func.max(column))) or 0) + 1
    return iter(range(first, first + 1_000_000))


def _after_a_quota(app: Flask, province: Province, quota_plan_id: int, when: str, runs: int) -> Row:
    """The national plan's first page, after one quota of ``quota_plan_id`` was changed."""
    with app.app_context():
        unit_id = db.session.scalars(
            select(Quota.unit_id).where(Quota.plan_id == quota_plan_id).order_by(Quota.id).limit(1)
        ).one()
    amounts = iter(range(1, 1_000_000))

    def set_one() -> None:
        with app.app_context():
            plan = db.session.get_one(Plan, quota_plan_id)
            unit = db.session.get_one(OrgUnit, unit_id)
            plans.set_quotas(plan, {unit: 10 + next(amounts) % 7})
            db.session.commit()

    return _national_dashboard(app, province.province_plan.id, runs, when, set_one)


def export_row(
    app: Flask, plan_id: int, label: str, runs: int, mb_limit: float | None = None
) -> Row:
    """The plan's workbook vs openpyxl write-only writing the same cells, unstyled."""
    with app.app_context():
        plan = db.session.get_one(Plan, plan_id)

        def app_work() -> bytes:
            db.session.expire_all()
            return summary_export(plan, date(2025, 6, 13))

        # The same cells, read back from our own file outside the timing.
        book = load_workbook(io.BytesIO(app_work()), read_only=True)
        sheets = [[list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets]
        book.close()
        app_measure = measure(app_work, runs, forget_kept_figures)  # the figures made too
        limit_measure = measure(lambda: plain_write_only(sheets), runs)
    target = "≤ 1,5× openpyxl write-only"
    if mb_limit is not None:
        target += f", ≤ {mb_limit:g} MB"
    row = Row(label, app_measure, limit_measure, target, False)
    row.met = (row.ratio or 0) <= 1.5 and (mb_limit is None or app_measure.peak_mb <= mb_limit)
    return row


def summary_export_operation(app: Flask, province: Province, runs: int) -> Row:
    label = f"summary export ({province.holders:,} units)"
    return export_row(app, province.province_plan.id, label, runs)


def national_export(app: Flask, province: Province, runs: int) -> Row:
    label = f"national export ({province.holders:,} units)"
    return export_row(app, province.province_plan.id, label, runs, mb_limit=500)


def plain_write_only(sheets: list[list[list[Any]]]) -> bytes:
    book = Workbook(write_only=True)
    for index, rows in enumerate(sheets):
        sheet = book.create_sheet(f"S{index}")
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _code_to_id() -> dict[str, int]:
    """The least an import must do besides reading and inserting: resolve unit codes."""
    return dict(db.session.execute(select(OrgUnit.code, OrgUnit.id)).tuples().all())


def quota_import(app: Flask, province: Province, runs: int) -> Row:
    """Every unit of the province gets a quota in a new, empty province plan."""
    with app.app_context():
        plan_id = _empty_plan(province.province_plan.issuer_id, "1/KH-BENCH")
        codes = db.session.execute(
            select(OrgUnit.code, OrgUnit.id).where(OrgUnit.id != province.province_plan.issuer_id)
        ).all()
        data = _workbook(
            ("Mã đơn vị", "Chỉ tiêu"), ([code, 5 + i % 30] for i, (code, _) in enumerate(codes))
        )

        def app_work() -> None:
            plan = db.session.get_one(Plan, plan_id)
            preview = imports.preview_quotas(data, plan)
            imports.apply(preview)
            db.session.flush()

        def limit_work() -> None:
            rows = _calamine_rows(data)
            ids = _code_to_id()
            db.session.execute(
                insert(Quota),
                [{"plan_id": plan_id, "unit_id": ids[code], "amount": int(n)} for code, n in rows],
            )

        app_measure = measure(app_work, runs, setup=db.session.rollback)
        limit_measure = measure(limit_work, runs, setup=db.session.rollback)
        db.session.rollback()
    return _import_row(f"quota import ({len(codes):,} rows)", app_measure, limit_measure)


def result_import(app: Flask, province: Province, runs: int) -> Row:
    """One drive's results from as many reporting units, all new."""
    with app.app_context():
        drive_id, codes = _reporting_units(province.province_plan.issuer_id, province.result_rows)
        headers = ("Mã đơn vị", "Đăng ký", "Không đủ điều kiện", "250 ml", "350 ml", "450 ml")
        data = _workbook(
            headers,
            ([code, 9 + i % 3, 1, i % 4, 3 + i % 2, i % 3] for i, (code, _) in enumerate(codes)),
        )

        def app_work() -> None:
            drive = db.session.get_one(Drive, drive_id)
            preview = imports.preview_results(data, drive)
            imports.apply(preview)
            db.session.flush()

        def limit_work() -> None:
            ids = _code_to_id()
            rows = [
                {
                    "drive_id": drive_id,
                    "unit_id": ids[code],
                    "registered": int(registered),
                    "deferred": int(deferred),
                    "bags_250": int(b250),
                    "bags_350": int(b350),
                    "bags_450": int(b450),
                    "state": "submitted",
                    "version": 1,
                }
                for code, registered, deferred, b250, b350, b450 in _calamine_rows(data)
            ]
            db.session.execute(insert(Result), rows)

        app_measure = measure(app_work, runs, setup=db.session.rollback)
        limit_measure = measure(limit_work, runs, setup=db.session.rollback)
        db.session.rollback()
    row = _import_row(f"result import ({len(codes):,} rows)", app_measure, limit_measure)
    row.target += ", ≤ 300 MB"
    row.met = row.met and app_measure.peak_mb <= 300
    return row


def _import_row(name: str, app_measure: Any, limit_measure: Any) -> Row:
    row = Row(name, app_measure, limit_measure, "≤ 2× calamine + bulk insert", False)
    row.met = (row.ratio or 0) <= 2
    return row


def _empty_plan(issuer_id: int, number: str) -> int:
    plan = Plan(
        issuer_id=issuer_id,
        number=number,
        issued_on=date(2025, 1, 5),
        title="Kế hoạch đo hiệu năng nhập Excel",
        year=2025,
    )
    db.session.add(plan)
    db.session.commit()
    return plan.id


def _reporting_units(province_id: int, count: int) -> tuple[int, list[tuple[str, int]]]:
    """``count`` units under one new unit, a plan it issues and a drive: (drive id, codes)."""
    root = OrgUnit(code="BENCH-R", name="Khối đơn vị đo hiệu năng", kind="other")
    root.parent_id = province_id
    db.session.add(root)
    db.session.flush()
    db.session.execute(
        insert(OrgUnit),
        [
            {"code": f"R{i:06d}", "name": f"Tổ đo hiệu năng số {i}", "kind": "union",
             "parent_id": root.id}
            for i in range(1, count + 1)
        ],
    )  # fmt: skip
    plan_id = _empty_plan(root.id, "2/KH-BENCH")
    drive = Drive(
        plan_id=plan_id, name="Đợt đo hiệu năng", starts_on=date(2025, 6, 1),
        ends_on=date(2025, 6, 2), report_due_on=date(2025, 6, 5),
    )  # fmt: skip
    db.session.add(drive)
    db.session.commit()
    codes = db.session.execute(
        select(OrgUnit.code, OrgUnit.id).where(OrgUnit.parent_id == root.id).order_by(OrgUnit.id)
    ).all()
    return drive.id, [tuple(c) for c in codes]


def _workbook(headers: tuple[str, ...], rows: Any) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Số liệu")
    sheet.append(list(headers))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _calamine_rows(data: bytes) -> list[list[Any]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_index(0).to_python()[1:]


OPERATIONS: list[Callable[[Flask, Province, int], Row]] = [
    province_summary,
    district_dashboard,
    summary_export_operation,
    quota_import,
    result_import,
]

#: ``--national``: the country's tree, its two province plans, the dashboard and the export.
NATIONAL: list[Callable[[Flask, Province, int], Row]] = [
    national_summary_earlier,
    national_summary_latest,
    national_summary_tree_read_anew,
    national_dashboard_earlier,
    national_dashboard,
    national_dashboard_kept,
    national_dashboard_next_page,
    national_dashboard_sorted_by_rate,
    national_dashboard_after_a_result,
    national_dashboard_after_a_district_quota,
    national_dashboard_after_its_quota,
    national_dashboard_after_a_drive,
    national_dashboard_after_a_plan,
    national_dashboard_after_its_targets,
    national_dashboard_after_a_unit,
    national_dashboard_after_a_rename,
    national_api_summary,
    national_api_summary_kept,
    national_unit_page,
    district_dashboard,
    national_export,
]
