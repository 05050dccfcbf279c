"""The schema comes from the migrations, on every engine, and matches the models."""

from __future__ import annotations

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
