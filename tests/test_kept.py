"""The unit tree a summary reads is kept between requests, and never used once stale: every
write to the tree, however made, changes the stamp it is kept under, in the writing
transaction (database triggers, on the engine the suite runs on)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import insert, select, text

from campaign.extensions import db
from campaign.models import DataStamp, OrgUnit, Plan, UnitMove
from campaign.services import plans, summary, units
from campaign.services.kept import Kept
from tests import factories as f


class Province:
    """A province plan in which every unit holds a quota: the summary reads the whole
    tree. Two districts, two communes each, every commune reporting."""

    def __init__(self) -> None:
        self.province = f.unit("Tỉnh Thử", "province")
        self.north = f.unit("Huyện Bắc", "district", self.province)
        self.south = f.unit("Huyện Nam", "district", self.province)
        self.communes = [
            f.unit(f"Xã {name}", "commune", district)
            for district, names in ((self.north, ("An", "Bình")), (self.south, ("Cát", "Dũng")))
            for name in names
        ]
        self.plan = f.plan(self.province, issued_on=date(2026, 1, 10), year=2026)
        plans.set_quotas(self.plan, {u: 10 for u in (self.north, self.south, *self.communes)})
        drive = f.drive(self.plan, day=date(2026, 3, 1))
        for n, commune in enumerate(self.communes, start=1):
            f.result(drive, commune, n)
        f.commit()


@pytest.fixture
def province(app) -> Province:
    return Province()


def _read(plan: Plan) -> tuple[dict[str, tuple[str | None, int]], list[str]]:
    """Each line's unit name -> (its parent's name, collected), and the tree's order."""
    made, units_ = summary.read_plan(plan, whole_tree=True)
    names = {n.id: n.name for n in units_}
    lines = {
        line.unit.name: (names.get(line.unit.parent_id), int(line.collected)) for line in made.lines
    }
    return lines, [n.name for n in units_]


def _fresh(plan: Plan) -> tuple[dict[str, tuple[str | None, int]], list[str]]:
    """The same read with nothing kept."""
    summary.forget_kept_trees()
    summary.forget_kept_figures()
    return _read(plan)


def _rename_through_the_service(p: Province) -> None:
    commune = p.communes[0]
    units.update_unit(
        commune, code=commune.code, name="Xã Ấp Mới", kind=commune.kind, parent=commune.parent
    )


def _move_through_the_service(p: Province) -> None:
    units.move_unit(p.communes[0], p.south, date(2026, 1, 1))  # before the plan: it counts


def _moved_by_hand(p: Province) -> None:
    """A move typed in SQL: the move row and the new parent, as the service writes them."""
    commune = p.communes[1]
    db.session.execute(
        insert(UnitMove).values(
            unit_id=commune.id,
            from_parent_id=p.north.id,
            to_parent_id=p.south.id,
            moved_on=date(2025, 12, 1),
        )
    )
    db.session.execute(
        text("UPDATE org_unit SET parent_id = :parent WHERE id = :id"),
        {"parent": p.south.id, "id": commune.id},
    )


def _closed_before_the_plan(p: Province) -> None:
    commune = p.communes[3]
    db.session.execute(
        text("UPDATE org_unit SET valid_to = :day WHERE id = :id"),
        {"day": date(2025, 12, 31), "id": commune.id},
    )
    # Closed with no quota and no result, it leaves the plan's tree.
    plans.set_quotas(p.plan, {commune: None})
    db.session.execute(text("DELETE FROM result WHERE unit_id = :id"), {"id": commune.id})


def _inserted_in_bulk(p: Province) -> None:
    db.session.execute(
        insert(OrgUnit),
        [{"code": "MOI-1", "name": "Xã Mới", "kind": "commune", "parent_id": p.south.id}],
    )


def _deleted_by_hand(p: Province) -> None:
    gone = {"id": p.communes[3].id}
    for table, column in (("result", "unit_id"), ("quota", "unit_id"), ("org_unit", "id")):
        db.session.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), gone)


