"""Two people saving the same result at the same moment: one wins, nothing is lost silently.

Runs on the file-based SQLite test database, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from campaign.database import writing
from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Result
from campaign.services import results
from campaign.services.errors import Conflict
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


def test_a_drive_is_not_deleted_under_a_report_being_saved(app, engine_name):
    """Results cascade with their drive: a report saved while the organiser deletes the
    drive must stop the deletion, never vanish with it."""
    from campaign.services import plans
    from campaign.services.errors import ServiceError

    district, (a,) = f.district_with_communes(["A"])
    drive = f.drive(f.plan(district))
    f.commit()
    ids = {"drive": drive.id, "unit": a.id}
    saved_not_committed = threading.Event()
    outcomes: dict[str, str] = {}

    def report() -> None:
        with app.app_context(), writing():
            try:
                drive_ = db.session.get(Drive, ids["drive"])
                unit = db.session.get(OrgUnit, ids["unit"])
                results.save(drive_, unit, results.Counts(5, 0, 5, 0, 0), submit=True)
                saved_not_committed.set()
                threading.Event().wait(0.5)  # the organiser presses "delete" meanwhile
                db.session.commit()
                outcomes["report"] = "saved"
            finally:
                db.session.remove()

    def delete() -> None:
        saved_not_committed.wait(timeout=20)
        with app.app_context(), writing():
            try:
                plans.remove_drive(db.session.get(Drive, ids["drive"]))
                db.session.commit()
                outcomes["delete"] = "deleted"
            except ServiceError:
                db.session.rollback()
                outcomes["delete"] = "refused"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=report), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == {"report": "saved", "delete": "refused"}
    db.session.rollback()
    assert db.session.get(Drive, ids["drive"]) is not None
    stored = select(func.count()).select_from(Result).where(Result.drive_id == ids["drive"])
    assert db.session.scalar(stored) == 1


def test_a_plan_is_not_deleted_under_a_quota_being_set(app, engine_name):
    """Quotas cascade with their plan, like results with their drive."""
    from campaign.models import Plan, Quota
    from campaign.services import plans
    from campaign.services.errors import ServiceError

    district, (a,) = f.district_with_communes(["A"])
    plan = f.plan(district)
    f.commit()
    ids = {"plan": plan.id, "unit": a.id}
    set_not_committed = threading.Event()
    outcomes: dict[str, str] = {}

    def give_quota() -> None:
        with app.app_context(), writing():
            try:
                plan_ = db.session.get(Plan, ids["plan"])
                plans.set_quotas(plan_, {db.session.get(OrgUnit, ids["unit"]): 10})
                db.session.flush()
                set_not_committed.set()
                threading.Event().wait(0.5)  # the organiser presses "delete" meanwhile
                db.session.commit()
                outcomes["quota"] = "saved"
            finally:
                db.session.remove()

    def delete() -> None:
        set_not_committed.wait(timeout=20)
        with app.app_context(), writing():
            try:
                plans.remove_plan(db.session.get(Plan, ids["plan"]))
                db.session.commit()
                outcomes["delete"] = "deleted"
            except ServiceError:
                db.session.rollback()
                outcomes["delete"] = "refused"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=give_quota), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == {"quota": "saved", "delete": "refused"}
    db.session.rollback()
    assert db.session.get(Plan, ids["plan"]) is not None
    stored = select(Quota.amount).where(Quota.plan_id == ids["plan"])
    assert db.session.scalars(stored).all() == [10]
