"""The schema comes from the migrations, on every engine, and matches the models."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from campaign.extensions import db


# SQLite's reflection skips expression indexes (alembic then skips them on both sides);
# PostgreSQL's compares uq_org_unit_code_lower like any other index.
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index uq_org_unit_code_lower"
)
@pytest.mark.filterwarnings("ignore:autogenerate skipping .*'uq_org_unit_code_lower'")
def test_from_empty_to_head_and_no_pending_changes(app):
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

    upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_init_db_command_applies_migrations(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "sẵn sàng" in result.output


BEFORE_CASE_INDEX = "01258ab480b2"


def test_codes_equal_but_for_case_stop_the_upgrade_naming_them_and_change_nothing(app, runner):
    downgrade(revision=BEFORE_CASE_INDEX)
    codes = ["QX", "qx-binh", "QX-BINH", "Qx-Binh", "QX-NGOC", "th", "TH"]
    with db.engine.begin() as connection:
        for code in codes:
            connection.execute(
                text("INSERT INTO org_unit (code, name, kind) VALUES (:code, :name, 'commune')"),
                {"code": code, "name": f"Đơn vị {code}"},
            )

    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 1
    assert "QX-BINH = Qx-Binh = qx-binh; TH = th" in result.output
    with db.engine.connect() as connection:
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))
        kept = connection.scalars(text("SELECT code FROM org_unit")).all()
    assert version == BEFORE_CASE_INDEX
    assert sorted(kept) == sorted(codes)

    with db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE org_unit SET code = code || '-' || CAST(id AS VARCHAR(10)) "
                "WHERE code <> upper(code)"
            )
        )
    upgrade()
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO org_unit (code, name, kind) VALUES ('qx-ngoc', 'X', 'commune')")
        )


BEFORE_OFFICIAL_CODES = "41d5f47fa984"


def test_official_codes_and_special_zones_keep_existing_units_and_are_never_downgraded_away(app):
    downgrade(revision=BEFORE_OFFICIAL_CODES)
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO org_unit (code, name, kind, valid_to) "
                "VALUES ('QX-QBINH', 'Xã Quảng Bình', 'commune', '2025-06-30')"
            )
        )
    upgrade()
    with db.engine.begin() as connection:
        kept = connection.execute(text("SELECT code, name, kind, official_code FROM org_unit"))
        assert kept.all() == [("QX-QBINH", "Xã Quảng Bình", "commune", None)]
        connection.execute(
            text(
                "INSERT INTO org_unit (code, name, kind, official_code) "
                "VALUES ('CON-DAO', 'Đặc khu Côn Đảo', 'special_zone', '26732')"
            )
        )
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO org_unit (code, name, kind) VALUES ('qx-qbinh', 'X', 'commune')")
        )

    with pytest.raises(SystemExit):  # flask-migrate logs the message and exits with 1
        downgrade(revision=BEFORE_OFFICIAL_CODES)
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM org_unit")) == 2
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))
        assert version != BEFORE_OFFICIAL_CODES
    # SQLite runs each migration in a transaction of its own: the later revisions the
    # refused downgrade passed through stay undone. Back to the head for the next tests.
    upgrade()


BEFORE_COMPARISONS = "a290bc38d972"


def test_existing_plans_are_compared_with_their_issuers_plan_of_the_year_before(app):
    downgrade(revision=BEFORE_COMPARISONS)
    plans = [  # id, issuer, year, issued on, status
        (1, 1, 2024, "2024-01-05", "active"),
        (2, 1, 2025, "2025-01-05", "active"),
        (3, 1, 2025, "2025-03-01", "draft"),
        (4, 1, 2026, "2026-01-05", "active"),
        (5, 2, 2026, "2026-01-05", "active"),
        (6, 1, 2024, "2024-06-01", "active"),
    ]
    with db.engine.begin() as connection:
        for unit in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO org_unit (id, code, name, kind) VALUES (:id, :c, :c, 'province')"
                ),
                {"id": unit, "c": f"P{unit}"},
            )
        for plan_id, issuer, year, issued_on, status in plans:
            connection.execute(
                text(
                    "INSERT INTO plan (id, issuer_id, number, issued_on, title, year, "
                    "counting_rule, status) VALUES (:id, :issuer, :number, :day, 'Kế hoạch', "
                    ":year, 'bag', :status)"
                ),
                {
                    "id": plan_id,
                    "issuer": issuer,
                    "number": f"{plan_id}/KH",
                    "day": issued_on,
                    "year": year,
                    "status": status,
                },
            )
    upgrade()
    with db.engine.connect() as connection:
        compared = dict(connection.execute(text("SELECT id, compare_with_id FROM plan")).all())
    # 2025 with the later 2024 plan; 2026 with the active 2025 plan, not the later draft.
    assert compared == {1: None, 2: 6, 3: 6, 4: 2, 5: None, 6: None}


BEFORE_DEADLINES = "c3f18e0b7d42"


def test_existing_drives_get_the_default_deadline_and_a_stored_e_mail_stops_the_downgrade(app):
    downgrade(revision=BEFORE_DEADLINES)
    with db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO org_unit (code, name, kind) VALUES ('QX', 'Quảng Xương', 'district')")
        )
        connection.execute(
            text(
                "INSERT INTO plan (issuer_id, number, issued_on, title, year, counting_rule,"
                " status)"
                " VALUES (1, '1/KH-BCĐ', '2021-01-04', 'HMTN', 2021, 'bag', 'active')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO drive (plan_id, name, starts_on, ends_on, site)"
                " VALUES (1, 'Đợt 1', '2021-06-11', '2021-06-30', '')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO result (drive_id, unit_id, registered, deferred, bags_250,"
                " bags_350, bags_450, state, version, created_at, updated_at)"
                " VALUES (1, 1, 5, 0, 5, 0, 0, 'submitted', 1, '2021-06-30', '2021-06-30')"
            )
        )
    upgrade()
    with db.engine.begin() as connection:
        due = connection.scalar(text("SELECT report_due_on FROM drive"))
        assert str(due) == "2021-07-03"
        # Nothing rebuilt the drive table: its results are all there.
        assert connection.scalar(text("SELECT count(*) FROM result")) == 1
        connection.execute(text("UPDATE org_unit SET contact_email = 'qx@example.vn'"))

    with pytest.raises(SystemExit):
        downgrade(revision=BEFORE_DEADLINES)
    with db.engine.begin() as connection:
        assert connection.scalar(text("SELECT contact_email FROM org_unit")) == "qx@example.vn"
        connection.execute(text("UPDATE org_unit SET contact_email = NULL"))
    downgrade(revision=BEFORE_DEADLINES)  # only default deadlines, no e-mail: nothing is lost
    upgrade()


BEFORE_TREE_STAMP = "c4e1a7d2b9f0"
BEFORE_DATA_STAMP = "5e2b8d4a7c91"


def _read(query: Any) -> tuple[Any, ...]:
    with db.engine.connect() as connection:
        return tuple(connection.execute(query).one())


def test_the_stamps_change_with_every_write_to_what_they_stamp_and_go_cleanly(app):
    """Existing units keep their rows; from the upgrade, each write to org_unit or
    unit_move sets new tree and figures tokens, each write to a plan, a drive, a quota or a
    result a new figures token; the downgrades take the tables and their triggers away."""
    downgrade(revision=BEFORE_TREE_STAMP)
    with db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO org_unit (code, name, kind) VALUES ('QX', 'Quảng Xương', 'district')")
        )
    upgrade()
    stamp = text("SELECT tree, figures FROM data_stamp")
    tree_writes = (
        "UPDATE org_unit SET name = 'Huyện Quảng Xương'",
        "INSERT INTO org_unit (code, name, kind, parent_id)"
        " SELECT 'QB', 'Quảng Bình', 'commune', id FROM org_unit WHERE code = 'QX'",
        "INSERT INTO unit_move (unit_id, from_parent_id, to_parent_id, moved_on)"
        " SELECT id, parent_id, NULL, '2025-07-01' FROM org_unit WHERE code = 'QB'",
        "DELETE FROM unit_move",
    )
    figures_writes = (
        "INSERT INTO plan (issuer_id, number, issued_on, title, year, counting_rule, status)"
        " SELECT id, '1/KH', '2026-01-05', 'Kế hoạch', 2026, 'bag', 'active' FROM org_unit"
        " WHERE code = 'QX'",
        "INSERT INTO quota (plan_id, unit_id, amount) SELECT plan.id, org_unit.id, 10"
        " FROM plan, org_unit WHERE org_unit.code = 'QB'",
        "INSERT INTO drive (plan_id, name, starts_on, ends_on, site, report_due_on)"
        " SELECT id, 'Đợt 1', '2026-03-01', '2026-03-01', '', '2026-03-04' FROM plan",
        "INSERT INTO result (drive_id, unit_id, registered, deferred, bags_250, bags_350,"
        " bags_450, state, version, created_at, updated_at)"
        " SELECT drive.id, org_unit.id, 5, 0, 5, 0, 0, 'submitted', 1,"
        " '2026-03-01 08:00:00', '2026-03-01 08:00:00'"
        " FROM drive, org_unit WHERE org_unit.code = 'QB'",
        "UPDATE result SET bags_250 = 4",
        "UPDATE quota SET amount = 12",
        "UPDATE drive SET ends_on = '2026-03-02'",
        "UPDATE plan SET counting_rule = 'ml250'",
        "DELETE FROM result",
        "DELETE FROM quota",
        "DELETE FROM drive",
        "DELETE FROM plan",
    )
    others = "UPDATE alembic_version SET version_num = version_num"  # leaves them as they are
    stamps = [_read(stamp)]
    last = "DELETE FROM org_unit WHERE code = 'QB'"
    for statement in (*tree_writes, *figures_writes, last, others):
        with db.engine.begin() as connection:  # each write in a transaction of its own
            connection.execute(text(statement))
        stamps.append(_read(stamp))
    assert _read(text("SELECT count(*) FROM data_stamp")) == (1,)
    trees, figures = [tree for tree, _ in stamps], [figure for _, figure in stamps]
    assert None not in trees + figures
    tree_changes = len(tree_writes) + 1
    assert len(set(figures)) == len(stamps) - 1  # every write but the last changed it
    assert len(set(trees)) == tree_changes + 1  # only the writes to the tree changed it
    assert trees[len(tree_writes) : -2] == [trees[len(tree_writes)]] * (len(figures_writes) + 1)
    # Back to the tree's stamp alone: its triggers work again, the figures' are gone.
    downgrade(revision=BEFORE_DATA_STAMP)
    assert "data_stamp" not in inspect(db.engine).get_table_names()
    old_stamp = text("SELECT token FROM unit_tree_stamp")
    with db.engine.begin() as connection:
        before = connection.scalar(old_stamp)
        connection.execute(text("UPDATE org_unit SET name = 'Quảng Xương'"))
        assert connection.scalar(old_stamp) not in (None, before)
        connection.execute(text(figures_writes[0]))
        connection.execute(text("DELETE FROM plan"))
    downgrade(revision=BEFORE_TREE_STAMP)
    assert "unit_tree_stamp" not in inspect(db.engine).get_table_names()
    with db.engine.begin() as connection:  # no trigger left to write to a table now gone
        connection.execute(text("UPDATE org_unit SET name = 'Quảng Xương'"))
        connection.execute(text(figures_writes[0]))
        connection.execute(text("DELETE FROM plan"))
        assert connection.scalar(text("SELECT count(*) FROM org_unit")) == 1
    upgrade()


BEFORE_FIGURES_CHANGES = "9a3c6e1f2b58"
BEFORE_STAMPED_COLUMNS = "d41f7b2c8e63"
#: Updates of what neither the tree nor the figures are made from: no step.
UNSTAMPED = (
    "UPDATE org_unit SET contact_name = 'Lê Thị Liên', contact_phone = '0912 345 678',"
    " contact_email = 'lien@example.vn', official_code = '16543'",
    "UPDATE plan SET title = 'Kế hoạch mới', number = '2/KH', note = 'Ghi chú',"
    " public_slug = 'abc'",
    "UPDATE drive SET name = 'Đợt hai', site = 'Nhà văn hóa', report_due_on = '2026-03-09'",
)
#: And an update of each column they are made from: a step each.
STAMPED = (
    *(f"UPDATE org_unit SET {c} = {c}" for c in (
        "parent_id", "code", "name", "kind", "valid_from", "valid_to", "merged_into_id")),
    *(f"UPDATE plan SET {c} = {c}" for c in (
        "issuer_id", "issued_on", "year", "counting_rule", "parent_id", "compare_with_id",
        "status", "min_large_bag_percent", "min_repeat_percent", "min_participation_percent")),
    *(f"UPDATE drive SET {c} = {c}" for c in ("plan_id", "starts_on", "ends_on")),
)  # fmt: skip


MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"
#: The columns whose update stamps nothing (the migration lists those that do).
UNSTAMPED_COLUMNS = {
    "org_unit": {"official_code", "contact_name", "contact_phone", "contact_email"},
    "plan": {"number", "title", "note", "public_slug"},
    "drive": {"name", "site", "report_due_on"},
}


def test_every_column_of_a_stamped_table_is_stamped_or_said_not_to_be(app):
    """A column added to a unit, a plan or a drive must be put on one side: in the
    migration's list if the tree or the figures read it, else here."""
    path = MIGRATIONS / "2026_12_07_7c5e3a1f9d24_stamps_for_what_counts.py"
    spec = importlib.util.spec_from_file_location("stamps_for_what_counts", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for table, stamped in migration.STAMPED.items():
        columns = {c["name"] for c in inspect(db.engine).get_columns(table)}
        assert columns == set(stamped) | UNSTAMPED_COLUMNS[table], table
        assert not set(stamped) & UNSTAMPED_COLUMNS[table], table


def test_only_what_the_figures_are_made_from_stamps_an_update(app):
    """A unit's contact, a plan's title, number or address, a drive's name, site or
    deadline: no step, nothing logged; every column the tree or the figures read: a step.
    The downgrade stamps every update again."""
    with db.engine.begin() as connection:
        for statement in (
            "INSERT INTO org_unit (code, name, kind) VALUES ('QX', 'Quảng Xương', 'district')",
            "INSERT INTO plan (issuer_id, number, issued_on, title, year, counting_rule,"
            " status) SELECT id, '1/KH', '2026-01-05', 'Kế hoạch', 2026, 'bag', 'active'"
            " FROM org_unit",
            "INSERT INTO drive (plan_id, name, starts_on, ends_on, site, report_due_on)"
            " SELECT id, 'Đợt 1', '2026-03-01', '2026-03-01', '', '2026-03-04' FROM plan",
        ):
            connection.execute(text(statement))
    step = text("SELECT tree, figures, figures_seq, (SELECT count(*) FROM figures_change)"
                " FROM data_stamp")  # fmt: skip

    def steps(statements: tuple[str, ...]) -> list[bool]:
        taken = []
        for statement in statements:
            before = _read(step)
            with db.engine.begin() as connection:
                connection.execute(text(statement))
            taken.append(_read(step) != before)
        return taken

    assert steps(UNSTAMPED) == [False] * len(UNSTAMPED)
    assert steps(STAMPED) == [True] * len(STAMPED)
    downgrade(revision=BEFORE_STAMPED_COLUMNS)
    assert steps(UNSTAMPED) == [True] * len(UNSTAMPED)
    upgrade()
    assert steps(UNSTAMPED) == [False] * len(UNSTAMPED)


def test_each_step_of_the_figures_is_counted_and_logs_the_results_it_wrote(app, engine_name):
    """From the upgrade, each step (a transaction on PostgreSQL, a row on SQLite) counts
    one; a step that wrote results logs each row before and after it, with the tokens
    before and after the step; a step that wrote anything else cannot be followed. The
    downgrade takes the log away, and the figures' triggers work as they did."""
    downgrade(revision=BEFORE_FIGURES_CHANGES)
    with db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO org_unit (code, name, kind) VALUES ('QX', 'Quảng Xương', 'district')")
        )
        connection.execute(
            text("INSERT INTO plan (issuer_id, number, issued_on, title, year, counting_rule,"
                 " status) SELECT id, '1/KH', '2026-01-05', 'Kế hoạch', 2026, 'bag', 'active'"
                 " FROM org_unit")
        )  # fmt: skip
        connection.execute(
            text("INSERT INTO drive (plan_id, name, starts_on, ends_on, site, report_due_on)"
                 " SELECT id, 'Đợt 1', '2026-03-01', '2026-03-01', '', '2026-03-04' FROM plan")
        )  # fmt: skip
    upgrade()
    stamp = text("SELECT figures, figures_seq FROM data_stamp")
    log = text(
        "SELECT seq, prev, token, sign, unit_id, state, bags_250 FROM figures_change ORDER BY id"
    )
    start_token, start = _read(stamp)
    insert = (
        "INSERT INTO result (drive_id, unit_id, registered, deferred, bags_250, bags_350,"
        " bags_450, state, version, created_at, updated_at) SELECT drive.id, org_unit.id, 5,"
        " 0, 5, 0, 0, 'submitted', 1, '2026-03-01 08:00:00', '2026-03-01 08:00:00'"
        " FROM drive, org_unit"
    )
    with db.engine.begin() as connection:
        connection.execute(text(insert))
    first_token, first = _read(stamp)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE result SET bags_250 = 4, state = 'approved'"))
    second_token, second = _read(stamp)
    assert (first, second) == (start + 1, start + 2)
    with db.engine.connect() as connection:
        rows = connection.execute(log).all()
    unit = rows[0].unit_id
    assert [tuple(row) for row in rows] == [
        (first, start_token, first_token, 1, unit, "submitted", 5),
        (second, first_token, second_token, -1, unit, "submitted", 5),
        (second, first_token, second_token, 1, unit, "approved", 4),
    ]
    # A step that writes a drive logs its plan; one that writes a plan logs it, and its
    # parent (none here: the plan again), before and after (migration plan_writes_logged).
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE drive SET ends_on = '2026-03-02'"))
        connection.execute(text("DELETE FROM result"))
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE plan SET counting_rule = 'ml250'"))
    plan_log = text("SELECT seq, unit_id, state, plan_id, sign FROM figures_change ORDER BY id")
    with db.engine.connect() as connection:
        later = [tuple(row) for row in connection.execute(plan_log).all()[3:]]
        plan = connection.scalar(text("SELECT id FROM plan"))
    _token, last = _read(stamp)
    plan_rows = [(None, "plan", plan, None), (None, "plan_parent", plan, None)]
    if engine_name == "postgresql":  # one step per transaction, each row once
        assert last == second + 2
        assert later == [
            (second + 1, None, "drive", plan, None),
            (second + 1, unit, "approved", None, -1),
            *((second + 2, *row) for row in plan_rows),
        ]
    else:  # the drive's step (its plan before and after), the deletion's, the plan's
        assert last == second + 3
        drive_step = (second + 1, None, "drive", plan, None)
        assert later == [
            drive_step,
            drive_step,
            (second + 2, unit, "approved", None, -1),
            *((second + 3, *row) for row in plan_rows * 2),
        ]
    downgrade(revision=BEFORE_FIGURES_CHANGES)
    assert "figures_change" not in inspect(db.engine).get_table_names()
    with db.engine.begin() as connection:
        before = connection.scalar(text("SELECT figures FROM data_stamp"))
        connection.execute(text(insert))
        assert connection.scalar(text("SELECT figures FROM data_stamp")) != before
        connection.execute(text("DELETE FROM result"))
    upgrade()


