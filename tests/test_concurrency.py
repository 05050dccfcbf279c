"""Two people saving the same result at the same moment: one wins, nothing is lost silently.

Runs on the file-based SQLite test database, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from campaign.database import writing
from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, Quota, Result
from campaign.services import plans, results, units
from campaign.services.errors import Conflict, ServiceError
from tests import factories as f


def test_two_concurrent_edits_of_one_result(app, engine_name):
    district, (a,) = f.district_with_communes(["A"])
    drive = f.drive(f.plan(district))
    result = f.result(drive, a, 1, state="draft")
    f.commit()
    ids = {"drive": drive.id, "unit": a.id, "result": result.id}
    start = threading.Barrier(2, timeout=20)
    # On PostgreSQL both read version 1 before either writes, so the loser is caught by the
    # versioned UPDATE. SQLite writers queue on the write lock from BEGIN, so the loser
    # reads the winner's version instead; waiting after the read there would deadlock.
    both_read = threading.Barrier(2, timeout=20) if engine_name == "postgresql" else None
    outcomes: dict[int, str] = {}

    def edit(bags: int) -> None:
        with app.app_context(), writing():
            try:
                start.wait()
                drive_ = db.session.get(Drive, ids["drive"])
                unit = db.session.get(OrgUnit, ids["unit"])
                results.find(drive_, unit)
                if both_read is not None:
                    both_read.wait()
                counts = results.Counts(bags, 0, bags, 0, 0)
                results.save(drive_, unit, counts, expected_version=1)
                db.session.commit()
                outcomes[bags] = "saved"
            except Conflict:
                db.session.rollback()
                outcomes[bags] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=edit, args=(bags,)) for bags in (20, 30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(bags for bags, outcome in outcomes.items() if outcome == "saved")
    db.session.rollback()
    stored = db.session.get(Result, ids["result"])
    db.session.refresh(stored)
    assert (stored.bags_250, stored.registered, stored.version) == (winner, winner, 2)


def save_during_delete(app, save, remove) -> dict[str, str]:
    """``save`` writes and holds its transaction open for half a second; ``remove`` starts
    once the write is flushed. Returns how each ended."""
    flushed = threading.Event()
    outcomes: dict[str, str] = {}

    def saver() -> None:
        with app.app_context(), writing():
            try:
                save()
                db.session.flush()
                flushed.set()
                threading.Event().wait(0.5)  # the organiser presses "delete" meanwhile
                db.session.commit()
                outcomes["save"] = "saved"
            finally:
                db.session.remove()

    def remover() -> None:
        flushed.wait(timeout=20)
        with app.app_context(), writing():
            try:
                remove()
                db.session.commit()
                outcomes["delete"] = "deleted"
            except ServiceError:
                db.session.rollback()
                outcomes["delete"] = "refused"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=saver), threading.Thread(target=remover)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.rollback()
    return outcomes


def test_a_drive_is_not_deleted_under_a_report_being_saved(app, engine_name):
    """Results cascade with their drive: a report saved while the organiser deletes the
    drive must stop the deletion, never vanish with it."""
    district, (a,) = f.district_with_communes(["A"])
    drive = f.drive(f.plan(district))
    f.commit()
    drive_id, unit_id = drive.id, a.id

    def report() -> None:
        counts = results.Counts(5, 0, 5, 0, 0)
        unit = db.session.get(OrgUnit, unit_id)
        results.save(db.session.get(Drive, drive_id), unit, counts, submit=True)

    outcomes = save_during_delete(
        app, report, lambda: plans.remove_drive(db.session.get(Drive, drive_id))
    )
    assert outcomes == {"save": "saved", "delete": "refused"}
    assert db.session.get(Drive, drive_id) is not None
    stored = select(func.count()).select_from(Result).where(Result.drive_id == drive_id)
    assert db.session.scalar(stored) == 1


def test_a_plan_is_not_deleted_under_a_quota_being_set(app, engine_name):
    """Quotas cascade with their plan, like results with their drive."""
    district, (a,) = f.district_with_communes(["A"])
    plan = f.plan(district)
    f.commit()
    plan_id, unit_id = plan.id, a.id

    def give_quota() -> None:
        plans.set_quotas(db.session.get(Plan, plan_id), {db.session.get(OrgUnit, unit_id): 10})

    outcomes = save_during_delete(
        app, give_quota, lambda: plans.remove_plan(db.session.get(Plan, plan_id))
    )
    assert outcomes == {"save": "saved", "delete": "refused"}
    assert db.session.get(Plan, plan_id) is not None
    stored = select(Quota.amount).where(Quota.plan_id == plan_id)
    assert db.session.scalars(stored).all() == [10]


def test_one_official_code_given_twice_at_once_is_refused_once(app, engine_name):
    """A code is unique day by day, which no index can say: the second of two units given
    the same code at the same moment must be refused, not saved beside the first."""
    province = f.unit("Tỉnh Thanh Hóa", "province")
    f.commit()
    province_id = province.id

    def create(code: str) -> Callable[[], None]:
        def run() -> None:
            parent = db.session.get(OrgUnit, province_id)
            units.create_unit(
                code=code, name="Xã Quảng Bình", kind="commune", parent=parent,
                official_code="16543",
            )  # fmt: skip

        return run

    outcomes = save_during_delete(app, create("QB-1"), create("QB-2"))
    assert outcomes == {"save": "saved", "delete": "refused"}
    given = select(OrgUnit.code).where(OrgUnit.official_code == "16543")
    assert db.session.scalars(given).all() == ["QB-1"]
