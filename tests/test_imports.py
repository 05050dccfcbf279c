"""Imports preview every change and apply all or nothing; the export agrees with rates."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import openpyxl
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, update

from campaign.extensions import db
from campaign.models import AuditEntry, OrgUnit, Plan, Quota, Result, UnitMove
from campaign.services import demo, imports, plans
from campaign.services.errors import Conflict, Forbidden
from campaign.services.exports import summary_export
from campaign.services.summary import plan_summary
from campaign.spreadsheets.cells import INTEGER, UNITS
from campaign.spreadsheets.summary import SUMMARY_HEADERS, TITLE_ROWS
from campaign.spreadsheets.templates import quota_template
from tests import factories as f

NAMES = ["Quảng Bình", "Quảng Chính", "Quảng Định"]


def xlsx(*rows: list) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def setup(app):
    district, communes = f.district_with_communes(NAMES)
    plan = f.plan(district)
    drive = f.drive(plan)
    return district, communes, plan, drive


def quotas_of(plan: Plan) -> dict[str, int]:
    rows = db.session.execute(
        select(OrgUnit.name, Quota.amount).join(Quota.unit).where(Quota.plan_id == plan.id)
    )
    return dict(rows.tuples().all())


def test_quota_preview_shows_new_changed_unchanged_and_every_problem(setup):
    _district, communes, plan, _drive = setup
    imports.apply(
        imports.preview_quotas(
            xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 40], ["Quảng Chính", 20]), plan
        )
    )
    data = xlsx(
        ["Kế hoạch giao chỉ tiêu"],
        ["Mã đơn vị", "Tên đơn vị", "Chỉ tiêu"],
        [communes[0].code, "Quảng Bình", 40],
        [None, "quang chinh", "25"],
        [None, "Quang Dinh", 15],
        [None, "Quảng Bìnhh", 10],
        [None, "Quảng Định", "mười"],
    )
    preview = imports.preview_quotas(data, plan)
    kinds = {c.unit: c.kind.value for c in preview.changes}
    assert kinds == {"Quảng Bình": "unchanged", "Quảng Chính": "changed", "Quảng Định": "new"}
    assert [p.row for p in preview.problems] == [6, 7, 7]  # "mười", and Định twice
    assert "Có phải: Quảng Bình" in preview.problems[0].message
    with pytest.raises(imports.ServiceError):
        imports.apply(preview)
    assert quotas_of(plan) == {"Quảng Bình": 40, "Quảng Chính": 20}


def test_results_by_bag_size_and_a_single_donations_column(setup):
    _district, communes, plan, drive = setup
    preview = imports.preview_results(
        xlsx(
            ["Đơn vị", "Đăng ký", "Hoãn", "250 ml", "350 ml", "450 ml"],
            ["Quảng Bình", 50, 5, 10, 30, 5],
            ["Tổng", 50, 5, 10, 30, 5],
        ),
        drive,
    )
    assert preview.ok and imports.apply(preview) == 1
    result = db.session.scalar(select(Result).where(Result.unit_id == communes[0].id))
    assert (result.registered, result.bags_350, result.state) == (50, 30, "submitted")
    single = xlsx(["Đơn vị", "Hiến thành công"], ["Quảng Chính", "22"])
    preview = imports.preview_results(single, drive)
    assert preview.ok and imports.apply(preview) == 1
    plan.counting_rule = "ml250"
    refused = imports.preview_results(single, drive)
    assert "quy đổi 250 ml" in refused.problems[0].message


def test_a_reimport_updates_results_in_bulk_with_versions_and_an_audit_row_each(setup):
    _district, communes, _plan, drive = setup
    returned = f.result(drive, communes[0], 10, state="returned")
    f.result(drive, communes[1], 5)
    data = xlsx(
        ["Đơn vị", "Đăng ký", "Hoãn", "250 ml", "350 ml", "450 ml"],
        ["Quảng Bình", 20, 2, 18, 0, 0],
        ["Quảng Chính", 5, 0, 5, 0, 0],
        ["Quảng Định", 7, 1, 0, 6, 0],
    )
    preview = imports.preview_results(data, drive)
    assert [c.kind.value for c in preview.changes] == ["changed", "unchanged", "new"]
    assert imports.apply(preview) == 2
    db.session.refresh(returned)
    assert (returned.bags_250, returned.state, returned.version) == (18, "submitted", 3)
    assert returned.return_reason is None
    changed = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).all()[:2]
    summary, entry = changed
    assert (entry.action, entry.entity_id) == ("result.submit", returned.id)
    assert (entry.before["bags_250"], entry.after["bags_250"]) == (10, 18)
    assert (summary.action, summary.entity, summary.entity_id) == (
        "result.import",
        "drive",
        drive.id,
    )
    assert (summary.after["new"], summary.after["changed"]) == (1, 1)
    assert summary.after["units"][str(communes[2].id)] == [7, 1, 0, 6, 0, None]


def test_a_save_between_the_version_check_and_the_update_refuses_the_whole_file(setup, monkeypatch):
    """The race the version check cannot see: another reporter commits after the import
    read the stored versions and before its UPDATE. The guarded UPDATE matches fewer rows
    than it was given, so the whole file is refused and the other save stands."""
    from campaign.services import results

    _district, communes, _plan, drive = setup
    stored = f.result(drive, communes[0], 10)
    f.commit()
    data = xlsx(["Đơn vị", "Đăng ký", "250 ml"], ["Quảng Bình", 20, 18], ["Quảng Chính", 9, 9])
    preview = imports.preview_results(data, drive)
    read_before = results.stored_by_unit(drive)
    seen = read_before[communes[0].id].version
    db.session.execute(
        update(Result)
        .where(Result.id == stored.id)
        .values(registered=40, bags_250=33, version=Result.version + 1)
    )
    db.session.commit()  # the other reporter's save
    monkeypatch.setattr(results, "stored_by_unit", lambda _drive, _units=None: read_before)
    with pytest.raises(Conflict):
        imports.apply(preview)
    db.session.rollback()
    rows = db.session.execute(select(Result.unit_id, Result.bags_250, Result.version)).all()
    assert rows == [(communes[0].id, 33, seen + 1)]


def test_a_result_saved_between_preview_and_apply_refuses_the_whole_file(setup):
    _district, communes, _plan, drive = setup
    data = xlsx(["Đơn vị", "Đăng ký", "250 ml"], ["Quảng Bình", 20, 18], ["Quảng Chính", 9, 9])
    preview = imports.preview_results(data, drive)
    f.result(drive, communes[1], 3)  # someone reports Quảng Chính meanwhile
    with pytest.raises(imports.ServiceError):
        imports.apply(preview)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Result)) == 0


def test_a_quota_reimport_writes_only_the_changes_and_audits_each(setup):
    _district, communes, plan, _drive = setup
    data = xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 40], ["Quảng Chính", 20])
    assert imports.apply(imports.preview_quotas(data, plan)) == 2
    quota = db.session.scalar(select(Quota).where(Quota.unit_id == communes[0].id))
    assert quota.amount == 40  # the session sees what was written in bulk
    data = xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 45], ["Quảng Chính", 20])
    assert imports.apply(imports.preview_quotas(data, plan)) == 1
    assert quota.amount == 45
    summary, entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).all()[:2]
    assert (entry.action, entry.entity, entry.entity_id) == ("quota.set", "quota", quota.id)
    assert (entry.before["amount"], entry.after["amount"]) == (40, 45)
    assert (summary.action, summary.entity, summary.entity_id) == ("quota.import", "plan", plan.id)
    assert summary.after == {"new": 0, "changed": 1, "units": {str(communes[0].id): 45}}


def test_units_import_creates_a_tree_under_the_root(setup):
    district, communes, _plan, _drive = setup
    data = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Đơn vị cấp trên"],
        ["QX-THCS", "Trường THCS Quảng Bình", "Trường học", "Quảng Bình"],
        ["QX-THCS-CD", "CĐCS Trường THCS Quảng Bình", "CĐCS", "QX-THCS"],
        [communes[1].code, "Quảng Chính", "Xã", None],
        ["QX-X", "Đơn vị lạ", "Hành tinh", None],
    )
    preview = imports.preview_units(data, district)
    assert [p.row for p in preview.problems] == [5]
    assert imports.preview_units(data, district).count(imports.ChangeKind.NEW) == 2
    fixed = imports.preview_units(xlsx(*[r for r in _rows(data)][:4]), district)
    assert fixed.ok and imports.apply(fixed) == 2
    union = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "QX-THCS-CD"))
    assert (union.kind, union.parent.parent.name) == ("union", "Quảng Bình")


def test_a_units_import_sets_contact_e_mails_and_refuses_one_that_is_not(setup):
    district, communes, _plan, _drive = setup
    communes[1].contact_email = "chinh@example.vn"
    header = ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "E-mail"]
    bad = imports.preview_units(
        xlsx(header, [communes[0].code, communes[0].name, "Xã", "binh@@example"]), district
    )
    assert [p.row for p in bad.problems] == [2]
    assert "Địa chỉ e-mail không hợp lệ" in bad.problems[0].message
    good = imports.preview_units(
        xlsx(header, [communes[0].code, communes[0].name, "Xã", "binh@example.vn"]), district
    )
    assert good.ok and imports.apply(good) == 1
    assert communes[0].contact_email == "binh@example.vn"
    # A file without the column keeps the e-mail a unit has.
    kept = imports.preview_units(
        xlsx(header[:3], [communes[1].code, "Xã Quảng Chính", "Xã"]), district
    )
    assert kept.ok and imports.apply(kept) == 1
    assert (communes[1].name, communes[1].contact_email) == ("Xã Quảng Chính", "chinh@example.vn")


def test_a_units_import_that_moves_a_unit_keeps_the_move_dated_today(setup):
    district, communes, _plan, _drive = setup
    union = f.unit("CĐCS Trạm Y tế", "union", communes[0])
    data = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Đơn vị cấp trên"],
        [union.code, union.name, "CĐCS", communes[1].code],
    )
    preview = imports.preview_units(data, district)
    assert preview.ok and imports.apply(preview) == 1
    move = db.session.scalar(select(UnitMove))
    assert (move.from_parent_id, move.to_parent_id) == (communes[0].id, communes[1].id)
    assert move.moved_on == date.today() and union.parent_id == communes[1].id


def test_a_units_import_edits_and_moves_as_the_units_page_does(setup):
    district, communes, _plan, _drive = setup
    union = f.unit("CĐCS Trạm Y tế", "union", communes[0])
    data = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Đơn vị cấp trên"],
        [union.code, "CĐCS Trạm Y tế xã", "CĐCS", communes[0].code],
        [communes[1].code, communes[1].name, "Xã", union.code],
    )
    assert imports.apply(imports.preview_units(data, district)) == 2
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()[-2:]
    assert [(e.action, e.entity_id) for e in entries] == [
        ("unit.edit", union.id),
        ("unit.move", communes[1].id),
    ]
    assert entries[0].after["name"] == "CĐCS Trạm Y tế xã"


def _rows(data: bytes) -> list[list]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_a_file_that_is_not_a_workbook_is_a_problem_not_a_crash(setup):
    preview = imports.preview_quotas(b"STT,Don vi\n", setup[2])
    assert preview.problems[0].row is None
    assert "không phải bảng tính" in preview.problems[0].message


def summary_rows(data: bytes) -> dict[str, tuple]:
    ws = openpyxl.load_workbook(io.BytesIO(data))["Tổng hợp"]
    rows = list(ws.iter_rows(min_row=TITLE_ROWS + 1, values_only=True))
    assert rows[0] == SUMMARY_HEADERS
    return {r[1].strip(): r for r in rows[1:] if isinstance(r[0], int)} | {
        r[1]: r for r in rows if r[1] == "TỔNG CỘNG"
    }


def assert_export_matches_rates(plan: Plan, data: bytes) -> None:
    summary = plan_summary(plan)
    rows = summary_rows(data)
    for line in summary.lines:
        row = rows[line.unit.name]
        percent = line.rate_percent
        assert row[3:9] == (
            line.quota,
            line.tally.registered,
            line.tally.donors,
            line.tally.deferred,
            pytest.approx(float(line.collected)),
            None if percent is None else pytest.approx(float(percent) / 100),
        ), line.unit.name
    t = summary.totals
    assert rows["TỔNG CỘNG"][3:9] == (
        t.quota,
        t.tally.registered,
        t.tally.donors,
        t.tally.deferred,
        pytest.approx(float(t.collected)),
        pytest.approx(float(t.rate_percent) / 100),
    )


def test_export_of_the_demo_equals_rates(app, count_queries):
    demo.load(reform=False)
    plan = db.session.scalar(select(Plan).where(Plan.number == "15/KH-BCĐ"))
    with count_queries as counter:
        data = summary_export(plan, day=date(2021, 6, 13))
    # The summary's nine at most (its months read apart; the count of units that chooses
    # how to read it; the unit tree's stamp; the figures' stamp before and after), the
    # figures' stamp for its comparison, before and after its earlier side, the drive
    # detail and the issuer's name: whatever the plan's size.
    assert counter.count <= 14, counter.statements
    assert_export_matches_rates(plan, data)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    head = [c for row in wb["Tổng hợp"].iter_rows(max_row=7, values_only=True) for c in row if c]
    assert "Quảng Xương, ngày 13 tháng 6 năm 2021" in head
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in head
    header = TITLE_ROWS + 1
    assert wb["Tổng hợp"].print_title_rows == f"${header}:${header}"
    assert wb["Tổng hợp"].page_setup.orientation == "landscape"
    assert wb["Tổng hợp"].freeze_panes == f"C{header + 1}"
    assert wb.sheetnames == ["Tổng hợp", "Theo đợt", "Theo tháng", "Biểu đồ"]


def test_the_exports_chart_shows_the_units_alone_on_one_page(app):
    demo.load(reform=False)
    plan = db.session.scalar(select(Plan).where(Plan.number == "15/KH-BCĐ"))
    data = summary_export(plan, day=date(2021, 6, 13))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    sheet = wb["Biểu đồ"]
    assert (sheet.page_setup.orientation, sheet.page_setup.paperSize) == ("landscape", 9)
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 1)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    names, values = chart_series(data, wb)
    # Exactly the quota holders, in the summary's order: no heading, subtotal or total.
    holders = [
        row[1]
        for row in wb["Tổng hợp"].iter_rows(values_only=True)
        if isinstance(row[0], int) and row[3]
    ]
    assert names == holders
    assert len(names) == plan_summary(plan).totals.holders
    by_name = {row[1]: row[8] for row in wb["Tổng hợp"].iter_rows(values_only=True)}
    assert values == [by_name[name] for name in names]


def chart_series(data: bytes, wb: openpyxl.Workbook) -> tuple[list, list]:
    """The cells the export's chart takes its categories and its values from."""
    chart = zipfile.ZipFile(io.BytesIO(data)).read("xl/charts/chart1.xml").decode()

    def cells(tag: str) -> list:
        ref = re.search(rf"<(?:c:)?{tag}>.*?<(?:c:)?f>(.*?)</(?:c:)?f>", chart, re.S)
        assert ref, tag
        sheet, area = ref[1].rsplit("!", 1)
        rows = wb[sheet.strip("'")][area.replace("$", "")]
        return [c.value for row in rows for c in row]

    return cells("cat"), cells("val")