BEFORE_PLANS_LOGGED = "7c5e3a1f9d24"


def test_a_plan_written_logs_itself_and_its_parents_before_and_after(app, engine_name):
    """Put under a plan, moved under another, changed in what the figures read and
    deleted, a plan logs its id ('plan') and its parent's ('plan_parent', before and
    after), each step following the last; a title changed logs nothing. The downgrade
    makes a plan's step one no reader follows again."""
    with db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO org_unit (code, name, kind) VALUES ('TH', 'Thanh Hóa', 'province')")
        )
        for number in ("1/KH", "2/KH", "3/KH"):
            connection.execute(
                text("INSERT INTO plan (issuer_id, number, issued_on, title, year,"
                     " counting_rule, status) SELECT id, :number, '2026-01-05', 'Kế hoạch',"
                     " 2026, 'bag', 'active' FROM org_unit"),
                {"number": number},
            )  # fmt: skip
    with db.engine.connect() as connection:
        first, second, third = connection.scalars(text("SELECT id FROM plan ORDER BY id"))
    log = text(
        "SELECT seq, prev, token, unit_id, state, plan_id FROM figures_change"
        " WHERE seq > :seq ORDER BY id"
    )

    def logged(*statements: str) -> list[tuple[str, int]]:
        """What the statements (one transaction) logged, checked to be one step on
        PostgreSQL, a step per row on SQLite, each following the last."""
        _token, seq = _read(text("SELECT figures, figures_seq FROM data_stamp"))
        with db.engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
        token, now = _read(text("SELECT figures, figures_seq FROM data_stamp"))
        with db.engine.connect() as connection:
            rows = connection.execute(log, {"seq": seq}).all()
        steps = sorted({row.seq for row in rows})
        assert steps == list(range(seq + 1, now + 1))
        assert engine_name != "postgresql" or len(steps) <= 1
        assert all(row.unit_id is None and row.token for row in rows)
        assert not rows or rows[-1].token == token
        return [(row.state, row.plan_id) for row in rows]

    def once(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
        return sorted(set(rows))

    assert once(logged(f"UPDATE plan SET parent_id = {first} WHERE id = {third}")) == [
        ("plan", third),
        ("plan_parent", first),
        ("plan_parent", third),
    ]
    assert once(logged(f"UPDATE plan SET parent_id = {second} WHERE id = {third}")) == [
        ("plan", third),
        ("plan_parent", first),
        ("plan_parent", second),
    ]
    assert logged(f"UPDATE plan SET title = 'Kế hoạch khác' WHERE id = {third}") == []
    assert once(logged(f"UPDATE plan SET status = 'closed' WHERE id = {third}")) == [
        ("plan", third),
        ("plan_parent", second),
    ]
    assert once(logged(f"DELETE FROM plan WHERE id = {third}")) == [
        ("plan", third),
        ("plan_parent", second),
    ]
    downgrade(revision=BEFORE_PLANS_LOGGED)
    with db.engine.begin() as connection:
        connection.execute(text(f"UPDATE plan SET status = 'closed' WHERE id = {second}"))
    seq = _read(text("SELECT figures_seq FROM data_stamp"))[0]
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT unit_id, plan_id FROM figures_change"
                                       " WHERE seq = :seq"), {"seq": seq}).all()  # fmt: skip
    # No reader follows the step: a row of neither on PostgreSQL, none on SQLite.
    assert [tuple(row) for row in rows] == ([(None, None)] if engine_name == "postgresql" else [])
    upgrade()
    assert once(logged(f"UPDATE plan SET status = 'active' WHERE id = {second}")) == [
        ("plan", second),
        ("plan_parent", second),
    ]


