"""Two people saving the same result at the same moment: one wins, nothing is lost silently.

Runs on the file-based SQLite test database, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import threading

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
