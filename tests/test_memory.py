"""The collector held off while a plan is read, and on again afterwards whatever happens."""

from __future__ import annotations

import gc

import pytest

from campaign.memory import bulk_reading


def test_the_collector_is_off_inside_and_on_again_after_nested_readings_and_errors():
    assert gc.isenabled()
    with bulk_reading():
        assert not gc.isenabled()
        with bulk_reading():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer reading still runs
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), bulk_reading():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with bulk_reading():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.usefixtures("fast_passwords")
def test_a_dashboard_and_an_export_leave_the_collector_on(client, demo_plan):
    """The readings held off run through a page and a download, and give the collector back."""
    for url in (f"/ke-hoach/{demo_plan.id}", f"/ke-hoach/{demo_plan.id}/bao-cao.xlsx"):
        assert client.get(url).status_code == 200, url
        assert gc.isenabled(), url