BEFORE_UNITS_LOGGED = "8f2ebbfb45a9"
BEFORE_RENAMES_LOGGED = "3b9d6f2a8c15"
#: A province with a plan, a drive and its result: what the tests of units logged write to.
PROVINCE_WITH_A_RESULT = (
    "INSERT INTO org_unit (code, name, kind) VALUES ('TH', 'Thanh Hóa', 'province')",
    "INSERT INTO plan (issuer_id, number, issued_on, title, year, counting_rule,"
    " status) SELECT id, '1/KH', '2026-01-05', 'Kế hoạch', 2026, 'bag', 'active'"
    " FROM org_unit",
    "INSERT INTO drive (plan_id, name, starts_on, ends_on, site, report_due_on)"
    " SELECT id, 'Đợt 1', '2026-03-01', '2026-03-01', '', '2026-03-04' FROM plan",
    "INSERT INTO result (drive_id, unit_id, registered, deferred, bags_250, bags_350,"
    " bags_450, state, version, created_at, updated_at) SELECT drive.id, org_unit.id,"
    " 5, 0, 5, 0, 0, 'submitted', 1, '2026-03-01 08:00:00', '2026-03-01 08:00:00'"
    " FROM drive, org_unit",
)


def _province_with_a_result() -> int:
    with db.engine.begin() as connection:
        for statement in PROVINCE_WITH_A_RESULT:
            connection.execute(text(statement))
    return _unit_id("TH")