def test_round_trip_template_filled_imported_exported(setup):
    _district, communes, plan, drive = setup
    template = quota_template("Chỉ tiêu", [(u.code, u.name, None) for u in communes])
    wb = openpyxl.load_workbook(io.BytesIO(template))
    for row, amount in zip(wb.active.iter_rows(min_row=4), (40, 20, 2000), strict=True):
        row[3].value = str(amount)
    filled = io.BytesIO()
    wb.save(filled)
    assert imports.apply(imports.preview_quotas(filled.getvalue(), plan)) == 3  # rows written
    assert quotas_of(plan) == {"Quảng Bình": 40, "Quảng Chính": 20, "Quảng Định": 2000}
    results = xlsx(
        ["Mã đơn vị", "Đăng ký", "Không đủ điều kiện", "Túi 250 ml", "Túi 350 ml", "Túi 450 ml"],
        [communes[0].code, 50, 5, 10, 30, 5],
        [communes[2].code, 2100, 100, 1999, 0, 0],
    )
    assert imports.apply(imports.preview_results(results, drive)) == 2
    data = summary_export(plan)
    assert_export_matches_rates(plan, data)
    assert summary_rows(data)["Quảng Định"][8] == pytest.approx(0.999)


def test_the_quota_template_lists_what_the_quota_grid_lists(setup, client, auth):
    """Every unit below the issuer, as a tree: a base union under a commune included."""
    district, communes, plan, _drive = setup
    union = f.unit("CĐCS Trường THCS Quảng Bình", "union", communes[0])
    from campaign.services import plans, units

    units.deactivate_unit(communes[2], date(2021, 1, 1))  # closed before the plan's date
    plans.set_quotas(plan, {communes[1]: 20})
    auth.sign_in(f.user("organiser", [district]))
    f.commit()
    response = client.get(f"/ke-hoach/{plan.id}/mau-chi-tieu.xlsx")
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [(r[1].value, r[2].value, r[3].value, r[2].alignment.indent) for r in ws.iter_rows(4)]
    assert rows == [
        (communes[0].code, "Quảng Bình", None, 0),
        (union.code, "CĐCS Trường THCS Quảng Bình", None, 1),
        (communes[1].code, "Quảng Chính", 20, 0),
    ]
    grid = [row.unit.code for row in plans.grid_units(plan)]
    assert grid == [code for code, *_ in rows]


