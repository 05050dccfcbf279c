"""Server time of the plan dashboard for a district plan: 50 units, 4 drives.

Run from the repository root:  .venv/bin/python benchmarks/dashboard.py [--runs 30]
Builds the plan in a temporary SQLite database and prints the median time of
``GET /ke-hoach/<id>`` through the app (no network), after a warm-up request.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from campaign import create_app  # noqa: E402
from campaign.extensions import db  # noqa: E402
from campaign.services import plans, results, units, users  # noqa: E402


def build(units_count: int = 50, drives: int = 4) -> tuple[int, int]:
    province = units.create_unit(code="TH", name="Tỉnh Thanh Hóa", kind="province")
    district = units.create_unit(
        code="QX", name="Huyện Quảng Xương", kind="district", parent=province
    )
    communes = [
        units.create_unit(
            code=f"QX-{i:02d}", name=f"Xã Quảng {i:02d}", kind="commune", parent=district
        )
        for i in range(units_count)
    ]
    plan = plans.create_plan(
        issuer=district,
        number="15/KH-BCĐ",
        issued_on=date(2021, 5, 10),
        title="Tổ chức hiến máu tình nguyện năm 2021",
        year=2021,
    )
    plans.set_quotas(plan, {c: 20 + i % 15 for i, c in enumerate(communes)})
    for d in range(drives):
        drive = plans.add_drive(
            plan,
            name=f"Đợt {d + 1}",
            starts_on=date(2021, 3 + d * 2, 11),
            ends_on=date(2021, 3 + d * 2, 12),
        )
        for i, c in enumerate(communes):
            counts = results.Counts(12, 2, i % 4, 5 + i % 3, i % 2)
            results.save(drive, c, counts, submit=i % 7 != 0)
    user = users.create_user(username="bench", password="benchmark password", role="admin")
    db.session.commit()
    return plan.id, user.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
                "SECRET_KEY": "benchmark only",
                "WTF_CSRF_ENABLED": False,
            }
        )
        with app.app_context():
            upgrade()
            plan_id, _ = build()
        client = app.test_client()
        client.post("/dang-nhap", data={"username": "bench", "password": "benchmark password"})
        url = f"/ke-hoach/{plan_id}"
        assert client.get(url).status_code == 200  # warm-up: templates compiled, caches filled
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        print(
            f"dashboard, 50 units, 4 drives: median {statistics.median(times):.1f} ms, "
            f"min {min(times):.1f} ms, max {max(times):.1f} ms over {args.runs} runs"
        )


if __name__ == "__main__":
    main()