def _added(parent: int, *codes: str) -> str:
    values = ", ".join(f"('{code}', 'Xã {code}', 'commune', {parent})" for code in codes)
    return f"INSERT INTO org_unit (code, name, kind, parent_id) VALUES {values}"


def _unit_id(code: str) -> int:
    return _read(text(f"SELECT id FROM org_unit WHERE code = '{code}'"))[0]


def _followed(*statements: str) -> tuple[list[tuple[str, int | None]] | None, int, bool]:
    """What a reader brings along after the statements (one transaction): the states and
    units logged, or None where it cannot follow; the steps; whether the tree's token
    changed."""
    from campaign.services.kept import Now, changes_since

    stamp = text("SELECT tree, figures, figures_seq FROM data_stamp")
    tree, token, seq = _read(stamp)
    with db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    tree_after, token_after, now = _read(stamp)
    db.session.rollback()  # a transaction that sees the steps committed
    changes = changes_since(token, seq, Now(token_after, now))
    logged = None if changes is None else [(c.state, c.unit_id) for c in changes]
    return logged, now - seq, tree_after != tree


def test_a_unit_added_logs_itself_and_a_unit_moved_still_stops_the_readers(app, engine_name):
    """Added, a unit logs its id ('unit') under a step that changes the tree's token too,
    and the readers follow it; two added at once log both (in one step on PostgreSQL),
    and so do a result and a unit written in one transaction. A unit added and then
    moved, or moved and then added, in one transaction: no reader follows. The downgrade
    makes a unit added a step no reader follows again."""
    from campaign.services.kept import UNIT_ADDED

    province = _province_with_a_result()
    assert _followed(_added(province, "QB")) == ([(UNIT_ADDED, _unit_id("QB"))], 1, True)
    logged, steps, tree_changed = _followed(_added(province, "QL", "QN"))
    assert logged == [(UNIT_ADDED, _unit_id("QL")), (UNIT_ADDED, _unit_id("QN"))]
    assert tree_changed and steps == (1 if engine_name == "postgresql" else 2)
    # A result and a unit in one transaction, either way round: both logged.
    for statements in (
        ("UPDATE result SET bags_250 = 4", _added(province, "QT")),
        (_added(province, "QH"), "UPDATE result SET bags_250 = 6"),
    ):
        logged, steps, tree_changed = _followed(*statements)
        assert logged is not None and tree_changed
        assert [state for state, _ in logged].count(UNIT_ADDED) == 1
        assert {"submitted"} == {state for state, _ in logged if state != UNIT_ADDED}
    # A unit added and moved, or moved and added: no reader follows.
    moved = f"UPDATE org_unit SET parent_id = {_unit_id('QB')} WHERE code = 'QX'"
    assert _followed(_added(province, "QX"), moved)[0] is None
    assert _followed(moved.replace("QB", "QL"), _added(province, "QY"))[0] is None
    assert _followed(_added(province, "QZ"))[0] == [(UNIT_ADDED, _unit_id("QZ"))]
    downgrade(revision=BEFORE_UNITS_LOGGED)
    logged, _steps, tree_changed = _followed(_added(province, "QA"))
    assert logged is None and tree_changed
    upgrade()
    assert _followed(_added(province, "QC"))[0] == [(UNIT_ADDED, _unit_id("QC"))]


