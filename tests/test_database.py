"""Concurrent writers on a file SQLite database wait for each other instead of failing."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from campaign.database import writing
from campaign.extensions import db
from campaign.models import Quota
from campaign.services import plans
from tests import factories as f


def test_concurrent_read_then_write_transactions_both_succeed(app, engine_name):
    district, (a,) = f.district_with_communes(["A"])
    plan = f.plan(district)
    plans.set_quotas(plan, {a: 0})
    f.commit()
    quota_id = db.session.scalar(select(Quota.id))
    db.session.commit()
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def add_one() -> None:
        # A read, a pause, then a write: the pattern that deadlocks SQLite's lock
        # upgrade unless the write lock is taken when the transaction begins.
        with app.app_context(), writing():
            try:
                barrier.wait()
                quota = db.session.get(Quota, quota_id)
                amount = quota.amount
                time.sleep(0.2)
                quota.amount = amount + 1
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add_one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.expire_all()
    if engine_name == "sqlite":
        assert errors == []
        assert db.session.get(Quota, quota_id).amount == 2
    else:
        # PostgreSQL lets both read; the point there is that nothing fails with a lock error.
        assert not [e for e in errors if "locked" in str(e)]
        assert db.session.get(Quota, quota_id).amount in (1, 2)
