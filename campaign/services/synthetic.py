"""A synthetic province for benchmarks and load tests: deterministic, realistic, bulk-loaded.

Names follow the shapes of real Thanh Hóa units (Xã Quảng Bình, Trường THCS
Hoằng Lộc, CĐCS Công ty TNHH May Hải Phúc...) but are generated. Rows go in
with one executemany per table, so the default province (about 10.000 units and
130.000 results) loads in well under a minute.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, text

from campaign.database import analyze
from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, Quota, Result, ResultState
from campaign.rates import default_report_due
from campaign.services.errors import ServiceError

FIRST = (
    "Quảng Hoằng Thiệu Yên Nga Hà Đông Thọ Triệu Vĩnh Cẩm Thạch Nông Tĩnh Hải Xuân Định Hoa Minh"
    " Tân Thành Phú"
).split()
SECOND = (
    "Bình Phúc Lộc Thành An Hòa Long Trung Tân Phú Hưng Đức Minh Thịnh Lợi Ngọc Sơn Hải Giang Khê"
    " Lưu Nhân Trường Yên"
).split()
DISTRICT_AGENCIES = (
    "Văn phòng HĐND và UBND|Phòng Tài chính - Kế hoạch|Phòng Giáo dục và Đào tạo|Phòng Nội vụ"
    "|Phòng Y tế|Phòng Văn hóa và Thông tin|Phòng Tư pháp|Phòng Nông nghiệp và PTNT"
    "|Phòng Tài nguyên và Môi trường|Phòng Kinh tế - Hạ tầng|Phòng Lao động - TB&XH|Trung tâm Y tế"
    "|Bệnh viện Đa khoa|Kho bạc Nhà nước|Chi cục Thuế"
).split("|")
SYNTHETIC_NOTE = "Dữ liệu tổng hợp để đo hiệu năng, không phải số liệu thực tế."
RETURN_REASON = "Số liệu chưa khớp danh sách người hiến"
TRADES = ["May", "Giày da", "Xây dựng", "Chế biến nông sản", "Vật liệu", "Thương mại", "Cơ khí"]


@dataclass
class Sizes:
    districts: int = 30
    communes_per_district: int = 30
    years: int = 5
    first_year: int = 2021
    drives_per_plan: int = 3
    #: Share of (unit, drive) pairs with a result; of those, shares returned and left in draft.
    reporting: float = 0.88
    returned: float = 0.03
    drafts: float = 0.02


@dataclass
class Built:
    units: int = 0
    plans: int = 0
    quotas: int = 0
    drives: int = 0
    results: int = 0
    province_id: int = 0
    province_plan_ids: list[int] = field(default_factory=list)


def expected_rows(sizes: Sizes) -> int:
    """Roughly how many rows :func:`generate` inserts, for a progress bar."""
    per_district = sizes.communes_per_district * 9.8 + 2 * len(DISTRICT_AGENCIES) + 5
    units = 81 + sizes.districts * per_district
    plans = sizes.years * (1 + sizes.districts)
    quota_rows = sizes.years * sizes.districts * (sizes.communes_per_district + 21)
    drives = plans * sizes.drives_per_plan
    results = sizes.years * sizes.drives_per_plan * (units - 81) * sizes.reporting
    return int(units + plans + quota_rows + drives + results)


class _Ids:
    """Hands out primary keys so parents can be referenced before anything is flushed."""

    def __init__(self, model: Any) -> None:
        self.next = (db.session.scalar(select(func.max(model.id))) or 0) + 1

    def __call__(self) -> int:
        self.next += 1
        return self.next - 1


def generate(
    sizes: Sizes, seed: int = 2021, progress: Callable[[str, int], None] = lambda s, n: None
) -> Built:
    """Builds the province; ``progress(step, rows)`` is called after each bulk insert."""
    rnd = random.Random(seed)
    built = Built()
    units, holders = _units(rnd, sizes)
    _check_codes_free(units)
    _bulk(OrgUnit, units)
    built.units, built.province_id = len(units), units[0]["id"]
    progress("units", len(units))

    plan_ids, drive_ids = _Ids(Plan), _Ids(Drive)
    plans, quotas, drives = [], [], []
    #: Issuer id -> its plan of the year before, which its next plan is compared with.
    previous: dict[int, int] = {}
    for year in range(sizes.first_year, sizes.first_year + sizes.years):
        last_year = year == sizes.first_year + sizes.years - 1
        province_plan_id = plan_ids()
        province_plan = {
            "id": province_plan_id, "issuer_id": built.province_id, "year": year,
            "number": f"{rnd.randint(100, 399)}/KH-BCĐ",
            "issued_on": date(year - 1, 12, rnd.randint(10, 28)),
            "title": f"Tuyên truyền vận động, tổ chức hiến máu tình nguyện năm {year}",
            "counting_rule": "bag", "status": "active" if last_year else "closed",
            "parent_id": None, "note": SYNTHETIC_NOTE,
            "compare_with_id": previous.get(built.province_id),
        }  # fmt: skip
        previous[built.province_id] = province_plan_id
        plans.append(province_plan)
        built.province_plan_ids.append(province_plan_id)
        for district_id, district_holders in holders.items():
            district_plan_id = plan_ids()
            plan = {
                **province_plan, "id": district_plan_id, "issuer_id": district_id,
                "number": f"{rnd.randint(1, 99)}/KH-BCĐ", "parent_id": province_plan["id"],
                "issued_on": date(year, rnd.randint(1, 3), rnd.randint(1, 28)),
                "compare_with_id": previous.get(district_id),
            }  # fmt: skip
            previous[district_id] = district_plan_id
            plans.append(plan)
            amounts = {uid: rnd.choice([10, 15, 20, 25, 30, 40]) for uid in district_holders}
            quotas += [
                {"plan_id": plan["id"], "unit_id": uid, "amount": q} for uid, q in amounts.items()
            ]
            given = sum(amounts.values())
            quotas.append({"plan_id": province_plan["id"], "unit_id": district_id, "amount": given})
            for n in range(sizes.drives_per_plan):
                start = date(year, 3 + 3 * n, rnd.randint(1, 25))
                drives.append({
                    "id": drive_ids(), "plan_id": plan["id"], "name": f"Đợt {n + 1} năm {year}",
                    "starts_on": start, "ends_on": start + timedelta(days=1),
                    "report_due_on": default_report_due(start + timedelta(days=1)),
                    "site": "Trung tâm Hội nghị huyện", "district_id": district_id,
                })  # fmt: skip
    _bulk(Plan, plans)
    _bulk(Quota, quotas)
    progress("plans", len(plans) + len(quotas))
    district_units = _units_by_district(units)
    _bulk(Drive, [{k: v for k, v in d.items() if k != "district_id"} for d in drives])
    progress("drives", len(drives))
    for batch in _results(rnd, sizes, drives, district_units):
        _bulk(Result, batch)
        built.results += len(batch)
        progress("results", len(batch))
    _advance_sequences()
    analyze()  # a bulk load leaves the planner without statistics
    built.plans, built.quotas, built.drives = len(plans), len(quotas), len(drives)
    return built


def _units(rnd: random.Random, sizes: Sizes) -> tuple[list[dict], dict[int, list[int]]]:
    """The unit rows, and per district the units its plans give quotas to."""
    ids = _Ids(OrgUnit)
    rows: list[dict] = []
    holders: dict[int, list[int]] = {}

    def add(name: str, kind: str, parent: int | None, code: str) -> int:
        uid = ids()
        rows.append({
            "id": uid, "code": code, "name": name, "kind": kind, "parent_id": parent,
            "contact_name": "Chủ tịch Công đoàn" if kind == "union" else None,
            "contact_phone": f"09{rnd.randint(10_000_000, 99_999_999)}",
        })  # fmt: skip
        return uid

    province = add("Tỉnh Thanh Hóa (tổng hợp)", "province", None, "P")
    for i in range(1, 41):
        agency = add(f"Sở ngành {i:02d} tỉnh", "agency", province, f"P-S{i:02d}")
        add(f"CĐCS Sở ngành {i:02d}", "union", agency, f"P-S{i:02d}-CD")
    for d in range(1, sizes.districts + 1):
        dname = f"{rnd.choice(FIRST)} {rnd.choice(SECOND)}"
        district = add(f"Huyện {dname}", "district", province, f"D{d:02d}")
        holders[district] = own = []
        for c in range(1, sizes.communes_per_district + 1):
            cname = f"{rnd.choice(FIRST)} {rnd.choice(SECOND)}"
            kind = "town" if c == 1 else rnd.choice(["commune"] * 9 + ["ward"])
            label = {"town": "Thị trấn", "ward": "Phường", "commune": "Xã"}[kind]
            code = f"D{d:02d}-C{c:02d}"
            commune = add(f"{label} {cname}", kind, district, code)
            own.append(commune)
            add(f"CĐCS UBND {label.lower()} {cname}", "union", commune, f"{code}-UB")
            add(f"Công an {label.lower()} {cname}", "armed_forces", commune, f"{code}-CA")
            for s, school in enumerate(["Mầm non", "Tiểu học", "THCS"], start=1):
                sid = add(f"Trường {school} {cname}", "school", commune, f"{code}-T{s}")
                add(f"CĐCS Trường {school} {cname}", "union", sid, f"{code}-T{s}-CD")
            if rnd.random() < 0.4:
                trade = rnd.choice(TRADES)
                ent = add(f"Công ty TNHH {trade} {cname}", "enterprise", commune, f"{code}-DN")
                add(f"CĐCS Công ty TNHH {trade} {cname}", "union", ent, f"{code}-DN-CD")
        for a, agency_name in enumerate(DISTRICT_AGENCIES, start=1):
            agency = add(f"{agency_name} huyện {dname}", "agency", district, f"D{d:02d}-A{a:02d}")
            own.append(agency)
            add(f"CĐCS {agency_name} huyện {dname}", "union", agency, f"D{d:02d}-A{a:02d}-CD")
        for h in range(1, 4):
            own.append(add(f"Trường THPT {dname} {h}", "school", district, f"D{d:02d}-H{h}"))
        military = f"Ban Chỉ huy Quân sự huyện {dname}"
        own.append(add(military, "armed_forces", district, f"D{d:02d}-QS"))
        own.append(add(f"Công an huyện {dname}", "armed_forces", district, f"D{d:02d}-CA"))
    return rows, holders


def _units_by_district(units: list[dict]) -> dict[int, list[int]]:
    """Every unit below each district (the units that report in its drives)."""
    parent = {u["id"]: u["parent_id"] for u in units}
    districts = {u["id"] for u in units if u["kind"] == "district"}
    below: dict[int, list[int]] = {d: [] for d in districts}
    for uid in parent:
        node = parent[uid]
        while node is not None and node not in districts:
            node = parent[node]
        if node is not None:
            below[node].append(uid)
    return below


def _results(
    rnd: random.Random, sizes: Sizes, drives: list[dict], district_units: dict[int, list[int]]
) -> Iterator[list[dict]]:
    for drive in drives:
        batch = []
        for uid in district_units[drive["district_id"]]:
            if rnd.random() > sizes.reporting:
                continue
            roll = rnd.random()
            if roll < sizes.returned:
                state = ResultState.RETURNED
            elif roll < sizes.returned + sizes.drafts:
                state = ResultState.DRAFT
            else:
                state = rnd.choice([ResultState.APPROVED] * 3 + [ResultState.SUBMITTED])
            b250, b350, b450 = rnd.randint(0, 4), rnd.randint(0, 5), rnd.randint(0, 2)
            deferred = rnd.randint(0, 2)
            batch.append({
                "drive_id": drive["id"], "unit_id": uid, "state": state.value,
                "registered": b250 + b350 + b450 + deferred + rnd.randint(0, 1),
                "deferred": deferred, "bags_250": b250, "bags_350": b350, "bags_450": b450,
                "return_reason": RETURN_REASON if state == ResultState.RETURNED else None,
                "version": 1,
            })  # fmt: skip
        yield batch


def _check_codes_free(units: list[dict]) -> None:
    """Refuses, before inserting anything, a province whose unit codes are taken (one
    generated before, say): the bulk insert would otherwise fail half-way on the index."""
    taken = set(db.session.scalars(select(func.lower(OrgUnit.code))))
    clash = next((unit["code"] for unit in units if unit["code"].lower() in taken), None)
    if clash is not None:
        raise ServiceError(
            _(
                "Mã đơn vị %(code)s đã có trong cơ sở dữ liệu: tỉnh tổng hợp chỉ tạo được "
                "vào cơ sở dữ liệu chưa có các mã của nó.",
                code=clash,
            )
        )


def _bulk(model: Any, rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(model), rows)


def _advance_sequences() -> None:
    """Ids were given explicitly; PostgreSQL's sequences must move past them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("org_unit", "plan", "quota", "drive", "result"):
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )
