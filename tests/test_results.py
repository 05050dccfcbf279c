"""Saving results: derived figures, lost-update protection, review states."""

from __future__ import annotations

import pytest

from campaign.extensions import db
from campaign.models import AuditEntry, ResultState
from campaign.services import results
from campaign.services.errors import Conflict, ServiceError
from tests import factories as f


@pytest.fixture
def report(app):
    district, (a,) = f.district_with_communes(["A"])
    drive = f.drive(f.plan(district))
    result = f.result(drive, a, 5, state="draft")
    f.commit()
    return drive, a, result


def test_update_naming_the_current_version_is_saved(report):
    drive, unit, result = report
    saved = results.save(drive, unit, results.Counts(9, 1, 6, 2, 0), expected_version=1)
    f.commit()
    assert (saved.bags_250, saved.bags_350, saved.version) == (6, 2, 2)


@pytest.mark.parametrize("stale", [None, 0, 7])
def test_update_from_an_old_version_is_refused_and_changes_nothing(report, stale):
    drive, unit, result = report
    with pytest.raises(Conflict) as refused:
        results.save(drive, unit, results.Counts(1, 0, 1, 0, 0), expected_version=stale)
    db.session.rollback()
    assert refused.value.current is not None
    db.session.refresh(result)
    assert (result.bags_250, result.version) == (5, 1)


def test_second_of_two_editors_gets_a_conflict(report):
    drive, unit, result = report
    results.save(drive, unit, results.Counts(6, 0, 6, 0, 0), expected_version=1)
    f.commit()
    with pytest.raises(Conflict):
        results.save(drive, unit, results.Counts(3, 0, 3, 0, 0), expected_version=1)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_counts_must_be_whole_and_not_negative(report, bad):
    drive, unit, _ = report
    with pytest.raises(ServiceError):
        results.save(drive, unit, results.Counts(bags_350=bad), expected_version=1)


def test_submit_approve_and_lock(report):
    drive, unit, result = report
    results.save(drive, unit, results.Counts(5, 0, 5, 0, 0), expected_version=1, submit=True)
    results.approve(result)
    f.commit()
    assert result.state == ResultState.APPROVED
    with pytest.raises(ServiceError):
        results.save(drive, unit, results.Counts(), expected_version=result.version)


def test_return_needs_a_reason_and_is_audited(report):
    drive, unit, result = report
    results.save(drive, unit, results.Counts(5, 0, 5, 0, 0), expected_version=1, submit=True)
    with pytest.raises(ServiceError):
        results.return_for_correction(result, "  ")
    results.return_for_correction(result, "Thiếu số túi 350 ml")
    f.commit()
    assert result.state == ResultState.RETURNED
    actions = [e.action for e in db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-3:] == ["result.save", "result.submit", "result.return"]


# The reporter's 10 registered, 8 deferred and 20 donations: more people accounted for
# than registered. The same rule, and the same message, on every way in.
INCONSISTENT = "Số đăng ký (10) nhỏ hơn số hiến thành công và không đủ điều kiện (28)."


def test_a_result_must_account_for_no_more_people_than_registered(report):
    drive, unit, result = report
    with pytest.raises(ServiceError) as refused:
        results.save(
            drive, unit, results.Counts(registered=10, deferred=8, bags_350=20), expected_version=1
        )
    assert (refused.value.message, refused.value.field) == (INCONSISTENT, "registered")
    with pytest.raises(ServiceError) as refused:
        results.save_many(drive, [(unit.id, results.Counts(10, 8, 20), result.version)])
    assert refused.value.message == INCONSISTENT
    results.Counts(registered=28, deferred=8, bags_250=20).check()  # equal is consistent