def test_a_unit_renamed_logs_itself_and_a_unit_moved_or_dated_still_stops_the_readers(
    app, engine_name
):
    """A new code, name or kind logs the unit ('unit_renamed') under a step that changes
    the tree's token, each row once; a unit added and renamed in one transaction logs
    both. A new parent, dates or merger, in the same statement or transaction: no reader
    follows. The downgrade makes a rename a step no reader follows again."""
    from campaign.services.kept import UNIT_ADDED, UNIT_RENAMED

    province = _province_with_a_result()
    with db.engine.begin() as connection:
        connection.execute(text(_added(province, "QB", "QL")))
    qb, ql = _unit_id("QB"), _unit_id("QL")
    renamed = f"UPDATE org_unit SET name = 'Xã Quảng Bình Mới' WHERE id = {qb}"
    assert _followed(renamed) == ([(UNIT_RENAMED, qb)], 1, True)
    logged, steps, tree_changed = _followed(
        "UPDATE org_unit SET kind = 'ward', code = code || '-P' WHERE code IN ('QB', 'QL')"
    )
    assert sorted(logged or []) == [(UNIT_RENAMED, qb), (UNIT_RENAMED, ql)] and tree_changed
    assert steps == (1 if engine_name == "postgresql" else 2)
    logged = _followed(
        _added(province, "QN"), "UPDATE org_unit SET name = 'Xã N' WHERE code = 'QN'"
    )[0]
    assert logged == [(UNIT_ADDED, _unit_id("QN")), (UNIT_RENAMED, _unit_id("QN"))]
    for statements in (
        (f"UPDATE org_unit SET name = 'Xã Lưu', parent_id = {qb} WHERE id = {ql}",),
        ("UPDATE org_unit SET valid_to = '2025-06-30' WHERE code = 'QN'",),
        (renamed, f"UPDATE org_unit SET merged_into_id = {qb} WHERE code = 'QN'"),
        (f"UPDATE org_unit SET parent_id = {province} WHERE id = {ql}", renamed),
    ):
        assert _followed(*statements)[0] is None, statements
    downgrade(revision=BEFORE_RENAMES_LOGGED)
    logged, _steps, tree_changed = _followed(renamed)
    assert logged is None and tree_changed
    upgrade()
    assert _followed(renamed)[0] == [(UNIT_RENAMED, qb)]