RISKY = ['=HYPERLINK("http://x","y")', "+1+2", "-3", "@SUM(A1)", "\tTab", "\rCR"]


def test_text_that_looks_like_a_formula_is_written_as_text(setup):
    district, _communes, plan, drive = setup
    risky = [f.unit(name, "commune", district) for name in RISKY]
    from campaign.services import plans

    plans.set_quotas(plan, {u: 5 for u in risky})
    data = summary_export(plan)
    for name in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml"):
        assert "<f>" not in zipfile.ZipFile(io.BytesIO(data)).read(name).decode()
    ws = openpyxl.load_workbook(io.BytesIO(data))["Tổng hợp"]
    cells = {c.value.strip(): c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for name in RISKY:
        cell = cells[name.strip()]
        assert cell.data_type == "s"
        if name.startswith(("=", "+", "-", "@")):
            assert cell.quotePrefix


def test_control_characters_pasted_into_names_do_not_break_the_export(setup):
    """XML has no room for most control characters; openpyxl refuses them outright."""
    district, _communes, plan, _drive = setup
    from campaign.services import plans

    pasted = f.unit("Xã\x0bQuảng\x07 Hải", "commune", district)
    plan.title = "hiến máu\x0c tình nguyện"
    plans.set_quotas(plan, {pasted: 5})
    data = summary_export(plan)
    assert "Xã Quảng Hải" in summary_rows(data)
    head = openpyxl.load_workbook(io.BytesIO(data))["Tổng hợp"]["A6"].value
    assert head.endswith("về hiến máu tình nguyện")
    template = quota_template(plan.title, [(pasted.code, pasted.name, 5)])
    assert openpyxl.load_workbook(io.BytesIO(template)).active["C4"].value == "Xã Quảng Hải"


def test_cli_import_dry_run_then_apply_and_errors_exit_non_zero(setup, runner, tmp_path):
    _district, _communes, plan, drive = setup
    f.commit()
    good = tmp_path / "quotas.xlsx"
    good.write_bytes(xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 40]))
    result = runner.invoke(args=["import-quotas", plan.number, str(good), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "new: 1" in result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Quota)) == 0
    result = runner.invoke(args=["import-quotas", str(plan.id), str(good)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "results.xlsx"
    bad.write_bytes(xlsx(["Đơn vị", "Hiến thành công"], ["Quảng Bìnhh", 4], ["Quảng Chính", -1]))
    result = runner.invoke(args=["import-results", str(drive.id), str(bad)])
    assert result.exit_code != 0
    assert "dòng 2: " in result.output and "dòng 3: " in result.output
    out = tmp_path / "bao-cao.xlsx"
    result = runner.invoke(args=["export-summary", plan.number, "--year", "2021", "-o", str(out)])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert_export_matches_rates(plan, out.read_bytes())


def test_cli_unknown_plan_fails(app, runner, tmp_path):
    result = runner.invoke(args=["export-summary", "999/KH-X", "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code != 0
    assert re.search("Không có kế hoạch", result.output)


def test_downloads_for_who_may_see_or_manage_the_plan(setup, client, auth):
    district, communes, plan, _drive = setup
    leader = f.user("leader", [district])
    outsider = f.user("organiser", [f.unit("Huyện khác", "district")])
    f.commit()
    auth.login(leader)
    response = client.get(f"/ke-hoach/{plan.id}/bao-cao.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert openpyxl.load_workbook(io.BytesIO(response.data)).sheetnames[0] == "Tổng hợp"
    assert client.get(f"/ke-hoach/{plan.id}/mau-chi-tieu.xlsx").status_code == 403
    assert client.get("/ke-hoach/9999/bao-cao.xlsx").status_code == 404
    auth.logout()
    auth.login(outsider)
    assert client.get(f"/ke-hoach/{plan.id}/bao-cao.xlsx").status_code == 403


def test_a_unit_the_importer_may_not_see_is_never_matched_named_or_suggested(setup):
    district, (binh, chinh, _dinh), _plan, drive = setup
    hidden = {chinh.id}
    data = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Hiến thành công"],
        [chinh.code.lower(), None, 4],
        ["NO-SUCH", None, 4],
        [None, "Quảng Chính", 4],
        [None, "Quảng Chínhh", 4],
        [binh.code.lower(), None, 4],
    )
    preview = imports.preview_results(data, drive, visible=lambda u: u.id not in hidden)
    messages = [p.message for p in preview.problems]
    # As for a unit that does not exist: the closest names suggested are visible ones only.
    assert messages == [
        f"Không tìm thấy đơn vị {chinh.code.lower()}.",
        "Không tìm thấy đơn vị NO-SUCH.",
        "Không tìm thấy đơn vị Quảng Chính. Có phải: Quảng Định, Quảng Bình?",
        "Không tìm thấy đơn vị Quảng Chínhh. Có phải: Quảng Định, Quảng Bình?",
    ]
    assert [c.unit for c in preview.changes] == ["Quảng Bình"]  # its code, whatever the case


def test_an_import_row_with_more_donors_and_deferred_than_registered_is_a_problem(setup):
    _district, _communes, _plan, drive = setup
    preview = imports.preview_results(
        xlsx(["Đơn vị", "Đăng ký", "Hoãn", "250 ml"], ["Quảng Bình", 10, 8, 20]), drive
    )
    assert not preview.ok
    assert preview.problems[0].message == (
        "Số đăng ký (10) nhỏ hơn số hiến thành công và không đủ điều kiện (28)."
    )


def test_a_units_import_creates_units_only_where_the_importing_user_may(setup):
    """The units service checks the importing user's scope before writing: a file read under
    a unit outside it is refused whole, and one inside it may nest new units in new units."""
    district, communes, _plan, _drive = setup
    elsewhere = f.unit("Huyện Hoằng Hóa", "district", district.parent)
    organiser = f.user("organiser", [district])
    f.commit()
    rows = (["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Đơn vị cấp trên"],)
    data = xlsx(*rows, ["HH-XA", "Xã Hoằng Lộc", "Xã", None], ["HH-CD", "CĐCS Xã", "CĐCS", "HH-XA"])
    before = (count(OrgUnit), count(AuditEntry))
    preview = imports.preview_units(data, elsewhere)
    assert preview.ok
    with pytest.raises(Forbidden):
        imports.apply(preview, organiser)
    db.session.rollback()
    assert (count(OrgUnit), count(AuditEntry)) == before

    inside = xlsx(*rows, ["QX-XA", "Xã Mới", "Xã", None], ["QX-CD", "CĐCS Xã Mới", "CĐCS", "QX-XA"])
    assert imports.apply(imports.preview_units(inside, district), organiser) == 2
    new = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "QX-CD"))
    assert new.parent.parent == district


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_quota_file_may_carry_headcounts_and_a_file_without_them_keeps_them(setup):
    _district, communes, plan, _drive = setup
    data = xlsx(
        ["Đơn vị", "Chỉ tiêu", "Quân số"],
        ["Quảng Bình", 40, 250],
        ["Quảng Chính", 20, None],
    )
    preview = imports.preview_quotas(data, plan)
    assert preview.ok, preview.problems
    assert [c.after for c in preview.changes] == ["40 (quân số 250)", "20"]
    imports.apply(preview)
    heads = dict(
        db.session.execute(select(Quota.unit_id, Quota.headcount).where(Quota.plan_id == plan.id))
        .tuples()
        .all()
    )
    assert heads == {communes[0].id: 250, communes[1].id: None}
    again = imports.preview_quotas(xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 45]), plan)
    imports.apply(again)
    db.session.expire_all()
    assert db.session.scalar(select(Quota.headcount).where(Quota.unit_id == communes[0].id)) == 250
    bad = imports.preview_quotas(
        xlsx(["Đơn vị", "Chỉ tiêu", "Số người"], ["Quảng Bình", 45, -3]), plan
    )
    assert [p.row for p in bad.problems] == [2]


