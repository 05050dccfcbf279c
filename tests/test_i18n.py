"""Vietnamese by default, a complete English catalogue, and Vietnamese number formats."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from campaign import formatting
from campaign.i18n import SOURCE
from campaign.services import plans
from tests import factories as f

ROOT = Path(__file__).resolve().parent.parent


def interface_texts() -> set[tuple[str | None, str]]:
    """Every text to translate, with its context (pgettext's, e.g. "plural") or None."""
    method_map = [("campaign/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords: dict[str, Any] = {
        "_": None,
        "gettext": None,
        "_l": None,
        "lazy_gettext": None,
        "pgettext": ((1, "c"), 2),
    }
    texts = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, keywords=keywords
    ):
        texts.add((context, message if isinstance(message, str) else message[0]))
    return texts


def test_english_catalogue_translates_every_interface_text():
    with open(SOURCE / "en" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    translated = {(m.context, m.id) for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = sorted(interface_texts() - translated, key=str)
    assert missing == [], "run scripts/update-translations and translate: " + "; ".join(
        f"{context}: {text}" if context else text for context, text in missing
    )


def test_english_names_the_unit_list_in_the_plural_and_unit_kinds_one_way(client, auth):
    district, communes = f.district_with_communes(["Quảng Bình"])
    plan = f.plan(district)
    plans.set_quotas(plan, {communes[0]: 40})
    user = f.user("organiser", [district])
    f.commit()
    auth.sign_in(user)
    client.post("/ngon-ngu", data={"lang": "en"})
    units = client.get("/don-vi/").get_data(as_text=True)
    assert ">Units</a>" in units and "<title>Units ·" in units
    assert ">Unit</th>" in units  # a column holds one unit a row
    for page in (units, client.get(f"/ke-hoach/{plan.id}").get_data(as_text=True)):
        assert "Unit type" in page
        assert not re.search(r"\bKind\b", page)


def test_pages_are_vietnamese_by_default_and_english_on_request(client, auth):
    user = f.user("admin")
    f.commit()
    auth.login(user)
    assert "Kế hoạch hiến máu tình nguyện" in client.get("/").get_data(as_text=True)
    response = client.post(
        "/ngon-ngu", data={"lang": "en"}, headers={"Referer": "http://localhost/"}
    )
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Voluntary blood-donation plans" in page
    assert 'lang="en"' in page
    client.post("/ngon-ngu", data={"lang": "vi"})
    assert "Kế hoạch hiến máu tình nguyện" in client.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored_and_foreign_referrer_not_followed(client):
    response = client.post(
        "/ngon-ngu", data={"lang": "xx"}, headers={"Referer": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"
    assert 'lang="vi"' in client.get("/dang-nhap").get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(15151, "15.151"), (1234567, "1.234.567"), (Decimal("122.2"), "122,2"), (0, "0")],
)
def test_numbers(value, shown):
    assert formatting.number(value) == shown


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (Fraction(9, 8), "112,5%"),
        (Fraction(1999, 2000), "99,9%"),
        (Fraction(1), "100,0%"),
        (None, ""),
    ],
)
def test_percent(rate, shown):
    assert formatting.percent(rate) == shown


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (date(2021, 5, 13), "Quảng Xương, ngày 13 tháng 5 năm 2021"),
        (date(2021, 2, 3), "Quảng Xương, ngày 03 tháng 02 năm 2021"),
        (date(2020, 12, 28), "Quảng Xương, ngày 28 tháng 12 năm 2020"),
    ],
)
def test_long_dates(day, shown):
    assert formatting.long_date(day, "Quảng Xương") == shown


def test_short_date_and_units():
    assert formatting.short_date(date(2021, 6, 11)) == "11/06/2021"
    assert formatting.units(Fraction(7, 5)) == "1,4"
    assert formatting.units(Fraction(61)) == "61"
