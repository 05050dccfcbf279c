"""Beside the result form a reporter reads the unit's quota, what counts for it already
and what the rate will be; the figures come from rates through the dashboard service."""

from __future__ import annotations

import re
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from campaign import formatting
from campaign.services import plans
from campaign.services.dashboard import report_outlook
from tests import factories as f


@pytest.fixture
def district(app, fast_passwords):
    district, (binh, hai) = f.district_with_communes(["Quảng Bình", "Quảng Hải"])
    union = f.unit("CĐCS Trường THCS Quảng Bình", "union", binh)
    return district, binh, hai, union


def outlook_box(page: str) -> str:
    return page.split('id="outlook"', 1)[1].split("</section>", 1)[0]


def figure(box: str, label: str) -> str:
    dd = r"<dd>(?:<output[^>]*>)?(.*?)(?:</output>)?</dd>"
    match = re.search(rf"<dt>{re.escape(label)}</dt>{dd}", box)
    assert match, (label, box)
    return match[1]


def test_the_form_shows_quota_what_counts_and_the_rate_to_come(client, auth, district):
    issuer, binh, _hai, union = district
    plan = f.plan(issuer)
    plans.set_quotas(plan, {binh: 40})
    first, second = f.drive(plan), f.drive(plan, "Đợt 2", date(2021, 9, 10))
    f.result(first, union, 0, 12, 0)  # the union counts for its commune
    f.result(first, binh, 3, 0, 0, state="draft")  # a draft counts nowhere
    reporter = f.user("reporter", [binh])
    f.commit()
    auth.sign_in(reporter)
    page = client.get(f"/bao-cao/don-vi/{binh.id}/dot/{second.id}").get_data(as_text=True)
    box = outlook_box(page)
    assert figure(box, "Chỉ tiêu") == "40"
    assert figure(box, "Đã tính, không kể đợt này") == "12"
    assert figure(box, "Túi máu đang nhập") == "0"
    assert figure(box, "Tỷ lệ sẽ là") == "30,0%"
    assert 'data-quota="40" data-others="12"' in page

    # Typed and refused: the page shows what the typed bags would make.
    sent = {"registered": "20", "deferred": "30", "bags_250": "10", "bags_350": "20"}
    page = client.post(
        f"/bao-cao/don-vi/{binh.id}/dot/{second.id}", data={**sent, "bags_450": "0", "send": "1"}
    ).get_data(as_text=True)
    box = outlook_box(page)
    assert figure(box, "Túi máu đang nhập") == "30"
    assert figure(box, "Tỷ lệ sẽ là") == "105,0%"


def test_a_submitted_report_is_left_out_of_what_counts_already(app, district):
    issuer, binh, _hai, _union = district
    plan = f.plan(issuer)
    plans.set_quotas(plan, {binh: 40})
    drive = f.drive(plan)
    result = f.result(drive, binh, 0, 30, 0)
    outlook = report_outlook(drive, binh.id, result)
    assert (outlook.quota, outlook.others) == (40, 0)
    assert outlook.rate_with(result.bags) == Fraction(3, 4)


def test_under_the_250_ml_rule_the_page_shows_the_rate_so_far_and_says_why(client, auth, district):
    issuer, binh, _hai, _union = district
    plan = f.plan(issuer, rule="ml250")
    plans.set_quotas(plan, {binh: 40})
    first, second = f.drive(plan), f.drive(plan, "Đợt 2", date(2021, 9, 10))
    f.result(first, binh, 0, 10, 0)  # 14 units
    reporter = f.user("reporter", [binh])
    f.commit()
    auth.sign_in(reporter)
    page = client.get(f"/bao-cao/don-vi/{binh.id}/dot/{second.id}").get_data(as_text=True)
    box = outlook_box(page)
    assert figure(box, "Đã tính, không kể đợt này") == "14"
    assert figure(box, "Tỷ lệ hiện nay") == "35,0%"
    assert "Tỷ lệ sẽ là" not in box and "data-quota" not in box
    assert "quy đổi 250 ml" in box


def test_a_unit_without_a_quota_is_told_its_results_count_above(client, auth, district):
    issuer, binh, hai, _union = district
    plan = f.plan(issuer)
    plans.set_quotas(plan, {binh: 40})
    drive = f.drive(plan)
    reporter = f.user("reporter", [hai])
    f.commit()
    auth.sign_in(reporter)
    page = client.get(f"/bao-cao/don-vi/{hai.id}/dot/{drive.id}").get_data(as_text=True)
    assert "không được giao chỉ tiêu riêng" in outlook_box(page)


def test_a_reporter_is_not_offered_api_tokens(client, auth, district):
    issuer, binh, _hai, _union = district
    reporter = f.user("reporter", [binh])
    organiser = f.user("organiser", [issuer])
    f.commit()
    auth.sign_in(reporter)
    assert "Mã API" not in client.get("/bao-cao/").get_data(as_text=True)
    auth.sign_in(organiser)
    assert "Mã API" in client.get("/").get_data(as_text=True)


def test_the_form_script_shows_a_rate_as_the_server_does(browser):
    """The result form's script (static/report-form.js) writes the rate to come while the
    bags are typed; the server writes it with ``formatting.percent`` (``rates``' display
    rule). The script's own functions, run in Chromium, agree with it on thousands of
    rates: around 100 %, half-tenths, and large figures."""
    script = (Path(__file__).parents[1] / "campaign" / "static" / "report-form.js").read_text()
    functions = re.findall(r"^  function (?:grouped|percent)\(.*?^  }$", script, re.M | re.S)
    assert len(functions) == 2, "report-form.js no longer defines grouped and percent"
    pairs = [(c, q) for q in range(1, 81) for c in range(0, 2 * q + 3)]
    pairs += [(c, q) for q in (999, 1000, 1001, 2000, 99_999) for c in (q - 1, q, q + 1, 2 * q)]
    pairs += [(1999, 2000), (19_995, 20_000), (123_456_789, 1_000), (1, 3), (2, 3)]
    page = browser.new_page()
    try:
        shown = page.evaluate(
            "([source, pairs]) => { const percent = new Function(source + '; return percent;')();"
            " return pairs.map(([c, q]) => percent(c, q)); }",
            ["\n".join(functions), pairs],
        )
    finally:
        page.close()
    expected = [formatting.percent(Fraction(c, q)) for c, q in pairs]
    wrong = [
        (pair, js, py) for pair, js, py in zip(pairs, shown, expected, strict=True) if js != py
    ]
    assert not wrong, wrong[:10]