def test_a_results_file_may_carry_repeat_donors_checked_against_the_donations(setup):
    _district, communes, _plan, drive = setup
    header = ["Đơn vị", "Đăng ký", "250 ml", "350 ml", "Hiến nhắc lại"]
    preview = imports.preview_results(
        xlsx(header, ["Quảng Bình", 20, 10, 10, 8], ["Quảng Chính", 5, 5, 0, 6]), drive
    )
    assert [(p.row, "nhắc lại (6)" in p.message) for p in preview.problems] == [(3, True)]
    preview = imports.preview_results(xlsx(header, ["Quảng Bình", 20, 10, 10, 8]), drive)
    imports.apply(preview)
    assert db.session.scalar(select(Result.repeat_donors)) == 8
    # A file without the column leaves the repeat donors the unit reported.
    without = ["Đơn vị", "Đăng ký", "250 ml", "350 ml"]
    imports.apply(imports.preview_results(xlsx(without, ["Quảng Bình", 22, 12, 10]), drive))
    db.session.expire_all()
    assert db.session.execute(select(Result.bags_250, Result.repeat_donors)).one() == (12, 8)


@pytest.mark.parametrize("rule", ["bag", "ml250"])
def test_whole_blood_units_are_formatted_as_whole_numbers(app, rule):
    """Per bag every figure is whole ("50", never "50,0"); under the 250 ml rule a whole
    figure reads whole and the others with their decimal, as the screens show them."""
    district, (binh, hai) = f.district_with_communes(["Quảng Bình", "Quảng Hải"])
    plan = f.plan(district, rule=rule)
    plans.set_quotas(plan, {binh: 10, hai: 10})
    drive = f.drive(plan)
    f.result(drive, binh, 0, 10, 0)  # 10 bags; 14 units under the 250 ml rule
    f.result(drive, hai, 0, 1, 0)  # 1 bag; 1,4 units
    ws = openpyxl.load_workbook(io.BytesIO(summary_export(plan)))["Tổng hợp"]
    header = TITLE_ROWS + 1
    column = [c.value for c in ws[header]].index("Đơn vị máu") + 1
    shown = {
        ws.cell(row, 2).value: ws.cell(row, column)
        for row in range(header + 1, ws.max_row + 1)
        if ws.cell(row, 2).value in ("Quảng Bình", "Quảng Hải")
    }
    if rule == "bag":
        assert {name: (c.value, c.number_format) for name, c in shown.items()} == {
            "Quảng Bình": (10, INTEGER),
            "Quảng Hải": (1, INTEGER),
        }
    else:
        assert {name: (c.value, c.number_format) for name, c in shown.items()} == {
            "Quảng Bình": (14, INTEGER),
            "Quảng Hải": (1.4, UNITS),
        }