WRITES: dict[str, Callable[[Province], None]] = {
    "rename": _rename_through_the_service,
    "move": _move_through_the_service,
    "move-by-hand": _moved_by_hand,
    "close-by-hand": _closed_before_the_plan,
    "bulk-insert": _inserted_in_bulk,
    "delete-by-hand": _deleted_by_hand,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_to_the_tree_is_read_at_once_in_its_transaction_and_after(province, write):
    before = _read(province.plan)  # the tree is kept
    assert before == _fresh(province.plan)
    _read(province.plan)
    write(province)
    during = _read(province.plan)  # uncommitted: this transaction sees its own write
    assert during != before
    db.session.commit()
    after = _read(province.plan)
    assert after == during == _fresh(province.plan)


def test_the_write_changes_what_the_summary_shows(province):
    _read(province.plan)
    _move_through_the_service(province)
    lines, _order = _read(province.plan)
    # Xã An (1 unit) now counts under Huyện Nam: 1 + 3 + 4 there, 2 in Huyện Bắc.
    assert lines["Xã An"] == ("Huyện Nam", 1)
    assert lines["Huyện Nam"][1] == 8 and lines["Huyện Bắc"][1] == 2


def test_a_write_committed_elsewhere_is_read_by_the_next_transaction(province):
    before = _read(province.plan)
    plan, commune_id = province.plan, province.communes[1].id
    db.session.commit()
    with db.engine.begin() as other:  # another connection: another request, another worker
        other.execute(
            text("UPDATE org_unit SET name = 'Xã Bình Mới' WHERE id = :id"), {"id": commune_id}
        )
    lines, order = _read(plan)  # a new transaction
    assert "Xã Bình Mới" in lines and "Xã Bình" not in lines
    assert (lines, order) != before


def test_a_write_rolled_back_leaves_the_tree_as_it_was(province):
    before = _read(province.plan)
    _rename_through_the_service(province)
    assert _read(province.plan) != before
    db.session.rollback()
    assert _read(province.plan) == before


def test_without_a_stamp_nothing_is_kept_and_the_figures_are_right(province, count_queries):
    db.session.execute(text("DELETE FROM data_stamp"))
    db.session.commit()
    before = _read(province.plan)
    with count_queries:
        assert _read(province.plan) == before
    assert _tree_read(count_queries.statements)
    # A write to the tree makes a stamp again; from then the tree is kept.
    _rename_through_the_service(province)
    db.session.commit()
    assert db.session.scalar(select(DataStamp.tree)) is not None
    _read(province.plan)
    count_queries.statements.clear()
    with count_queries:
        _read(province.plan)
    assert not _tree_read(count_queries.statements)


def _tree_read(statements: list[str]) -> bool:
    """Whether the units of a tree were read: an issuer's subtree walked, or every unit."""
    return any("plan_units" in s or "every_unit_valid_from" in s for s in statements)


def test_a_kept_tree_is_not_changed_by_a_reader_that_adds_units_outside_it(province):
    """Results from outside the issuer's tree add their unit to that summary's tree only."""
    other = f.unit("Tỉnh Bên Cạnh", "province")
    f.result(province.plan.drives[0], other, 5)
    f.commit()
    lines, order = _read(province.plan)
    assert "Tỉnh Bên Cạnh" in order
    kept = summary._KEPT.get(
        (province.plan.issuer_id, province.plan.issued_on), lambda: pytest.fail("not kept")
    )
    assert other.id not in kept.found


def test_two_transactions_writing_units_wait_in_turn_and_never_deadlock(province, engine_name):
    """One transaction renames two units, another one of them in between. The stamp is
    taken before any unit's row, so the second waits for the first instead of holding the
    unit the first needs next (with the stamp taken after, PostgreSQL found a deadlock).
    SQLite has one writer at a time: nothing to test there."""
    if engine_name != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time")
    first_id, second_id = province.communes[0].id, province.communes[1].id
    db.session.commit()
    rename = text("UPDATE org_unit SET name = :name WHERE id = :id")
    errors: list[BaseException] = []
    first_wrote = threading.Event()
    engine = db.engine

    def other_transaction() -> None:
        try:
            first_wrote.wait(10)
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '10s'"))
                connection.execute(rename, {"name": "Xã Bình Hai", "id": second_id})
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    thread = threading.Thread(target=other_transaction)
    thread.start()
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        connection.execute(rename, {"name": "Xã An Một", "id": first_id})
        first_wrote.set()
        time.sleep(0.5)  # the other transaction now waits for the stamp
        connection.execute(rename, {"name": "Xã Bình Một", "id": second_id})
    thread.join(20)
    assert not errors, errors
    names = db.session.scalars(select(OrgUnit.name).where(OrgUnit.id.in_([first_id, second_id])))
    assert set(names) == {"Xã An Một", "Xã Bình Hai"}  # the other came second
    lines, _order = _read(db.session.get_one(Plan, province.plan.id))
    assert {"Xã An Một", "Xã Bình Hai"} <= lines.keys()


def test_the_process_keeps_a_few_trees_and_a_bounded_number_of_units(province):
    """The last trees made, no more than ``size`` of them and ``budget`` units in all; a
    single tree larger than the budget is still kept, alone."""
    made: list[str] = []

    def make(key: str, units: int) -> Callable[[], list[int]]:
        return lambda: made.append(key) or [0] * units

    kept: Kept[list[int]] = Kept("tree", weight=len, size=2, budget=10)
    kept.get("a", make("a", 4))
    kept.get("b", make("b", 4))
    kept.get("a", make("a", 4))  # kept
    kept.get("c", make("c", 4))  # three trees: b, the least recently read, goes
    kept.get("a", make("a", 4))
    kept.get("b", make("b", 4))  # made again, and c goes
    kept.get("d", make("d", 20))  # over the budget: the others go, d is kept alone
    kept.get("d", make("d", 20))
    kept.get("a", make("a", 4))  # 24 units: d goes
    kept.get("a", make("a", 4))
    kept.get("e", make("e", 7))  # 11 units: a goes, though two trees are allowed
    kept.get("e", make("e", 7))
    assert made == ["a", "b", "c", "b", "d", "a", "e"]


def test_two_plans_of_one_issuer_share_their_tree_where_no_unit_moved_between(province):
    """The plan of the year before, read beside this one: the same units under the same
    parents on both dates give one ordered tree, sorted and walked once. A unit moved
    between the two dates gives each plan its own, each as it stood on its date."""
    p = province
    earlier = f.plan(p.province, number="9/KH", issued_on=date(2025, 1, 10), year=2025)
    f.commit()
    later_units = summary.plan_units(p.plan, set())
    earlier_units = summary.plan_units(earlier, set())
    assert earlier_units is later_units
    _move_through_the_service(p)  # on 1 January 2026, between the two plans' dates
    f.commit()
    later_units = summary.plan_units(p.plan, set())
    earlier_units = summary.plan_units(earlier, set())
    assert earlier_units is not later_units
    moved = p.communes[0].name
    assert next(n.parent_id for n in later_units if n.name == moved) == p.south.id
    assert next(n.parent_id for n in earlier_units if n.name == moved) == p.north.id
    summary.forget_kept_trees()
    assert list(summary.plan_units(earlier, set())) == list(earlier_units)
    assert list(summary.plan_units(p.plan, set())) == list(later_units)


def test_the_plans_of_the_one_root_read_every_unit_once_each_valid_on_its_date(
    province, count_queries
):
    """The one unit without a parent issues plans of several dates: every unit is read once
    (one query), and each plan's tree leaves out what was not valid on its date. A
    district's plan walks its own subtree, and reads no other unit."""
    p = province
    earlier = f.plan(p.province, number="9/KH", issued_on=date(2025, 1, 10), year=2025)
    district = f.plan(p.north, number="3/KH", issued_on=date(2026, 2, 2), year=2026)
    closed = f.unit("Xã Đã Nhập", "commune", p.south, valid_to=date(2025, 6, 30))
    f.commit()
    summary.forget_kept_trees()
    with count_queries:
        later_units = {n.name for n in summary.plan_units(p.plan, set())}
        earlier_units = {n.name for n in summary.plan_units(earlier, set())}
    statements = count_queries.statements
    assert sum("every_unit_valid_from" in s for s in statements) == 1, statements
    assert closed.name in earlier_units and closed.name not in later_units
    assert later_units | {closed.name} == earlier_units
    count_queries.statements.clear()
    with count_queries:
        in_district = {n.name for n in summary.plan_units(district, set())}
    assert not any("every_unit_valid_from" in s for s in count_queries.statements)
    assert in_district == {p.north.name, *(c.name for c in p.communes if c.parent == p.north)}


def _in_a_thread(app, work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """``work`` in a thread of its own, with an app context of its own (a session of its
    own); what it returns or raises."""
    got: list[object] = []

    def run() -> None:
        with app.app_context():
            try:
                got.append(work())
            except BaseException as error:  # noqa: BLE001 - the test reads it
                got.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, got


def test_a_value_being_made_is_waited_for_not_made_twice_at_once(province, app):
    """Two threads of a process asking for one value under one token: the second waits for
    the first to make it and is given the very value. A maker that fails leaves the value
    to the one waiting; a thread asking again for the value it is making does not wait."""
    kept: Kept[list[str]] = Kept("figures")
    made: list[str] = []
    started = threading.Event()

    def slowly(name: str, fail: bool = False) -> Callable[[], list[str]]:
        def make() -> list[str]:
            made.append(name)
            started.set()
            time.sleep(0.3)
            if fail:
                raise RuntimeError("the database went away")
            return [name]

        return make

    first, got = _in_a_thread(app, lambda: kept.get("key", slowly("first")))
    assert started.wait(5)
    value = kept.get("key", slowly("second"))
    first.join(5)
    assert made == ["first"] and got == [value] and got[0] is value

    made.clear()
    started.clear()
    first, got = _in_a_thread(app, lambda: kept.get("other", slowly("first", fail=True)))
    assert started.wait(5)
    assert kept.get("other", slowly("second")) == ["second"]
    first.join(5)
    assert made == ["first", "second"] and isinstance(got[0], RuntimeError)

    def asks_again() -> list[str]:
        return ["outer", *kept.get("again", lambda: ["inner"])]

    began = time.perf_counter()
    assert kept.get("again", asks_again) == ["outer", "inner"]
    assert time.perf_counter() - began < 5
